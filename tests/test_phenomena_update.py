"""scripts/phenomena_table.py --update: one claim's row read again when the other rows' runs are gone."""

from pathlib import Path

import numpy as np
import pytest
from run_factory import make_run
from script_module import load

from vaegan_nb import data
from vaegan_nb.runs import RunRecord

ROOT = Path(__file__).resolve().parents[1]


def test_update_reads_the_asked_row_again_and_keeps_the_others_as_they_were_read(tmp_path):
    table = load("phenomena_table")
    text = (ROOT / "docs" / "phenomena.md").read_text()
    rows = {n: next(line for line in text.splitlines() if line.startswith(f"| {n}. ")) for n in range(1, 10)}
    grey = np.full((64, 24, 40, 3), 128, np.uint8)
    # Five seeds of a BN cheat whose fakes look like frames (turf) and then collapse: claim 9 holds on all.
    seeds = {s: {"aegan_bn": RunRecord(make_run(
        tmp_path, f"s{s}", steps=(0, 10, 20, 30),
        frames=np.stack([grey, data.turf_frames(64, 24, 40, 10 + s), np.repeat(grey[:1] + 1, 64, 0),
                         np.repeat(grey[:1] + 1, 64, 0)])))} for s in range(5)}
    new = table.update(text, [9], seeds, {}, "NOTE").splitlines()
    row9 = next(line for line in new if line.startswith("| 9. "))
    assert row9 != rows[9] and "| 5/5 |" in row9 and "first step that looks like frames: 10 / 10 / 10" in row9
    for n in range(1, 9):  # kept: target, rate and figures; the verdict has no reference run to read now
        old, kept = rows[n].split(" | "), next(line for line in new if line.startswith(f"| {n}. ")).split(" | ")
        assert kept[:5] == old[:5], n
    assert new.count("NOTE") == 1 and new.index("NOTE") < new.index(next(line for line in new if line.startswith("| claim |")))


def _adaptive_seeds(tmp_path):
    """Five seeds of an adaptive-beta run that meets claims 10-12."""
    steps = np.arange(40) * 10
    ones = np.ones(len(steps))
    return {s: {"vaegan_adaptive": RunRecord(make_run(
        tmp_path, f"s{s}", steps=steps, recipe="vaegan_adaptive",
        frames=np.repeat(data.turf_frames(16, 24, 40, s)[None], len(steps), 0),
        metrics={"step": steps, "pixel_test": 0.01 * ones, "z_norm_ratio": ones, "kld_held": 0.1 * ones,
                 "beta": ones, "kld": ones}))} for s in range(5)}


def test_update_adds_the_row_of_a_claim_newer_than_the_table_after_the_last_row(tmp_path):
    table = load("phenomena_table")
    lines = [line for line in (ROOT / "docs" / "phenomena.md").read_text().splitlines()
             if not any(line.startswith(f"| {n}. ") for n in range(10, 13))]  # the table before claims 10-12
    text = "\n".join(lines)
    seeds = _adaptive_seeds(tmp_path)
    with pytest.raises(SystemExit, match="claim 10 has no row yet"):
        table.update(text, [], seeds, {}, "")
    new = table.update(text, [10, 11, 12], seeds, {}, "").splitlines()
    at = [next(i for i, line in enumerate(new) if line.startswith(f"| {n}. ")) for n in range(9, 13)]
    assert at == [at[0] + k for k in range(4)], "rows 10-12 follow row 9 in order"
    assert all("| 5/5 |" in new[i] for i in at[1:])


def test_rows_read_later_are_named_once_in_the_header_and_their_rates_cite_that(tmp_path):
    table = load("phenomena_table")
    from vaegan_nb import verdicts

    text = (ROOT / "docs" / "phenomena.md").read_text()
    head = next(line for line in text.splitlines() if "Generated 20" in line)
    header = "Do not edit by hand. Generated 2026-12-01 on x86_64, seeds 0, 1, 2, 3, 4."
    text = text.replace(head, header + " Rows 9, 10, 11, 12 read 2026-12-05 on x86_64 (CPU (model 1)).")
    seeds = _adaptive_seeds(tmp_path)
    for _ in range(2):  # reading the same rows twice leaves one sentence about them
        text = table.update(text, [11, 10], seeds, {}, "")
    line = next(line for line in text.splitlines() if line.startswith(header))
    assert line.startswith(header + " Rows 9, 12 read 2026-12-05 on x86_64 (CPU (model 1)). Rows 10, 11 read ")
    assert line.count(" read ") == 2
    path = tmp_path / "phenomena.md"
    path.write_text(text)
    rates = verdicts.rates(path)
    assert rates[9].generated == rates[12].generated == "2026-12-05 on x86_64"
    assert rates[10].generated == rates[11].generated != "2026-12-05 on x86_64"
    assert rates[1].generated == "2026-12-01 on x86_64"
