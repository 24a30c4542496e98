"""Command line: python -m vaegan_nb {train,timelapse,frames,summary}.

User mistakes print one line on stderr and exit with status 2; programming errors keep their traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from .config import PROFILES, RECIPES, current_profile, make_config
from .errors import DivergenceError, UserError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m vaegan_nb", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train one recipe into a run directory")
    t.add_argument("--recipe", required=True, choices=RECIPES)
    t.add_argument("--out", required=True, type=Path, help="run directory to write")
    t.add_argument("--profile", choices=PROFILES, help="default: $VAEGAN_PROFILE or 'full'")
    t.add_argument("--data", default=None, help="'turf' or a folder of images / a video file / a folder of videos")
    t.add_argument("--fps", type=float, help="video: sample at this rate instead of keyframes")
    t.add_argument("--steps", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--beta", type=float)
    t.add_argument("--seed", type=int)
    t.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"))
    t.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoints/last.pt")
    t.add_argument("--no-progress", action="store_true")

    g = sub.add_parser("timelapse", help="export a GIF of the fixed-noise samples; several runs side by side")
    g.add_argument("runs", nargs="+", type=Path)
    g.add_argument("-o", "--output", required=True, type=Path)
    g.add_argument("--fps", type=float, default=8)
    g.add_argument("--scale", type=int, default=2)

    f = sub.add_parser("frames", help="turn your own footage (videos, screenshots) into a folder of frames")
    f.add_argument("source", type=Path, help="a video file, or a folder of videos and/or images")
    f.add_argument("-o", "--output", required=True, type=Path)
    f.add_argument("--keyframes", action="store_true", help="keyframes only, like the original (the default)")
    f.add_argument("--fps", type=float, help="sample at this rate instead")
    f.add_argument("--profile", choices=PROFILES, help="the frame size for images (default: as for train)")
    f.add_argument("--fit", choices=("crop", "pad"), default="crop",
                   help="images of another aspect: centre-crop (default) or pad with black")

    s = sub.add_parser("summary", help="print a run's key figures")
    s.add_argument("run", type=Path)
    s.add_argument("--json", action="store_true")
    return p


def _train(a: argparse.Namespace) -> int:
    from .training import train

    overrides = {k: v for k, v in (("steps", a.steps), ("lr", a.lr), ("beta", a.beta), ("seed", a.seed),
                                     ("device", a.device), ("data__fps", a.fps)) if v is not None}
    if a.data is not None:
        if a.data != "turf" and not Path(a.data).exists():
            raise UserError(f"--data {a.data}: no such file or folder")
        overrides["data__source"] = a.data
    cfg = make_config(a.recipe, a.profile or current_profile(), **overrides)
    try:
        rec = train(cfg, a.out, resume=a.resume, progress=not a.no_progress)
    except KeyboardInterrupt as e:
        print(f"interrupted: {e or 'stopped'}; continue with --resume", file=sys.stderr)
        return 130
    except OSError as e:  # a full disk or a vanished folder mid-run: the checkpoint on disk is intact
        print(f"error: {e}; fix that, then continue with --resume", file=sys.stderr)
        return 2
    print(f"run record written to {rec.path}")
    return 0


def summary(run_dir: Path) -> dict:
    """The run's key figures: split, final/peak KLDs, pixel errors, latent-norm ratio, D loss, diversity."""
    from .runs import RunRecord

    rec = RunRecord(run_dir)
    m = rec.metrics()
    meta, cfg = rec.meta, rec.config
    # Records from before the split was recorded: turf had its own streams, footage was always by source.
    split = meta.get("split") or ("turf" if cfg.data.source == "turf" else "source")

    def finite(col):
        v = m.get(col, np.zeros(0))
        return v[np.isfinite(v)]

    def last(col):
        v = finite(col)
        return float(v[-1]) if len(v) else None

    def peak(col):
        v = finite(col)
        return float(v.max()) if len(v) else None

    steps = m.get("step")
    return {
        "run": str(rec.path), "recipe": meta.get("recipe"), "profile": cfg.profile,
        "split": split, "split_detail": meta.get("split_detail"),
        "state": rec.status.get("state"), "steps": int(steps[-1]) if steps is not None and len(steps) else 0,
        "kld_final": last("kld"), "kld_peak": peak("kld"),
        "kld_batch_final": last("kld_batch"), "kld_batch_peak": peak("kld_batch"),
        "pixel_final": last("pixel"), "pixel_test_final": last("pixel_test"),
        "z_norm_ratio_final": last("z_norm_ratio"), "d_loss_final": last("d_loss"),
        "diversity_final": last("diversity"), "diversity_peak": peak("diversity"),
    }


def _summary(a: argparse.Namespace) -> int:
    s = summary(a.run)
    if a.json:
        print(json.dumps(s, indent=2))
        return 0
    width = max(len(k) for k in s)
    for k, v in s.items():
        if isinstance(v, float):
            v = f"{v:.4g}"
        print(f"{k:<{width}}  {'n/a' if v is None else v}")
    return 0


def _timelapse(a: argparse.Namespace) -> int:
    from .timelapse import export_gif

    for r in a.runs:
        if not r.is_dir():
            raise UserError(f"{r}: no such run directory")
    out = export_gif(a.runs, a.output, fps=a.fps, scale=a.scale)
    print(f"wrote {out}")
    return 0


def _frames(a: argparse.Namespace) -> int:
    from .data import extract_frames, prepare_frames

    if not a.source.exists():
        raise UserError(f"{a.source}: no such video file or folder")
    keyframes = a.keyframes or a.fps is None
    if a.source.is_dir():
        size = make_config("vae", a.profile or current_profile()).data
        report = prepare_frames(a.source, a.output, size.height, size.width, fit=a.fit, keyframes=keyframes,
                                fps=a.fps)
        print(report.found(a.source))
        print(report.kept(a.output))
        return 0
    n = extract_frames(a.source, a.output, keyframes=keyframes, fps=a.fps)
    print(f"wrote {n} frames to {a.output}")
    return 0


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # The default format adds the file, line and source text: noise for someone at a shell prompt.
    print(f"warning: {message}", file=file or sys.stderr)


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    handlers = {"train": _train, "timelapse": _timelapse, "frames": _frames, "summary": _summary}
    try:
        with warnings.catch_warnings():  # restores the caller's showwarning when main() is called in-process
            warnings.showwarning = _one_line_warning
            return handlers[a.command](a)
    except (UserError, DivergenceError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
