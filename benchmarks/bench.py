"""``make bench``: every speed and memory figure in one table, each checked against its target.

Runs, one after the other (they would slow each other down on a 2-core machine):
bench_step.py (our step vs the reference trainer), profile_step.py (where a step's time goes),
bench_parallel.py (runs side by side vs one at a time), bench_notebooks.py (nbval in ci, full-profile
training per notebook and the whole book from the last ``make book``, peak RSS) and bench_gif.py.
Writes out/bench.json; ``--doc docs/performance.md`` also rewrites that page's measured section.

    python benchmarks/bench.py [--rounds 15] [--quick] [--doc docs/performance.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_notebooks  # noqa: E402
import bench_parallel  # noqa: E402
import bench_step  # noqa: E402
import profile_step  # noqa: E402
from bench_io import save_json  # noqa: E402

TARGETS = {
    "step_ratio": 2.0,  # ours at least 2x faster than the seed-structured reference, each GAN recipe
    "side_by_side_ratio": 1.6,  # independent runs side by side against one at a time
    "nbval_total_s": 300.0,
    "notebook_full_training_s": 600.0,
    "book_total_s": 1800.0,
    "gif_export_s": 3.0,
    "gif_mb": 3.0,
    "peak_rss_mb": 1536.0,
}
RSS_STEPS = 300  # the peak comes within the first steps (and the compile); a whole run adds nothing
GAN = ("vaegan", "vaegan_decoder_fm", "aegan_bn", "vaegan_adaptive")
DOC_MARK = "<!-- measured: everything below is written by `python benchmarks/bench.py --doc` -->"


def machine() -> dict:
    import torch

    cpu = "unknown"
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "cpu": cpu, "cores": os.cpu_count(),
            "python": platform.python_version(), "torch": torch.__version__.split("+")[0],
            "load_average_1min_at_start": round(os.getloadavg()[0], 2)}


def gif_bench() -> dict:
    out = ROOT / "out" / "bench_gif.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_gif.py"), "--skip-plain"], cwd=ROOT, check=True,
                   capture_output=True, text=True)
    return json.loads(out.read_text())


def verdicts(r: dict) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) rows; met is None where nothing was measured."""
    rows = []
    for s in r["step"]["steps"]:
        if s["recipe"] in GAN:
            rows.append((f"step {s['recipe']}: ours >= {TARGETS['step_ratio']}x the reference",
                         f"{s['ratio']:.2f}x ({s['ms_reference']:.0f} -> {s['ms_ours']:.0f} ms)",
                         s["ratio"] >= TARGETS["step_ratio"]))
    p = r["parallel"]
    rows.append((f"runs side by side: >= {TARGETS['side_by_side_ratio']}x the throughput of one at a time",
                 f"{p['ratio']:.2f}x ({p['steps_per_s_one_at_a_time']:.2f} -> {p['steps_per_s_side_by_side']:.2f} "
                 "steps/s)", p["ratio"] >= TARGETS["side_by_side_ratio"]))
    nb = r["notebooks"]
    if "nbval" in nb:
        rows.append((f"pytest --nbval, every notebook, ci: <= {TARGETS['nbval_total_s']:.0f} s",
                     f"{nb['nbval']['total_wall_s']:.0f} s", nb["nbval"]["total_wall_s"] <= TARGETS["nbval_total_s"]))
    for stem, row in nb["full_training"]["per_notebook"].items():
        measured = not row["missing"]
        # In book order a notebook trains only what no earlier one did (a learner's path); alone, every
        # run it shows, as when it is opened first on a fresh checkout.
        for key, how in (("book_order_s", "in book order"), ("alone_s", "alone")):
            rows.append((f"{stem} full-profile training ({how}): <= {TARGETS['notebook_full_training_s']:.0f} s",
                         f"{row[key]:.0f} s" if measured else "not measured (run make book)",
                         row[key] <= TARGETS["notebook_full_training_s"] if measured else None))
    book = nb["full_training"].get("book_s")
    rows.append((f"make book, every notebook: <= {TARGETS['book_total_s'] / 60:.0f} min",
                 f"{book / 60:.1f} min" if book else "not measured (run make book with no runs on disk)",
                 book <= TARGETS["book_total_s"] if book else None))
    g = r["gif"]
    rows.append((f"GIF, 100 frames of 8x8: <= {TARGETS['gif_export_s']:.0f} s and <= {TARGETS['gif_mb']:.0f} MB",
                 f"{g['export_s']:.1f} s, {g['export_mb']:.1f} MB",
                 g["export_s"] <= TARGETS["gif_export_s"] and g["export_mb"] <= TARGETS["gif_mb"]))
    if "peak_rss" in nb:
        rows.append((f"peak RSS of a full-profile run: <= {TARGETS['peak_rss_mb'] / 1024:.1f} GB",
                     f"{nb['peak_rss']['peak_rss_mb']:.0f} MB", nb["peak_rss"]["peak_rss_mb"] <= TARGETS["peak_rss_mb"]))
    return rows


