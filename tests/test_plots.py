"""Each figure function returns a Figure with the panels it promises, from run records alone."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from run_factory import make_run, synthetic_frames  # noqa: E402

from vaegan_nb import plots  # noqa: E402


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    steps = list(range(0, 200, 20))
    gan = make_run(tmp, "gan", steps=steps, frames=synthetic_frames(steps, collapse_at=120))
    vae = make_run(tmp, "vae", steps=steps, recipe="vae", seed=1,
                   metrics={"step": steps, "pixel": np.linspace(0.3, 0.1, 10), "kld": np.linspace(5, 9, 10)})
    return gan, vae


def _titles(fig):
    return [ax.get_title() for ax in fig.axes]


def test_loss_panels_overlays_runs_and_flags_missing_columns(runs):
    fig = plots.loss_panels(runs)
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    titles = _titles(fig)
    assert titles[0].startswith("pixel") and titles[1].startswith("KLD") and titles[3].startswith("GAN")
    kld_ax = fig.axes[1]
    labelled = [ln for ln in kld_ax.get_lines() if not ln.get_label().startswith("_")]
    assert kld_ax.get_yscale() == "log" and len(labelled) == 3  # gan: kld + batch; vae: kld
    # Each series twice: the raw logged values faintly, their running mean boldly.
    assert len(kld_ax.get_lines()) == 6 and all(ln.get_alpha() < 0.5 for ln in kld_ax.get_lines() if ln not in labelled)
    vae_only = plots.loss_panels(runs[1])
    gan_ax = vae_only.axes[3]
    assert not gan_ax.get_lines() and "no d_loss / g_loss" in gan_ax.texts[0].get_text()


def test_compare_metric(runs):
    fig = plots.compare_metric(runs, "pixel", logy=True)
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 2 and ax.get_yscale() == "log"


def test_latent_norm_hist_draws_the_chi_density_and_the_shell(runs):
    fig = plots.latent_norm_hist(runs[0], n_panels=3)
    assert len(fig.axes) == 3
    ax = fig.axes[0]
    assert ax.get_title().startswith("step 0")
    assert any("sqrt(d)" in line.get_label() for line in ax.get_lines())


def test_latent_pca_keeps_a_common_frame_with_the_origin(runs):
    fig = plots.latent_pca(runs[0], steps=[0, 100, 180])
    assert [t.split(":")[0] for t in _titles(fig)] == ["step 0", "step 100", "step 180"]
    assert fig.axes[0].get_xlim() == fig.axes[2].get_xlim()


def test_diversity_plot_marks_the_collapse(runs):
    fig = plots.diversity_plot(runs[0], reference=0.2)
    ax = fig.axes[0]
    assert "collapse" in ax.get_title() and "120" in ax.get_title()
    assert any("collapse at step 120" in t.get_text() for t in ax.texts)
    # No diversity column: computed from the timelapse instead.
    assert len(plots.diversity_plot(runs[1]).axes[0].get_lines()[0].get_xdata()) == 10


def test_diversity_plot_adds_palette_fidelity_on_a_twin_axis(tmp_path):
    steps = [0, 10, 20, 30]
    run = make_run(tmp_path, "p", steps=steps,
                   metrics={"step": steps, "diversity": [0.1, 0.2, 0.2, 0.2], "palette": [0.2, 0.5, 0.7, 0.8]})
    fig = plots.diversity_plot(run)
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "palette fidelity"


def test_sample_grid():
    frames = np.random.default_rng(0).integers(0, 256, (16, 24, 40, 3), dtype=np.uint8)
    fig = plots.sample_grid(frames, "real frames")
    (ax,) = fig.axes
    assert ax.get_title() == "real frames" and ax.images[0].get_array().shape[:2] == (106, 170)


def test_running_mean_keeps_length_and_smooths_noise():
    rng = np.random.default_rng(0)
    y = np.linspace(0, 1, 400) + rng.normal(0, 0.2, 400)
    sm = plots.running_mean(y)
    assert sm.shape == y.shape
    assert np.std(np.diff(sm)) < 0.2 * np.std(np.diff(y))
    assert plots.running_mean(np.array([3.0])) == pytest.approx([3.0])


def test_blog_comparison_draws_ours_beside_the_blogs_own_curve(runs):
    gan = runs[0]
    fig = plots.blog_comparison([(gan, "kld", "2019-04-11_kld", "Training", "KLD"),
                                 (gan, "fm", "2019-04-11_feats", "Input vs Reconstructed - Training", "fm")])
    assert len(fig.axes) == 2
    labels = [ln.get_label() for ln in fig.axes[0].get_lines()]
    assert any(lb.startswith("ours") for lb in labels)
    assert any("blog, part 1" in lb for lb in labels)


def test_the_blogs_raw_spikes_do_not_set_the_y_range(runs):
    # The blog's beta-0.1 KLD line spikes to about 20,000 times its value at 5% where its running mean
    # restarted; the smoothed curves stay within a few times it, and so must the axis.
    vae = runs[1]  # its KLD grows from 5 to 9
    fig = plots.blog_comparison([(vae, "kld", "2019-05-09_kld", "β=0.1 - Train", "KLD, beta 0.1")])
    assert fig.axes[0].get_yscale() == "linear" and fig.axes[0].get_ylim()[1] < 10
    ours, blog = (ln for ln in fig.axes[0].get_lines() if ln.get_label().startswith(("ours", "blog")))
    lo, hi = fig.axes[0].get_ylim()
    assert lo <= min(np.nanmin(ours.get_ydata()), np.nanmin(blog.get_ydata()))
    assert hi >= max(np.nanmax(ours.get_ydata()), np.nanmax(blog.get_ydata()))
    # In its own units ours and the blog's get an axis each, each fitted to its own curve.
    fig = plots.blog_comparison([(vae, "kld", "2019-05-09_kld", "β=0.1 - Train", "KLD, beta 0.1")], growth=False)
    ours_ax, blog_ax = fig.axes
    assert ours_ax.get_ylim()[1] < 10 < blog_ax.get_ylim()[1] < 100


def test_controller_plot_shows_beta_the_held_kld_in_its_band_and_says_what_lies_off_the_axis(tmp_path):
    steps = np.arange(0, 400, 10)
    held = np.full(len(steps), 0.1)
    held[20] = 5.0  # one spike mid-run, far above 4x the target
    run = make_run(tmp_path, "ada", steps=steps, recipe="vaegan_adaptive",
                   metrics={"step": steps, "beta": np.linspace(10, 3, len(steps)), "kld_held": held,
                            "kld_batch": held * 1.1, "kld": np.linspace(1, 5, len(steps))})
    fig = plots.controller_plot(run)
    beta_ax, kld_ax, per_sample_ax = fig.axes
    assert "beta" in beta_ax.get_title() and "held" in kld_ax.get_title() and "per-sample" in per_sample_ax.get_title()
    assert kld_ax.get_ylim()[1] >= 0.4  # at least 4x the target, the band visible
    assert any("above the axis" in t.get_text() for t in kld_ax.texts)


def test_compare_metric_shades_and_names_a_band(runs):
    fig = plots.compare_metric(runs, "z_norm_ratio", band=(0.8, 1.25), band_label="claim 11")
    assert "claim 11: 0.8-1.25" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
