"""Execute notebooks in place in the current profile (``make book`` sets VAEGAN_PROFILE=full).

The stored outputs of the committed notebooks come from this script, so they are real executions of
the code at that commit. Widget state is dropped from the saved metadata: GitHub refuses to render a
notebook whose widget metadata lacks its state, and the static GIF next to each player covers viewers
without a kernel.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: Path, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    root = path.resolve().parents[1]
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}, record_timing=False)
    t0 = time.perf_counter()
    client.execute(cwd=str(path.parent), env=dict(os.environ, PYTHONPATH=str(root)))
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return time.perf_counter() - t0


def _run_states(runs_root: Path) -> dict[str, str]:
    """Each run's status.json as text, so that the runs a book trained can be told from those it found."""
    return {p.parent.name: p.read_text() for p in runs_root.glob("*/status.json")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="+", type=Path)
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    a = ap.parse_args()
    profile = os.environ.get("VAEGAN_PROFILE", "full")
    print(f"profile: {profile}")
    root = Path(__file__).resolve().parents[1]
    before = _run_states(root / "data" / "runs" / profile)
    times = {}
    for nb in a.notebooks:
        print(f"executing {nb} ...", flush=True)
        times[nb.stem] = execute(nb, a.timeout)
        print(f"  {nb.name}: {times[nb.stem] / 60:.1f} min", flush=True)
    print(f"the book took {sum(times.values()) / 60:.1f} min")
    after = _run_states(root / "data" / "runs" / profile)
    trained = sorted(name for name, state in after.items() if before.get(name) != state)
    if {p.resolve() for p in a.notebooks} != {p.resolve() for p in (root / "notebooks").glob("*.ipynb")}:
        return 0  # only the whole book's time is kept
    # make bench reads the last book's wall times from here (out/ is git-ignored).
    out = root / "out"
    out.mkdir(exist_ok=True)
    (out / "book.json").write_text(json.dumps({"profile": profile, "trained_runs": trained,
                                               "notebook_s": times, "total_s": sum(times.values()),
                                               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())},
                                              indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