def report(r: dict) -> str:
    m = r["machine"]
    lines = [f"{m['date']} | {m['cpu']} | {m['cores']} cores | python {m['python']} | torch {m['torch']}", "",
             bench_step.table(r["step"]), "", profile_step.table(r["profile"]), "",
             bench_parallel.table(r["parallel"]), "", bench_notebooks.table(r["notebooks"]), "",
             f"GIF export: {r['gif']['export_s']:.2f} s wall, {r['gif']['export_cpu_s']:.2f} s CPU, "
             f"{r['gif']['export_mb']:.1f} MB ({r['gif']['snapshots']} frames of {r['gif']['samples']} samples)", "",
             "targets:"]
    for target, measured, met in verdicts(r):
        mark = {True: "met", False: "NOT met", None: "-"}[met]
        lines.append(f"  [{mark:>7}] {target}: {measured}")
    return "\n".join(lines)


def write_doc(path: Path, r: dict) -> None:
    text = path.read_text() if path.exists() else ""
    head = text.split(DOC_MARK)[0].rstrip() + "\n\n" if DOC_MARK in text else text
    body = ["", "```", report(r), "```", ""]
    path.write_text(head + DOC_MARK + "\n" + "\n".join(body))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=15, help="timed steps per contender and recipe")
    p.add_argument("--quick", action="store_true", help="5 rounds, no nbval, a 100-step peak-RSS run")
    p.add_argument("--doc", type=Path, help="rewrite the measured section of this page (docs/performance.md)")
    a = p.parse_args()
    rounds = 5 if a.quick else a.rounds
    t0 = time.perf_counter()
    r = {"machine": machine(), "targets": TARGETS}
    print("step benchmark (full profile, reference vs ours, interleaved) ...", flush=True)
    r["step"] = bench_step.run("full", rounds)
    print("where the step's time goes (torch.profiler, one thread) ...", flush=True)
    r["profile"] = profile_step.profile_steps("vaegan", threads=1, steps=5 if a.quick else 20)
    print("runs side by side vs one at a time ...", flush=True)
    r["parallel"] = bench_parallel.run("vaegan", steps=100 if a.quick else 400)
    print("notebook benchmarks ...", flush=True)
    r["notebooks"] = bench_notebooks.run(skip_nbval=a.quick, rss_steps=100 if a.quick else RSS_STEPS)
    print("GIF export ...", flush=True)
    r["gif"] = gif_bench()
    r["bench_wall_s"] = time.perf_counter() - t0
    r["verdicts"] = [{"target": t, "measured": v, "met": ok} for t, v, ok in verdicts(r)]
    print()
    print(report(r))
    print(f"\nbenchmarks took {r['bench_wall_s'] / 60:.1f} min")
    save_json(r, ROOT / "out" / "bench.json")
    if a.doc:
        write_doc(a.doc, r)
        print(f"updated {a.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
