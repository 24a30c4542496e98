"""scripts/gpu_check.py, the blog profile's check for a GPU machine, run on the CPU with the ci profile."""

import json

from script_module import load

from vaegan_nb.runs import RunRecord


def _script():
    return load("gpu_check")


def test_the_gpu_check_fills_its_budget_trains_both_runs_and_writes_the_claims_figures(tmp_path, capsys):
    gpu_check = _script()
    assert gpu_check.main(["--profile", "ci", "--device", "cpu", "--budget", "1", "--calibrate", "6",
                           "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    figures = json.loads((tmp_path / "readings.json").read_text())
    for recipe in gpu_check.RECIPES:
        rec = RunRecord(tmp_path / recipe)
        every = rec.config.train.log_every
        # A one-second budget buys the fewest steps it allows: two logged rows.
        assert rec.finished and rec.config.train.steps == 2 * every and rec.config.train.device == "cpu"
        assert f"{recipe}: " in out and " ms a step, so " in out
    assert isinstance(figures["claim 7 met"], bool) and figures["claim 7: batch KLD, max"] >= 0
    assert {"claim 9: hue bins / bar, nearest", "claim 3: fm end / 5%",
            "claim 8 (first half): pixel_test / mean-frame MSE"} <= set(figures)


def test_without_cuda_the_gpu_check_says_so_and_trains_nothing(tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _script().main(["--out", str(tmp_path)]) == 2
    assert "no CUDA device" in capsys.readouterr().err and not any(tmp_path.iterdir())
