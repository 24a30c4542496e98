"""Regenerate docs/phenomena.md: each claim of the blog, read on every seed's runs, with its rate
across seeds, the spread of its figures, and the blog's own value read the same way.

    .venv/bin/python scripts/phenomena_table.py                  # data/runs/full/ and data/runs/seeds/full/seed*/
    .venv/bin/python scripts/phenomena_table.py --root DIR       # another folder of seed*/ run records
    .venv/bin/python scripts/phenomena_table.py -o -             # print instead of writing

``scripts/claims_full.py`` (``make phenomena``) makes the records; ``vaegan_nb.claims`` reads them.
A claim reproduces when at least 4 of 5 seeds (80% of the seeds measured) meet it.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import platform
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vaegan_nb import blog_curves as bc  # noqa: E402
from vaegan_nb import claims as C  # noqa: E402
from vaegan_nb import reference as R  # noqa: E402
from vaegan_nb import verdicts  # noqa: E402
from vaegan_nb.runs import RunRecord  # noqa: E402

DEFAULT_ROOT = ROOT / "data" / "runs" / "seeds" / "full"  # nb.runs_dir("full", S) for S > 0
NOTEBOOK_RUNS = ROOT / "data" / "runs" / "full"  # seed 0: the notebooks' own runs
REPRODUCES = 0.8  # share of seeds that must meet a claim


def _cell(text: str) -> str:
    """Text for a markdown table cell: a bare | (as in mean|z|) would end the cell."""
    return text.replace("|", "\\|")


_fmt = verdicts.fmt  # the notebooks print their verdicts with the same digits


def blog_values() -> dict[int, str]:
    """The blog's own figure for each claim it has a curve for, read with claims.at."""

    growth = bc.growth
    k = growth("2019-04-11_kld", "Training")
    p = growth("2019-04-11_pixel", "Training")
    f = growth("2019-04-11_feats", "Input vs Reconstructed - Training")
    shell = math.sqrt(bc.LATENT_DIM)
    drift = {b: bc.final("2019-05-09_latent", f"β={b:g} - Test") / shell for b in (0.1, 1, 2, 8)}
    sweep = {b: growth("2019-05-09_kld", f"β={b:g} - Train")[2] for b in (0.1, 1, 2, 4, 8)}
    kb = bc.series("2019-05-16_kld", "Train")[1]
    pt = growth("2019-05-16_pixel", "Test")
    return {
        2: f"KLD {k[0]:.2f} -> {k[1]:.2f} (x{k[2]:.1f})",
        3: f"pixel x{p[2]:.2f} ({p[0]:.3f} -> {p[1]:.3f}); fm x{f[2]:.1f} ({f[0]:.3g} -> {f[1]:.3g})",
        4: "; ".join(f"beta {b:g}: {v:.2f}" for b, v in drift.items()),
        6: "KLD growth " + ", ".join(f"{g:.1f}" for g in sweep.values()) + " for beta 0.1-8; |z|/sqrt(d) "
           + ", ".join(f"{v:.2f}" for v in drift.values()) + " for beta 0.1, 1, 2, 8",
        7: f"max {np.max(kb):.2f}, end {bc.final('2019-05-16_kld', 'Train'):.2f}",
        8: f"test pixel {pt[0]:.2f} -> {pt[1]:.3f} (x{pt[2]:.2f} its start)",
    }


def load_seeds(root: Path, notebooks: Path) -> dict[int, dict[str, RunRecord]]:
    """Finished records by seed: seed 0 from the notebooks' run folder, seed S from root/seed<S>/."""
    folders = {0: notebooks, **{int(d.name[4:]): d for d in root.glob("seed*") if d.name[4:].isdigit()}}
    seeds: dict[int, dict[str, RunRecord]] = {}
    for seed, folder in sorted(folders.items()):
        for name in C.RUN_NAMES:
            d = folder / name
            if not (d / "config.json").is_file():
                continue
            try:
                rec = RunRecord(d)
                ok = rec.finished and rec.config.train.seed == seed
            except Exception as e:  # not a readable run record: say so and go on
                print(f"skipping {d}: {e}", file=sys.stderr)
                continue
            if ok:
                seeds.setdefault(seed, {})[name] = rec
    return {s: C.complete_sweep(r) for s, r in seeds.items()}


RefReadings = dict[int, list[tuple[str, C.Reading]]]


def reference_readings(reference: dict[str, RunRecord]) -> RefReadings:
    """Each claim read on each group of committed reference records that has its runs."""
    out: RefReadings = {}
    for label, runs in R.claim_runs(reference).items():
        for c in C.CLAIMS:
            if (r := C.read_claim(c, runs)) is not None:
                out.setdefault(c.number, []).append((label, r))
    return out


