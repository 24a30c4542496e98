"""What the notebooks cost: nbval wall time in the ci profile, full-profile training time, peak memory.

- nbval: the notebooks under ``pytest --nbval`` exactly as ``make test`` runs them, in the ci
  profile, with a fresh run directory (so nothing is loaded from an earlier run), one pytest process;
  per-notebook time is the sum of its cells' times from pytest's JUnit report.
- Full-profile training: ``wall_s`` of the run records in data/runs/full/ that ``make book`` trained,
  grouped by the notebook that uses them ("alone": every run the notebook uses, as on a fresh machine;
  "in book order": only the runs no earlier notebook trained). Not re-measured here: a full book takes
  about half an hour, so this reads what the last ``make book`` recorded, and says so.
- Peak RSS: ``python -m vaegan_nb train`` of a full-profile run in a child process.

    python benchmarks/bench_notebooks.py [--skip-nbval] [--rss-recipe vaegan] [--rss-steps 400]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_io import save_json  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RUN_CALL = re.compile(r'nb\.(?:run|spec)\(\\?"(\w+)\\?",\s*f?\\?"([^"\\]+)\\?"')


def runs_used(notebook: Path) -> list[str]:
    """Run names a notebook passes to nb.run or nb.spec, as glob patterns (f-string fields become '*')."""
    names = [re.sub(r"\{[^}]*\}", "*", m.group(2)) for m in RUN_CALL.finditer(notebook.read_text())]
    return list(dict.fromkeys(names))


def _env(**extra) -> dict[str, str]:
    env = dict(os.environ)
    env.update(VAEGAN_PROFILE="ci", MPLBACKEND="Agg", OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "2"), **extra)
    return env


def nbval_times() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "--nbval-sanitize-with",
               "tests/nbval_sanitize.cfg", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
               *[str(n.relative_to(ROOT)) for n in NOTEBOOKS]]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=_env(VAEGAN_RUNS=str(Path(tmp) / "runs")),
                              capture_output=True, text=True)
        wall = time.perf_counter() - t0
        per = {n.stem: 0.0 for n in NOTEBOOKS}
        failures = 0
        if report.exists():
            for case in ET.parse(report).getroot().iter("testcase"):
                stem = Path(case.get("file") or case.get("classname", "").replace(".", "/")).stem
                key = next((k for k in per if k in (case.get("classname", "") + " " + stem)), None)
                if key is not None:
                    per[key] += float(case.get("time", 0))
                failures += sum(1 for c in case if c.tag in ("failure", "error"))
    return {"total_wall_s": wall, "per_notebook_s": per, "passed": proc.returncode == 0, "failures": failures,
            "tail": proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-300:]}


def makespan(walls: list[float], workers: int) -> float:
    """Wall time of runs scheduled longest first on ``workers`` processes, as ``nb.run_all`` does."""
    loads = [0.0] * workers
    for w in sorted(walls, reverse=True):
        loads[loads.index(min(loads))] += w
    return max(loads)


def full_training_times(runs_root: Path) -> dict:
    records = {}
    for status in sorted(runs_root.glob("*/status.json")):
        st = json.loads(status.read_text())
        if st.get("state") == "finished" and "wall_s" in st:
            cfg = json.loads((status.parent / "config.json").read_text())
            records[status.parent.name] = {
                "wall_s": float(st["wall_s"]), "steps": int(st["step"]), "version": cfg.get("version"),
                "date": datetime.fromtimestamp(status.stat().st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            }
    out, seen = {}, set()
    for nb in NOTEBOOKS:
        pats = runs_used(nb)
        used = sorted(name for name in records if any(fnmatch(name, p) for p in pats))
        missing = [p for p in pats if not any(fnmatch(name, p) for name in records)]
        # A notebook that trains through nb.run_all runs them side by side (their wall_s were recorded
        # that way too); one that calls nb.run trains them one after the other.
        workers = (os.cpu_count() or 1) if "nb.run_all" in nb.read_text() else 1
        out[nb.stem] = {
            "runs": used, "missing": missing, "workers": workers,
            "alone_s": makespan([records[r]["wall_s"] for r in used], workers),
            "book_order_s": makespan([records[r]["wall_s"] for r in used if r not in seen], workers),
        }
        seen.update(used)
    book = ROOT / "out" / "book.json"
    book_s = book_seconds(json.loads(book.read_text())) if book.exists() else None
    return {"records": records, "per_notebook": out, "source": str(runs_root.relative_to(ROOT)), "book_s": book_s}


def book_seconds(book: dict) -> float | None:
    """The last book's wall time, if it trained (``scripts/run_book.py``'s out/book.json). A book that
    found every run on disk only drew the figures again, and its time says nothing of training."""
    return float(book["total_s"]) if book.get("trained_runs") else None


def peak_rss(recipe: str, steps: int | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "vaegan_nb", "train", "--recipe", recipe, "--profile", "full",
               "--out", str(Path(tmp) / "run"), "--no-progress"]
        if steps:
            cmd += ["--steps", str(steps)]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True)
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"peak-RSS run failed: {proc.stderr.strip()[-500:]}")
    kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far, in KiB on Linux
    return {"recipe": recipe, "steps": steps or "profile default", "wall_s": wall, "peak_rss_mb": kb / 1024}


def run(skip_nbval: bool = False, rss_recipe: str = "vaegan", rss_steps: int | None = None) -> dict:
    result = {"full_training": full_training_times(ROOT / "data" / "runs" / "full")}
    if rss_recipe:
        print(f"  peak RSS: training {rss_recipe} in the full profile ...", flush=True)
        result["peak_rss"] = peak_rss(rss_recipe, rss_steps)
    if not skip_nbval:
        print("  nbval: the notebooks in the ci profile, fresh run directory ...", flush=True)
        result["nbval"] = nbval_times()
    return result


def table(result: dict) -> str:
    lines = [f"{'notebook':<24} {'nbval ci s':>10} {'full train alone s':>18} {'book order s':>12}  runs"]
    nbv = result.get("nbval", {}).get("per_notebook_s", {})
    for stem, row in result["full_training"]["per_notebook"].items():
        miss = f" (missing: {', '.join(row['missing'])})" if row["missing"] else ""
        lines.append(f"{stem:<24} {nbv.get(stem, float('nan')):>10.0f} {row['alone_s']:>18.0f} "
                     f"{row['book_order_s']:>12.0f}  {len(row['runs'])}{miss}")
    if "nbval" in result:
        n = result["nbval"]
        lines.append(f"nbval total wall {n['total_wall_s']:.0f} s, {'passed' if n['passed'] else 'FAILED'}: {n['tail']}")
    if "peak_rss" in result:
        r = result["peak_rss"]
        lines.append(f"peak RSS of a full-profile {r['recipe']} run: {r['peak_rss_mb']:.0f} MB ({r['wall_s']:.0f} s)")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--skip-nbval", action="store_true")
    p.add_argument("--rss-recipe", default="vaegan", help="'' to skip the peak-RSS run")
    p.add_argument("--rss-steps", type=int, help="default: the full profile's steps")
    p.add_argument("--json", type=Path, default=ROOT / "out" / "bench_notebooks.json")
    a = p.parse_args()
    result = run(a.skip_nbval, a.rss_recipe, a.rss_steps)
    print(table(result))
    save_json(result, a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
