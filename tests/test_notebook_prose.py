"""A notebook's text holds for any learner's run: figures about the run come from code cells, and a
figure typed into prose names its source in the same sentence."""

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
MAX_WORDS = 1500  # a learner's path, not a research log: the detail lives in docs/

DECIMAL = re.compile(r"(?<![\w.\-/])\d*\.\d+(?![\w/])")
# A source a reader can check: the blog (its posts, BLOG.md, its curves), our docs, or a paper.
CITATION = re.compile(r"\bblog\b|blog's|BLOG\.md|blog_curves|docs/|arXiv|et al\.", re.IGNORECASE)
SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+(?=[A-Z*_$(\[])|\n\s*\n|\n\s*(?:[-*]|\d+\.|#+)\s")


def sentences(markdown: str) -> list[str]:
    """The markdown's sentences, list items and headings; digits in inline code are names, not figures."""
    text = re.sub(r"`[^`]*`", lambda m: re.sub(r"\d", "N", m.group()), markdown)
    return [s.strip() for s in SENTENCE_END.split(text) if s.strip()]


def uncited_figures(markdown: str) -> list[str]:
    """Sentences that carry a decimal figure but name no source for it."""
    return [s for s in sentences(markdown) if DECIMAL.search(s) and not CITATION.search(s)]


def test_the_rule_catches_a_run_figure_typed_into_prose():
    assert uncited_figures("The KLD ends at 0.67 per dimension. It levels off.") == [
        "The KLD ends at 0.67 per dimension."]
    assert uncited_figures("- ours ends at 0.58 times the mean frame's\n- the blog's at 0.091") == [
        "- ours ends at 0.58 times the mean frame's"]


def test_the_rule_lets_cited_figures_code_and_integers_through():
    assert uncited_figures("The blog's KLD rose from 2.4 to 7.5 per dimension.") == []
    assert uncited_figures("On five seeds it ends at 0.56-0.63 (`docs/phenomena.md`, claim 8).") == []
    assert uncited_figures("Set `lr_factor_bn=0.1` in the config. It trains 3,000 steps in 2 minutes.") == []
    assert uncited_figures("Version v0.1.0 of the package, file frames_0.5.npz.") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_in_the_prose_names_its_source(path):
    nb = nbformat.read(path, as_version=4)
    bad = [s for c in nb.cells if c.cell_type == "markdown" for s in uncited_figures(c.source)]
    assert not bad, (f"{path.name}: a figure about your run belongs in a code cell's output "
                     f"(vaegan_nb.verdicts), a typed one names its source:\n" + "\n".join(bad))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_text_is_short_enough_to_follow(path):
    nb = nbformat.read(path, as_version=4)
    words = sum(len(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    assert words <= MAX_WORDS, f"{path.name}: {words} words of markdown; move research detail to docs/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_claims_are_read_on_the_learners_own_run(path):
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "verdicts.show(" in c.source]
    assert cells, f"{path.name}: no verdicts.show cell reads the notebook's claims on its own run"
    shown = ["".join(o.get("data", {}).get("text/markdown", "") for o in c.outputs) for c in cells]
    verdict = re.compile(r"\*\*On [^*]+, claim \d+ (holds|does not hold)\*\*")
    assert all(verdict.search(s) for s in shown), f"{path.name}: a verdict cell has no stored verdict (make book)"
    assert any("**On your run, claim" in s for s in shown), f"{path.name}: no claim is read on the learner's run"
