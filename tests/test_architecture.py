"""The house stays drawable: every module says its job, is named in docs/architecture.md, and keeps
its functions short enough to read on one screen."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted((ROOT / "vaegan_nb").glob("*.py"))
MAX_FUNCTION_LINES = 80


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_every_module_opens_with_a_sentence_that_says_its_job(path):
    doc = ast.get_docstring(ast.parse(path.read_text()))
    assert doc, f"{path.name} has no module docstring"
    assert doc.splitlines()[0].rstrip().endswith("."), f"{path.name}: the first line should be one sentence"


def test_every_module_is_named_in_the_architecture_page():
    page = (ROOT / "docs" / "architecture.md").read_text()
    missing = [p.name for p in MODULES if f"`{p.name}`" not in page]
    assert not missing, f"docs/architecture.md does not name {missing}"


def test_no_function_is_longer_than_a_screen():
    long = []
    for path in MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long.append(f"{path.name}:{node.name} ({n} lines)")
    assert not long, f"split these: {long}"


def test_the_training_loop_fits_on_one_screen():
    tree = ast.parse((ROOT / "vaegan_nb" / "training.py").read_text())
    loop = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_train")
    assert loop.end_lineno - loop.lineno + 1 <= 65


def test_names_the_notebooks_and_scripts_used_before_the_split_still_work():
    from vaegan_nb import checkpoints, data, evaluation, footage, training, turf

    assert data.turf_frames is turf.turf_frames and data.TEAM_PAIRS is turf.TEAM_PAIRS
    assert data.prepare_frames is footage.prepare_frames and data.read_video is footage.read_video
    assert data.Split is footage.Split
    assert training.load_checkpoint is checkpoints.load_checkpoint
    assert training.fixed_noise is evaluation.fixed_noise and training.HELD_OUT == evaluation.HELD_OUT