def _reference_section(readings: RefReadings, reference: dict[str, RunRecord]) -> list[str]:
    out = ["", "## Reference runs", "",
           "Claims the profile's budget cannot show are also read on a longer run made by this code and committed",
           "under data/reference_runs/ (`make reference-runs`, `vaegan_nb.reference`; one or two seeds, so no rate).",
           "`tests/test_reference_runs.py` trains the first ten steps of each run again on any CPU, and the",
           "first 10% where the records' provenance names this machine's CPU model; then every logged number",
           "must agree.", ""]
    for number, reads in sorted(readings.items()):
        for label, r in reads:
            figs = "; ".join(f"{n} {_fmt(v)}" for n, v in r.figures.items())
            out.append(f"- claim {number}, {label}: {'met' if r.ok else 'not met'}. {figs}.")
    made = {n: R.provenance(rec.path) for n, rec in reference.items()}
    walls = ", ".join(f"{n} {rec.config.train.steps} steps {_wall(rec):.0f} s" for n, rec in reference.items())
    kinds = sorted({f"torch {m['torch']}, {m['cpu_capability']} kernels, {m['threads']} thread(s) a run"
                    if m else "no provenance.json" for m in made.values()})
    out.append(f"- runs: {walls}; made with {'; '.join(kinds)}.")
    return out


def _spread(readings: list[C.Reading]) -> str:
    names = list(readings[0].figures)
    parts = []
    for n in names:
        v = np.array([r.figures[n] for r in readings], dtype=np.float64)
        parts.append(f"{n}: {_fmt(np.min(v))} / {_fmt(np.median(v))} / {_fmt(np.max(v))}")
    return "<br>".join(parts)


def _verdict(k: int, n: int, refs: list[tuple[str, C.Reading]] | None) -> str:
    """yes at 4 of 5 seeds; otherwise whether a committed reference run meets it (one seed is enough,
    as the reference runs were pre-registered: docs/fakes.md, docs/beta_sweep.md)."""
    verdict = "yes" if k >= REPRODUCES * n else "**no**"
    if verdict != "yes" and refs:
        met = sum(r.ok for _, r in refs)
        runs = "run" if len(refs) == 1 else f"runs ({met} of {len(refs)})"
        verdict += f"; {'yes' if met else 'no'} in the reference {runs}"
    return verdict


def _row(claim: C.Claim, seeds: dict[int, dict[str, RunRecord]], blog: dict[int, str],
         ref_readings: RefReadings) -> str:
    """The claim's table row, read on every seed that has its runs."""
    readings = [r for s in sorted(seeds) if (r := C.read_claim(claim, seeds[s])) is not None]
    if not readings:
        return (f"| {claim.number}. {claim.title} | {_cell(claim.target)} | 0/0 | not measured | "
                f"{_cell(blog.get(claim.number, '-'))} | not measured |")
    k, n = sum(r.ok for r in readings), len(readings)
    return (f"| {claim.number}. {claim.title} | {_cell(claim.target)} | {k}/{n} | {_cell(_spread(readings))} | "
            f"{_cell(blog.get(claim.number, '-'))} | {_verdict(k, n, ref_readings.get(claim.number))} |")


CELL = re.compile(r"(?<!\\)\|")  # a cell border: a | not escaped as \|


def _read_sentence(rows: list[int], when_where: str) -> str:
    """The header's sentence about ``rows`` (``verdicts.READ_SENTENCE`` reads it); empty for no rows."""
    if not rows:
        return ""
    return f" Row{'s' if len(rows) > 1 else ''} {', '.join(map(str, rows))} read {when_where}"


def update(text: str, numbers: list[int], seeds: dict[int, dict[str, RunRecord]],
           reference: dict[str, RunRecord], note: str) -> str:
    """``text`` (a rendered table) with the rows of ``numbers`` read again on ``seeds``, every other row's
    reference verdict read again (its target, rate and figures kept), the reference section rendered
    again, and ``note`` under the header. For a claim whose reading changed while the runs of the others
    are not at hand."""
    blog = blog_values()
    ref_readings = reference_readings(reference)
    lines = text.split("\n")
    for claim in C.CLAIMS:
        i = next((i for i, line in enumerate(lines) if line.startswith(f"| {claim.number}. ")), None)
        if i is None:  # a claim newer than the table: its row goes after the last claim's row
            if claim.number not in numbers:
                raise SystemExit(f"claim {claim.number} has no row yet: read it with --update {claim.number}")
            i = 1 + max(i for i, line in enumerate(lines) if re.match(r"\| \d+\. ", line))
            lines.insert(i, "")
        if claim.number in numbers:
            missing = [s for s, runs in seeds.items() if C.read_claim(claim, runs) is None]
            if missing or len(seeds) < 5:
                raise SystemExit(f"claim {claim.number}: runs missing for seeds {missing or 'beyond ' + str(sorted(seeds))}")
            lines[i] = _row(claim, seeds, blog, ref_readings)
            continue
        # A row not read again keeps the target its figures were read against; only the reference
        # verdict, read now, is set again.
        cells = CELL.split(lines[i])  # '', claim, target, rate, figures, blog, verdict, ''
        k, n = map(int, cells[3].strip().split("/"))
        cells[6] = f" {_verdict(k, n, ref_readings.get(claim.number))} "
        lines[i] = "|".join(cells)
    start = lines.index("## Reference runs") - 1
    end = lines.index("## Runs") - 1
    lines[start:end] = _reference_section(ref_readings, reference)
    if numbers:  # the header says which rows are newer than it (vaegan_nb.verdicts reads this)
        gen = next(i for i, line in enumerate(lines) if re.search(r"Generated \d{4}-\d{2}-\d{2}", line))
        lines[gen] = verdicts.READ_SENTENCE.sub(lambda m: _read_sentence(
            [n for n in map(int, re.findall(r"\d+", m.group(1))) if n not in numbers], m.group(2)), lines[gen])
        lines[gen] += _read_sentence(sorted(set(numbers)), f"{_dt.date.today().isoformat()} on {platform.machine()} "
                                     f"({R.machine()['cpu_model'].replace(',', '')}).")
    head = lines.index("| claim | target | rate | figures (min / median / max) | blog | reproduced |")
    lines[head:head] = [note, ""]
    return "\n".join(lines)


