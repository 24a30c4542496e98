"""What the learner's own run shows: each claim read on a notebook's runs, as Markdown.

The claim's figures on the run stand beside its rate over five seeds from docs/phenomena.md.

A notebook's prose holds only what holds for any run (the blog's figures, cross-seed ranges,
derivations). Every figure about *this* run comes from here or from a printing cell, so the text
matches the learner's run on any CPU and seed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from . import claims as C
from .runs import RunRecord, checkout_root


def fmt(x: float) -> str:
    """A figure as the phenomena table prints it: three significant digits, thousands separated."""
    if not math.isfinite(x):
        return "never" if x == math.inf else "n/a"
    a = abs(x)
    if 1000 <= a < 1e6:
        return f"{x:,.0f}"
    return f"{x:.2e}" if a and (a >= 1e6 or a < 1e-3) else f"{x:.3g}"


@dataclass(frozen=True)
class Rate:
    """One row of docs/phenomena.md: how many seeds met the claim, and where the table was made."""

    met: int
    seeds: int
    reproduced: str  # the table's last column, e.g. "yes" or "no; yes in the reference run"
    generated: str  # "2026-12-01 on x86_64"


_HEADER = re.compile(r"Generated (\d{4}-\d{2}-\d{2} on [^,]+)")
# " Rows 10, 11 read 2026-12-07 on x86_64 (Intel(R) Xeon(R) Processor (model 167))." in the header, written
# by scripts/phenomena_table.py --update: the rows read after the table was generated (1), when and where
# (2), and the date and machine a Rate cites (3).
READ_SENTENCE = re.compile(r" Rows? ([\d, and]+) read (?:again )?((\d{4}-\d{2}-\d{2} on [^(.\s]+).*?\)\.)(?=\s|$)")
_ROW = re.compile(r"^\|\s*(\d+)\.\s.*\|\s*(\d+)/(\d+)\s*\|.*\|\s*([^|]+?)\s*\|\s*$")


def phenomena_path() -> Path | None:
    root = checkout_root(Path(__file__).resolve().parent)
    p = root / "docs" / "phenomena.md" if root else None
    return p if p is not None and p.is_file() else None


def rates(path: Path | None = None) -> dict[int, Rate]:
    """Each claim's row of docs/phenomena.md (empty when the file is not there, e.g. an installed wheel)."""
    path = path or phenomena_path()
    if path is None:
        return {}
    text = path.read_text(encoding="utf-8")
    head = _HEADER.search(text)
    generated = head.group(1) if head else "on an unknown date"
    again = {int(n): m.group(3) for m in READ_SENTENCE.finditer(text) for n in re.findall(r"\d+", m.group(1))}
    out = {}
    for line in text.splitlines():
        if m := _ROW.match(line):
            n = int(m.group(1))
            out[n] = Rate(int(m.group(2)), int(m.group(3)), m.group(4).replace("**", ""), again.get(n, generated))
    return out


def verdict(number: int, runs: Mapping[str, RunRecord], rate: Rate | None = None, on: str = "your run",
            with_rate: bool = True) -> str:
    """Markdown: claim ``number`` read on ``runs``, its figures and target, and its cross-seed rate (the
    profile's, from docs/phenomena.md; ``with_rate=False`` leaves it out, e.g. for a reference run)."""
    claim = C.claim(number)
    runs = C.complete_sweep(runs)
    reading = C.read_claim(claim, runs)
    if reading is None:
        missing = ", ".join(n for n in claim.runs if n not in runs)
        return f"**Claim {number}** ({claim.title}) needs the runs {missing}; this notebook did not train them."
    held = "holds" if reading.ok else "does not hold"
    figures = "; ".join(f"{k} {fmt(v)}" for k, v in reading.figures.items())
    text = (f"**On {on}, claim {number} {held}** ({claim.title}). {figures}. "
            f"The claim asks for: {claim.target}.")
    rate = (rate or rates().get(number)) if with_rate else None
    if rate is not None:
        text += (f" Over {rate.seeds} seeds it held on {rate.met} (`docs/phenomena.md`, generated "
                 f"{rate.generated}; reproduced: {rate.reproduced}).")
    return text


def show(numbers: int | tuple[int, ...], runs: Mapping[str, RunRecord], **kwargs):
    """Display the verdicts of ``numbers`` in a notebook (or print them outside one); ``kwargs`` go to
    ``verdict``."""
    numbers = (numbers,) if isinstance(numbers, int) else numbers
    text = "\n\n".join(verdict(n, runs, **kwargs) for n in numbers)
    try:
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks
        print(text)
        return None
    display(Markdown(text))
    return None
