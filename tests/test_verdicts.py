"""A notebook tells the learner what their own run shows: the claim read on it, and its rate over seeds."""

import numpy as np
from run_factory import make_run

from vaegan_nb import claims as C
from vaegan_nb import verdicts
from vaegan_nb.runs import RunRecord

STEPS = np.arange(0, 210, 10)


def _bn(tmp_path, kld_batch):
    m = {"step": STEPS, "kld_batch": kld_batch}
    return RunRecord(make_run(tmp_path, "aegan_bn", steps=STEPS, metrics=m))


def test_the_verdict_follows_the_learners_run_not_the_text(tmp_path):
    rate = verdicts.Rate(5, 5, "yes", "2026-12-01 on x86_64")
    bounded = verdicts.verdict(7, {"aegan_bn": _bn(tmp_path / "a", np.full(len(STEPS), 0.2))}, rate)
    assert bounded.startswith("**On your run, claim 7 holds**") and "batch KLD, max 0.2" in bounded
    assert "Over 5 seeds it held on 5 (`docs/phenomena.md`, generated 2026-12-01 on x86_64" in bounded
    grown = verdicts.verdict(7, {"aegan_bn": _bn(tmp_path / "b", np.linspace(0.2, 3.0, len(STEPS)))}, rate)
    assert grown.startswith("**On your run, claim 7 does not hold**") and "max 3" in grown


def test_a_claim_whose_runs_the_notebook_lacks_says_so(tmp_path):
    text = verdicts.verdict(8, {"aegan_bn": _bn(tmp_path, np.full(len(STEPS), 0.2))})
    assert "needs the runs vaegan_decoder_fm" in text


def test_the_rates_are_read_from_the_phenomena_table(tmp_path):
    table = tmp_path / "phenomena.md"
    table.write_text("Do not edit by hand. Generated 2026-12-01 on x86_64, seeds 0, 1.\n\n"
                     "| claim | target | rate | figures | blog | reproduced |\n|---|---|---|---|---|---|\n"
                     "| 6. A larger beta | growth; mean\\|z\\| falls | 0/5 | \\|z\\|: 1 / 2 / 3 | - | "
                     "**no**; yes in the reference run |\n"
                     "| 7. BN cheat: bounded | batch KLD < 1 | 4/5 | max: 0.1 / 0.2 / 0.5 | max 0.66 | yes |\n")
    rates = verdicts.rates(table)
    assert rates[6] == verdicts.Rate(0, 5, "no; yes in the reference run", "2026-12-01 on x86_64")
    assert rates[7] == verdicts.Rate(4, 5, "yes", "2026-12-01 on x86_64")


def test_a_row_read_again_after_the_table_says_when_and_where(tmp_path):
    # What scripts/phenomena_table.py --update writes into the header.
    table = tmp_path / "phenomena.md"
    table.write_text("Do not edit by hand. Generated 2026-12-01 on x86_64, seeds 0, 1. Rows 7, 8 read "
                     "2026-12-07 on x86_64 (Intel Xeon).\n\n| claim | target | rate | figures | blog | reproduced |\n"
                     "|---|---|---|---|---|---|\n| 6. Beta | growth | 0/5 | x | - | **no** |\n"
                     "| 7. BN cheat: bounded | batch KLD < 1 | 4/5 | max: 0.1 | max 0.66 | yes |\n")
    rates = verdicts.rates(table)
    assert rates[6].generated == "2026-12-01 on x86_64"
    assert rates[7].generated == "2026-12-07 on x86_64"


def test_the_committed_table_gives_every_claim_a_rate():
    rates = verdicts.rates()
    assert set(rates) >= {c.number for c in C.CLAIMS}
    assert all(0 <= r.met <= r.seeds for r in rates.values())


def test_a_reference_run_is_named_and_gets_no_profile_rate(tmp_path):
    text = verdicts.verdict(7, {"aegan_bn": _bn(tmp_path, np.full(len(STEPS), 0.2))},
                            on="the reference run", with_rate=False)
    assert text.startswith("**On the reference run, claim 7 holds**") and "seeds" not in text