def render(seeds: dict[int, dict[str, RunRecord]], note: str = "",
           reference: dict[str, RunRecord] | None = None) -> str:
    blog = blog_values()
    reference = reference or {}
    ref_readings = reference_readings(reference)
    out = [
        "# Phenomena of the blog at laptop scale, across seeds",
        "",
        "Generated by `scripts/phenomena_table.py` from the run records of `make phenomena`",
        "(`scripts/claims_full.py`: the full profile, one torch thread per run, two runs at a time).",
        f"Do not edit by hand. Generated {_dt.date.today().isoformat()} on {platform.machine()} "
        f"({R.machine()['cpu_model'].replace(',', '')}), "
        f"seeds {', '.join(map(str, sorted(seeds)))}.",
        "",
        "Each claim is read on each seed's runs by `vaegan_nb.claims`. A value \"at 5%\" is the median of",
        "the values logged within +-2.5% of the run around 5% of its steps; \"end\" is the median over the",
        "last 5%. A claim reproduces when at least 80% of the seeds meet it (4 of 5). Figures are given as",
        "min / median / max over the seeds. The blog's own value is read the same way from its curves",
        "(data/blog_curves/, the blog 'Fun with ML on Splatoon 2', hellomoto-ai 2019); its KLD is per",
        "dimension, its latent 1024 (sqrt(d) = 32).",
        "",
        *([note, ""] if note else []),
        "| claim | target | rate | figures (min / median / max) | blog | reproduced |",
        "|---|---|---|---|---|---|",
    ]
    for claim in C.CLAIMS:
        out.append(_row(claim, seeds, blog, ref_readings))
    if ref_readings:
        out += _reference_section(ref_readings, reference)
    out += ["", "## Runs", ""]
    for s in sorted(seeds):
        recs = {n: r for n, r in seeds[s].items() if not isinstance(r, C.Truncated)}
        walls = ", ".join(f"{n} {r.config.train.steps} steps {_wall(r):.0f} s" for n, r in sorted(recs.items()))
        out.append(f"- seed {s}: {walls}")
    any_rec = next(r for recs in seeds.values() for r in recs.values())
    cfg = any_rec.config
    out += ["", f"Profile: {cfg.profile}, {cfg.data.height}x{cfg.data.width} frames, latent {cfg.model.latent_dim}, "
            f"encoder {cfg.model.enc_channels}, decoder {cfg.model.dec_channels}, discriminator "
            f"{cfg.model.disc_channels} with {cfg.model.disc_hidden} hidden units, batch {cfg.train.batch_size}, "
            f"lr {cfg.train.lr:g}, "
            f"{cfg.data.n_train} training frames (docs/scaling.md says why)."]
    return "\n".join(out) + "\n"


def _wall(rec: RunRecord) -> float:
    w = rec.metrics()["wall_s"]
    return float(np.nanmax(w)) if len(w) else math.nan


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT, help=f"folder of seed*/ records (default {DEFAULT_ROOT})")
    ap.add_argument("--notebook-runs", type=Path, default=NOTEBOOK_RUNS, help="seed 0's records (default: the notebooks')")
    ap.add_argument("--reference", type=Path, default=R.COMMITTED, help=f"reference runs (default {R.COMMITTED})")
    ap.add_argument("--note", default="", help="a paragraph to print under the header (e.g. machine load)")
    ap.add_argument("-o", "--output", default=str(ROOT / "docs" / "phenomena.md"), help="'-' for stdout")
    ap.add_argument("--update", nargs="*", type=int, metavar="CLAIM",
                    help="read only these claims' rows again in the existing table (their runs on all five seeds "
                         "at hand); keep the other rows' targets and figures and read their reference "
                         "verdicts again; needs --note to say so")
    args = ap.parse_args(argv)
    seeds = load_seeds(args.root, args.notebook_runs)
    if args.update is not None:
        if not args.note:
            ap.error("--update needs a --note that says which rows were read again, when, and why")
        text = update((ROOT / "docs" / "phenomena.md").read_text(), args.update, seeds,
                      R.committed(args.reference), args.note)
    elif not seeds:
        print(f"no finished run records under {args.root}/seed*/", file=sys.stderr)
        return 2
    else:
        text = render(seeds, args.note, R.committed(args.reference))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
