"""A reference run longer than a working session is parked for a commit and carried on from there."""

import pytest
from run_factory import make_run
from script_module import load


@pytest.fixture
def script(tmp_path, monkeypatch):
    mod = load("reference_runs")
    monkeypatch.setattr(mod, "WORK", tmp_path / "work")
    monkeypatch.setattr(mod, "PARKED", tmp_path / "parked")
    monkeypatch.setattr(mod, "ROOT", tmp_path)
    return mod


def test_an_unfinished_run_is_parked_with_what_resuming_needs_and_carried_on_from_there(script, tmp_path):
    run = make_run(script.WORK, "bn", state="running")
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "last.pt").write_bytes(b"weights")
    (run / "timelapse.prev.npz").write_bytes(b"a spare")
    parked = script.park("bn")
    assert sorted(str(p.relative_to(parked)) for p in parked.rglob("*") if p.is_file()) == sorted(script.PARKED_FILES)
    script.unpark("bn")  # this machine has its own copy: nothing is overwritten
    assert (run / "timelapse.prev.npz").exists()
    import shutil

    shutil.rmtree(run)
    script.unpark("bn")  # a fresh machine: carry on from the parked copy
    assert (run / "checkpoints" / "last.pt").read_bytes() == b"weights"


def test_a_finished_run_is_exported_not_parked(script):
    make_run(script.WORK, "bn", state="finished")
    with pytest.raises(SystemExit, match="finished: export it"):
        script.park("bn")


def test_the_run_that_finished_is_exported_while_its_partner_stays_parked(script, tmp_path, monkeypatch):
    from vaegan_nb import reference

    monkeypatch.setattr(reference, "COMMITTED", tmp_path / "committed")
    monkeypatch.setattr(reference, "keep", lambda name: (2, 4))
    for name, state in (("done", "finished"), ("half", "running")):
        make_run(script.WORK, name, state=state)
        (script.PARKED / name).mkdir(parents=True)
    script.export_finished(["done", "half"])
    assert (tmp_path / "committed" / "done" / "metrics.csv").is_file() and not (script.PARKED / "done").exists()
    assert not (tmp_path / "committed" / "half").exists() and (script.PARKED / "half").is_dir()
