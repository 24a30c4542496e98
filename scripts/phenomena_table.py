"""Regenerate docs/phenomena.md from run records: each claim of the blog, the figure measured, and
whether it reproduced.

    .venv/bin/python scripts/phenomena_table.py                       # data/runs/phenomena/*
    .venv/bin/python scripts/phenomena_table.py --runs DIR [DIR ...]  # other run records
    .venv/bin/python scripts/phenomena_table.py -o - > table.md       # print instead of writing

Run records are looked up by name (the folder name): vae, vaegan, vaegan_decoder_fm, aegan_bn and
vaegan_beta<B> for the beta sweep (beta 1 is read from the vaegan run at the sweep's step). A claim
whose runs are missing is listed as "not measured". ``scripts/claims_full.py`` makes the records.

All figures are smoothed: a "value at step s" is the median of the logged rows in a window of 5% of
the run around s (the last 5% of the run for "at the end").
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vaegan_nb import diagnostics  # noqa: E402
from vaegan_nb.runs import RunRecord  # noqa: E402

DEFAULT_DIR = ROOT / "data" / "runs" / "phenomena"
WINDOW = 0.05  # smoothing window, as a share of the run's steps


# ---------------------------------------------------------------------------------------------
# smoothing helpers (also imported by tests/test_claims.py through the same definitions)

def at(m: dict, col: str, frac: float, window: float = WINDOW) -> float:
    """Median of ``col`` over the logged rows within +-window/2 of ``frac`` of the run (finite only).

    ``frac=1`` reads the last ``window`` of the run.
    """
    steps, v = m["step"], m[col]
    total = float(np.nanmax(steps))
    if frac >= 1.0:
        lo, hi = total * (1 - window), total
    else:
        lo, hi = total * (frac - window / 2), total * (frac + window / 2)
    sel = (steps >= lo) & (steps <= hi) & (steps > 0) & np.isfinite(v)
    if not sel.any():  # a window narrower than the log cadence: the nearest logged row
        ok = np.isfinite(v) & (steps > 0)
        i = np.argmin(np.abs(steps[ok] - total * min(frac, 1.0)))
        return float(v[ok][i])
    return float(np.median(v[sel]))


def at_step(m: dict, col: str, step: float, halfwidth: float) -> float:
    """Median of ``col`` over logged rows with |row step - step| <= halfwidth."""
    sel = (np.abs(m["step"] - step) <= halfwidth) & (m["step"] > 0) & np.isfinite(m[col])
    return float(np.median(m[col][sel])) if sel.any() else math.nan


def rolling_median(v: np.ndarray, k: int = 3) -> np.ndarray:
    out = np.full(len(v), np.nan)
    for i in range(len(v)):
        w = v[max(0, i - k + 1): i + 1]
        w = w[np.isfinite(w)]
        if len(w):
            out[i] = np.median(w)
    return out


def first_step_below(m: dict, col: str, threshold: float, k: int = 3) -> float:
    """First logged step where the rolling median (k rows) of ``col`` is below ``threshold``."""
    sm = rolling_median(m[col], k)
    hit = np.flatnonzero(np.isfinite(sm) & (sm < threshold) & (m["step"] > 0))
    return float(m["step"][hit[0]]) if len(hit) else math.nan


# ---------------------------------------------------------------------------------------------

@dataclass
class Row:
    claim: str
    target: str
    measured: str
    runs: list[RunRecord]
    ok: bool | None  # None: not measured


def _load(dirs: list[Path]) -> dict[str, RunRecord]:
    recs = {}
    for d in dirs:
        try:
            recs[d.name] = RunRecord(d)
        except Exception as e:  # not a run record: say so and go on
            print(f"skipping {d}: {e}", file=sys.stderr)
    return recs


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 100 or a < 1e-3:
        return f"{x:.2e}"
    return f"{x:.3g}"


def claims(recs: dict[str, RunRecord]) -> list[Row]:
    rows: list[Row] = []
    M = {k: r.metrics() for k, r in recs.items()}

    def missing(claim, target, *names):
        rows.append(Row(claim, target, "not measured (missing run: " + ", ".join(
            n for n in names if n not in recs) + ")", [], None))

    # 1. VAE converges
    c, t = "1. VAE: KLD converges, held-out pixel MSE < 0.1", "pixel_test < 0.1; KLD change over the last 20% < 10%"
    if "vae" in M:
        m = M["vae"]
        px = at(m, "pixel_test", 1.0)
        k80, k100 = at(m, "kld", 0.8, 0.05), at(m, "kld", 1.0)
        change = k100 / k80 - 1
        rows.append(Row(c, t, f"pixel_test {_fmt(px)} (mean-frame baseline {_fmt(_mean_frame_mse(recs['vae']))}); KLD/dim {_fmt(k80)} at 80% -> {_fmt(k100)} at the end "
                              f"({change:+.1%})", [recs["vae"]], px < 0.1 and abs(change) < 0.10))
    else:
        missing(c, t, "vae")

    # 2. KLD explodes in the mistaken VAE-GAN
    c, t = ("2. VAE-GAN: KLD grows instead of converging",
            "KLD(end) >= 10x KLD(5%); >= 10x the decoder-only fix at the same step")
    if "vaegan" in M and "vaegan_decoder_fm" in M:
        m, f = M["vaegan"], M["vaegan_decoder_fm"]
        k5, kend = at(m, "kld", 0.05), at(m, "kld", 1.0)
        late = m["step"] > 0.05 * np.nanmax(m["step"])  # the initial transient (random init) left out
        kmax = float(np.nanmax(rolling_median(m["kld"], 5)[late]))
        k50 = at(m, "kld", 0.5)
        sf = float(np.nanmax(f["step"]))
        fend = at(f, "kld", 1.0)
        g_at = at_step(m, "kld", sf, WINDOW * sf)
        trend = ("still growing" if kend > 1.1 * k50 else
                 "levelled off" if kend > 0.7 * kmax else "peaked, then fell back")
        rows.append(Row(c, t, f"KLD/dim {_fmt(k5)} at 5% -> {_fmt(k50)} at 50% -> {_fmt(kend)} at the end "
                              f"(x{kend / k5:.2g}; peak after 5%: {_fmt(kmax)}; {trend}); at step {sf:.0f}: vaegan "
                              f"{_fmt(g_at)} vs fix {_fmt(fend)} (x{g_at / fend:.1f})",
                        [recs["vaegan"], recs["vaegan_decoder_fm"]], kend >= 10 * k5 and g_at >= 10 * fend))
    else:
        missing(c, t, "vaegan", "vaegan_decoder_fm")

    # 3. pixel falls while feature matching grows
    c, t = "3. VAE-GAN: pixel error falls while feature matching grows", "pixel(end) < pixel(10%); fm(end) > fm(10%)"
    if "vaegan" in M:
        m = M["vaegan"]
        p10, pend = at(m, "pixel", 0.10, 0.1), at(m, "pixel", 1.0, 0.1)
        f10, fend = at(m, "fm", 0.10, 0.1), at(m, "fm", 1.0, 0.1)
        rows.append(Row(c, t, f"pixel {_fmt(p10)} -> {_fmt(pend)}; fm {_fmt(f10)} -> {_fmt(fend)} (x{fend / f10:.1f})",
                        [recs["vaegan"]], pend < p10 and fend > f10))
    else:
        missing(c, t, "vaegan")

    # 4. latents off the sqrt(d) shell
    c, t = "4. Latents drift off the sqrt(d) shell", "mean|z|/sqrt(d) >= 1.3 (vaegan) vs 0.9-1.1 (VAE)"
    if "vaegan" in M and "vae" in M:
        rg, rv = at(M["vaegan"], "z_norm_ratio", 1.0), at(M["vae"], "z_norm_ratio", 1.0)
        rows.append(Row(c, t, f"vaegan {rg:.2f}; VAE {rv:.2f}", [recs["vaegan"], recs["vae"]],
                        rg >= 1.3 and 0.9 <= rv <= 1.1))
    else:
        missing(c, t, "vaegan", "vae")

    # 5. D wins quickly
    c, t = "5. The discriminator wins quickly", "D loss < 0.05 within the first 10% (vaegan and the fix)"
    if "vaegan" in M and "vaegan_decoder_fm" in M:
        parts, ok, used = [], True, []
        for n in ("vaegan", "vaegan_decoder_fm"):
            m = M[n]
            s = first_step_below(m, "d_loss", 0.05)
            total = float(np.nanmax(m["step"]))
            ok &= math.isfinite(s) and s <= 0.1 * total
            parts.append(f"{n}: step {s:.0f} of {total:.0f}" if math.isfinite(s) else f"{n}: never")
            used.append(recs[n])
        rows.append(Row(c, t, "; ".join(parts) + " (rolling median of 3 logged rows)", used, ok))
    else:
        missing(c, t, "vaegan", "vaegan_decoder_fm")

    # 6. beta sweep
    c, t = "6. A larger beta does not stop the drift", "mean|z|/sqrt(d) >= 1.2 for beta 0.1, 1, 2, 4, 8"
    sweep = sorted((n for n in M if n.startswith("vaegan_beta")), key=lambda n: float(n[len("vaegan_beta"):]))
    if sweep:
        steps = int(max(np.nanmax(M[n]["step"]) for n in sweep))
        vals, used = {}, []
        for n in sweep:
            vals[float(n[len("vaegan_beta"):])] = at(M[n], "z_norm_ratio", 1.0)
            used.append(recs[n])
        if "vaegan" in M and 1.0 not in vals:
            vals[1.0] = at_step(M["vaegan"], "z_norm_ratio", steps, WINDOW * steps / 2 + 1)
            used.append(recs["vaegan"])
        vals = dict(sorted(vals.items()))
        rows.append(Row(c, t + f" (runs of {steps} steps)",
                        "; ".join(f"beta {b:g}: {v:.2f}" for b, v in vals.items()),
                        used, all(v >= 1.2 for v in vals.values()) and len(vals) >= 2))
    else:
        missing(c, t, "vaegan_beta*")

    bn = sorted(n for n in M if n.startswith("aegan_bn"))
    for n in bn or [None]:
        tag = f" [{n}]" if n else ""
        # 7. BN cheat: batch KLD bounded
        c, t = "7. BN cheat: batch KLD stays small" + tag, "kld_batch < 0.1 at every logged step"
        if n:
            kb = M[n]["kld_batch"][np.isfinite(M[n]["kld_batch"])]
            rows.append(Row(c, t, f"max {_fmt(float(kb.max()))}, median {_fmt(float(np.median(kb)))}",
                            [recs[n]], bool(kb.max() < 0.1)))
        else:
            missing(c, t, "aegan_bn")
        # 8. BN cheat: pixel < 0.1
        c, t = "8. BN cheat: held-out pixel MSE below 0.1" + tag, "pixel_test(end) < 0.1"
        if n:
            m = M[n]
            pend, pmin = at(m, "pixel_test", 1.0), float(np.nanmin(rolling_median(m["pixel_test"], 3)))
            rows.append(Row(c, t, f"pixel_test {_fmt(pend)} at the end (best {_fmt(pmin)}); "
                                  f"mean-frame baseline {_fmt(_mean_frame_mse(recs[n]))}",
                            [recs[n]], pend < 0.1))
        else:
            missing(c, t, "aegan_bn")
        # 9. BN cheat: fakes look like frames, then collapse
        c, t = ("9. BN cheat: fixed-noise fakes look like frames, then collapse" + tag,
                "palette fidelity rises; then diversity drops >= 50% from its peak (collapse_step after "
                "the palette peak: the fakes must look like frames before they collapse)")
        if n:
            rows.append(_claim9(recs[n], c, t))
        else:
            missing(c, t, "aegan_bn")
    return rows


def _claim9(rec: RunRecord, c: str, t: str) -> Row:
    try:
        tl = rec.timelapse()
    except Exception as e:  # a run still in progress has no timelapse yet
        return Row(c, t, f"not measured ({e})", [rec], None)
    steps, frames = tl["steps"], tl["frames"]
    fid = np.array([float(diagnostics.palette_fidelity(f)) for f in frames])
    div = np.array([float(diagnostics.diversity(f)) for f in frames])
    cs = diagnostics.collapse_step(steps, div)
    ipk = int(np.argmax(div))
    best = int(np.argmax(fid))
    drop = 1 - float(div[ipk:].min()) / float(div[ipk]) if div[ipk] > 0 else math.nan
    looks = fid[best] > fid[0]
    measured = (f"palette fidelity {fid[0]:.2f} at step 0 -> {fid[best]:.2f} at step {steps[best]} -> "
                f"{fid[-1]:.2f} at the end; diversity peak {div[ipk]:.3g} at step {steps[ipk]}, "
                f"largest later drop {drop:.0%}; collapse_step: "
                + (f"{cs}" if cs is not None and not (isinstance(cs, float) and math.isnan(cs)) else "none"))
    collapsed = cs is not None and not (isinstance(cs, float) and math.isnan(cs))
    if collapsed:
        measured += f" ({'after' if cs > steps[best] else 'before'} the palette peak)"
    if rec.config.data.source == "turf":
        from vaegan_nb import data

        real = data.load_frames(rec.config.data)[0][: frames.shape[1]]
        measured += (f" (real frames: fidelity {float(diagnostics.palette_fidelity(real)):.2f}, diversity "
                     f"{float(diagnostics.diversity(real)):.3g})")
    # The blog's order matters: a collapse before the fakes look like anything is a different event.
    return Row(c, t, measured, [rec], bool(looks and collapsed and cs > steps[best]))


def _mean_frame_mse(rec: RunRecord) -> float:
    """Held-out pixel MSE of the best constant guess (the mean training frame): the trivial baseline."""
    from vaegan_nb import data
    from vaegan_nb.training import HELD_OUT

    cfg = rec.config.data
    if cfg.source != "turf":
        return math.nan
    train, test = data.load_frames(cfg)
    x, y = data.to_tensor(train[:2048]), data.to_tensor(test[:HELD_OUT])
    return float(((y - x.mean(0, keepdim=True)) ** 2).mean())


def _settings(rec: RunRecord) -> str:
    cfg = rec.config
    t, d, m = cfg.train, cfg.data, cfg.model
    s = (f"{rec.name}: {cfg.profile}, {d.height}x{d.width}, latent {m.latent_dim}, batch {t.batch_size}, "
         f"lr {t.lr:g}, beta {t.beta:g}, {d.n_train} frames")
    extra = {k: getattr(t, k) for k in ("lr_d", "recon_weight") if getattr(t, k, None) not in (None, 0, 0.0)}
    if extra:
        s += ", " + ", ".join(f"{k} {v:g}" for k, v in extra.items())
    return s


def _wall(rec: RunRecord) -> float:
    st = rec.status
    if "wall_s" in st:
        return float(st["wall_s"])
    w = rec.metrics()["wall_s"]
    return float(np.nanmax(w)) if len(w) else math.nan


def render(rows: list[Row], recs: dict[str, RunRecord], note: str = "") -> str:
    out = [
        "# Phenomena of the blog at laptop scale",
        "",
        "Generated by `scripts/phenomena_table.py` from the run records made by `scripts/claims_full.py`",
        "(full profile, one torch thread per run, two runs at a time on a 2-core CPU). Do not edit by hand.",
        f"Generated {_dt.date.today().isoformat()}.",
        "",
        "Figures are smoothed: a value \"at x%\" is the median of the logged rows in a window of 5% of the run",
        "around that point; \"end\" is the last 5% of the run. KLD is per sample and per latent dimension.",
        "",
        *([note, ""] if note else []),
        "| claim | target | measured | steps | wall time | reproduced |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        steps = ", ".join(f"{int(np.nanmax(x.metrics()['step']))}" for x in r.runs) or "-"
        wall = ", ".join(f"{_wall(x):.0f} s" for x in r.runs) or "-"
        ok = {True: "yes", False: "**no**", None: "not measured"}[r.ok]
        out.append(f"| {r.claim} | {r.target} | {r.measured} | {steps} | {wall} | {ok} |")
    out += ["", "## Runs and settings", ""]
    for name in sorted(recs):
        rec = recs[name]
        out.append(f"- {_settings(rec)}; {int(np.nanmax(rec.metrics()['step']))} steps, "
                   f"{_wall(rec):.0f} s ({rec.status.get('state', 'unknown')})")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", nargs="*", type=Path, help=f"run record folders (default: {DEFAULT_DIR}/*)")
    ap.add_argument("--note", default="", help="a paragraph to print under the header (e.g. machine load)")
    ap.add_argument("-o", "--output", default=str(ROOT / "docs" / "phenomena.md"), help="'-' for stdout")
    args = ap.parse_args(argv)
    dirs = args.runs if args.runs else sorted(p for p in DEFAULT_DIR.glob("*") if p.is_dir())
    recs = _load(dirs)
    if not recs:
        print(f"no run records found in {', '.join(map(str, dirs)) or DEFAULT_DIR}", file=sys.stderr)
        return 2
    text = render(claims(recs), recs, args.note)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
