"""VAEGAN_SEED runs a notebook on another trajectory, and finds make phenomena's runs of that seed."""

import pytest
from script_module import load

from vaegan_nb import notebook as nb
from vaegan_nb.errors import ConfigError


def test_the_default_seed_is_the_stored_books(monkeypatch, tmp_path):
    monkeypatch.delenv("VAEGAN_SEED", raising=False)
    monkeypatch.setenv("VAEGAN_RUNS", str(tmp_path))
    cfg, path = nb.spec("aegan_bn", "aegan_bn")
    assert cfg.train.seed == 0 and path == tmp_path / cfg.profile / "aegan_bn"


def test_another_seed_trains_elsewhere_with_that_seed(monkeypatch, tmp_path):
    monkeypatch.setenv("VAEGAN_SEED", "1")
    monkeypatch.setenv("VAEGAN_RUNS", str(tmp_path))
    cfg, path = nb.spec("aegan_bn", "aegan_bn", bn_affine=False)
    assert cfg.train.seed == 1 and not cfg.model.bn_affine
    assert path == tmp_path / "seeds" / cfg.profile / "seed1" / "aegan_bn"
    assert cfg.data.seed == nb.spec("aegan_bn", "x", seed=0)[0].data.seed  # the same frames, another run


def test_a_notebook_on_seed_s_reuses_make_phenomenas_seed_s(monkeypatch):
    monkeypatch.delenv("VAEGAN_RUNS", raising=False)
    cf = load("claims_full")
    for s in (0, 1, 4):
        monkeypatch.setenv("VAEGAN_SEED", str(s))
        monkeypatch.setenv("VAEGAN_PROFILE", "full")
        cfg, path = nb.spec("aegan_bn", "aegan_bn")
        assert path == cf.seed_dir(s) / "aegan_bn" and cfg == cf.config_for("aegan_bn", s)


@pytest.mark.parametrize("bad", ["one", "-1", "1.5"])
def test_a_seed_that_is_not_a_whole_number_is_refused_by_name(monkeypatch, bad):
    monkeypatch.setenv("VAEGAN_SEED", bad)
    with pytest.raises(ConfigError, match="VAEGAN_SEED"):
        nb.spec("vae", "vae")
