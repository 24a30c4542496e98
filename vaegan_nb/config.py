"""Run configuration as dataclasses, and the three profiles (ci / full / blog).

One variable, ``VAEGAN_PROFILE`` (or ``--profile``), picks the scale. The architecture family is
the same in every profile; ``ci`` keeps ``full``'s image size and model and only shortens the run.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

PROFILES = ("ci", "full", "blog")
RECIPES = ("vae", "vaegan", "vaegan_decoder_fm", "aegan_bn", "vaegan_adaptive")
DEFAULT_PROFILE = "full"
MAX_LR = 1e30  # absurd already; far enough below float32's range that Adam's step stays representable


@dataclass
class DataConfig:
    source: str = "turf"  # "turf" (procedural stand-in) or a path: image folder, video file, folder of videos
    height: int = 24
    width: int = 40
    n_train: int = 4096  # turf frames to generate (own footage: as many as there are)
    n_test: int = 512
    seed: int = 0
    keyframes: bool = True  # video: keyframes only, like the original (ffmpeg -skip_frame nokey)
    fps: float | None = None  # video: sample at this rate instead of keyframes
    test_fraction: float = 0.1  # own footage: share of sources held out


@dataclass
class ModelConfig:
    # The full profile, scaled from the original by the scaling rules below (scaling_checks; docs/scaling.md).
    latent_dim: int = 64  # original: 1024
    enc_channels: tuple[int, ...] = (8, 16, 128)  # original: 64, 128, 256
    dec_channels: tuple[int, ...] = (128, 32, 16, 8)  # original: 256, 256, 128, 64
    disc_channels: tuple[int, ...] = (16, 32, 96, 256)  # original: 32, 128, 256, 256; margins as in rule 4
    disc_hidden: int = 256  # original: 512; enough that some survive lr 1e-3 (scaling rule 3)
    bn_affine: bool = True  # BN-cheat head: learnable scale/shift, as in the original
    # BN-cheat head: how BN's scale starts. "ones" is today's PyTorch default; "uniform" draws it from
    # U(0, 1), as PyTorch 1.1 did (the blog's release, May 2019; the change: pytorch/pytorch#12259).
    # U(0, 1) puts the first batch KLD at 2/3 in expectation: the blog's curve starts at 0.66.
    bn_scale_init: str = "ones"


@dataclass
class TrainConfig:
    recipe: str = "vae"
    steps: int = 3000
    batch_size: int = 32
    lr: float = 1e-3  # the decoder's; the encoder and D take it times their factors below
    # Each network's learning rate as a factor of lr. At the same learning rate narrow layers move their
    # outputs less per Adam step than wide ones, by different amounts for E, G and D (docs/scaling.md,
    # "Compressed in time", measures them and the pilots that used these factors).
    lr_factor_encoder: float = 1.0
    lr_factor_disc: float = 1.0
    # BN-cheat head: BN's scale and shift at the encoder's rate times this. They are one number per
    # latent dimension, summed over nothing, so at lr 1e-3 they move ten times as far per step as the
    # original's at 1e-4, unlike the wide layers ("Compressed in time"); 0.1 keeps the original's pace.
    lr_factor_bn: float = 1.0
    beta: float = 1.0
    # GAN recipes: the KLD in the loss is averaged over latent dimensions, so it weighs like the
    # per-element feature-matching error. Summed over 64 dimensions it outweighs feature matching
    # and the posterior collapses instead of exploding (docs/phenomena.md has both). The VAE sums.
    kld_reduction: str = "mean"
    recon_reduction: str = "sum"  # vae: "sum" per image (works) or "mean" per pixel (the collapse pitfall)
    # GAN recipes: weight of the pixel MSE added to feature matching in sub-step (6), the blog's part-4
    # "reconstruction loss beside feature matching". 0 (the default) is the blog's recipes as written.
    recon_weight: float = 0.0
    # GAN recipes: train D and the decoder on fakes G(z), z ~ N(0, I), in sub-steps (4)-(5). The blog's
    # part 1 did and part 2 dropped them (no change in quality). Part 3's baseline run is part 2's run
    # without fakes (their curves agree point for point), and the original trainer of the beta sweep's
    # time (hellomoto-ai/splatoon2-ml, sp_vae_gan/trainer.py) has no fake sub-steps; BLOG.md's summary
    # of part 3 lists them, and we follow the code. The BN cheat logs a G(z) loss, so it keeps them.
    # make_config sets it per recipe.
    fakes: bool = True
    # vaegan_adaptive (the blog's part 5): beta starts at ``beta`` and after every step moves by
    # beta_step * (batch KLD - beta_target), floored at 1e-3; the batch KLD (per dimension, of the
    # sampled codes' batch mean and variance) is taken on moving statistics with this momentum (0: the
    # batch alone). make_config sets the original's last settings, the step scaled to the profile's lr.
    beta_target: float = 0.1
    beta_step: float = 0.1
    stats_momentum: float = 0.1
    seed: int = 0
    log_every: int = 10
    snapshot_every: int = 50  # decode the fixed noise batch every K steps (a multiple of log_every)
    checkpoint_every: int = 250
    n_fixed: int = 64  # size of the fixed noise batch: an 8x8 grid
    device: str = "auto"  # auto | cpu | cuda | mps
    num_threads: int = 0  # 0: leave torch's default
    # Speed only, the same math up to float rounding (benchmarks/ and docs/performance.md measure both):
    channels_last: bool = True  # NHWC activations: faster oneDNN/cuDNN convolutions
    # torch.compile the decoder: "auto" does so for runs of at least 100 steps on CUDA only. On a CPU
    # it saved 0-5% of a step at the full profile's widths and cost ~30 s a run (docs/performance.md).
    compile: str = "auto"  # auto | on | off


@dataclass
class RunConfig:
    profile: str = DEFAULT_PROFILE
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        if not isinstance(d, dict):
            raise ConfigError(f"config must be a mapping, got {type(d).__name__}")
        _check_keys("config", d, {f.name for f in dataclasses.fields(cls)})
        parts = {}
        for name, sub in (("data", DataConfig), ("model", ModelConfig), ("train", TrainConfig)):
            raw = d.get(name, {})
            if not isinstance(raw, dict):
                raise ConfigError(f"config.{name} must be a mapping, got {type(raw).__name__}")
            _check_keys(f"config.{name}", raw, {f.name for f in dataclasses.fields(sub)})
            raw = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
            parts[name] = sub(**raw)
        cfg = cls(profile=d.get("profile", DEFAULT_PROFILE), **parts)
        cfg.validate()
        return cfg

    def validate(self) -> RunConfig:
        """Raise ConfigError naming the first field that cannot work."""
        d, m, t = self.data, self.model, self.train
        if self.profile not in PROFILES:
            raise ConfigError(f"profile={self.profile!r}: choose one of {', '.join(PROFILES)}")
        if t.recipe not in RECIPES:
            raise ConfigError(f"train.recipe={t.recipe!r}: choose one of {', '.join(RECIPES)}")
        for name, chans in (("model.enc_channels", m.enc_channels), ("model.dec_channels", m.dec_channels),
                            ("model.disc_channels", m.disc_channels)):
            if (not isinstance(chans, (tuple, list)) or not chans
                    or any(not _is_int(c) or c <= 0 for c in chans)):
                raise ConfigError(f"{name}={chans!r}: must be positive integers")
        min_side = 2 ** len(m.enc_channels) + 1
        for name in ("height", "width"):
            v = getattr(d, name)
            if not isinstance(v, int) or v < min_side:
                raise ConfigError(
                    f"data.{name}={v!r}: the encoder halves the image {len(m.enc_channels)} times, "
                    f"so it needs at least {min_side} pixels"
                )
        positive = {
            "data.n_train": d.n_train, "data.n_test": d.n_test, "model.latent_dim": m.latent_dim,
            "model.disc_hidden": m.disc_hidden, "train.steps": t.steps, "train.batch_size": t.batch_size,
            "train.log_every": t.log_every, "train.snapshot_every": t.snapshot_every,
            "train.checkpoint_every": t.checkpoint_every, "train.n_fixed": t.n_fixed,
        }
        for name, v in positive.items():
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ConfigError(f"{name}={v!r}: must be a positive integer")
        if len(m.dec_channels) != len(m.enc_channels) + 1:
            raise ConfigError(
                f"model.dec_channels={m.dec_channels!r}: needs one more entry than enc_channels "
                f"({len(m.enc_channels)}), one per upsampling block plus the input width"
            )
        if len(m.disc_channels) != 4:
            raise ConfigError(f"model.disc_channels={m.disc_channels!r}: the discriminator has 4 convolutions")
        if not (_is_number(t.lr) and math.isfinite(t.lr) and 0 < t.lr <= MAX_LR):
            # Above MAX_LR, Adam's step size overflows float32 and torch raises instead of diverging.
            raise ConfigError(f"train.lr={t.lr!r}: must be a positive number, at most {MAX_LR:g}")
        for name in ("lr_factor_encoder", "lr_factor_disc", "lr_factor_bn"):
            f = getattr(t, name)
            if not (_is_number(f) and math.isfinite(f) and 0 < f * t.lr <= MAX_LR):
                raise ConfigError(f"train.{name}={f!r}: must be a positive number (times lr at most {MAX_LR:g})")
        if not t.lr * t.lr_factor_encoder * t.lr_factor_bn <= MAX_LR:  # the BN head's own rate
            raise ConfigError(f"train.lr_factor_bn={t.lr_factor_bn!r}: times lr and lr_factor_encoder at most {MAX_LR:g}")
        has_bn_scale = t.recipe == "aegan_bn" and m.bn_affine
        for name, v, default in (("train.lr_factor_bn", t.lr_factor_bn, 1.0),
                                 ("model.bn_scale_init", m.bn_scale_init, "ones")):
            if v != default and not has_bn_scale:
                raise ConfigError(f"{name}={v!r}: only the BN cheat (aegan_bn) with model.bn_affine has BN's scale")
        if not (isinstance(t.beta, (int, float)) and math.isfinite(t.beta) and t.beta >= 0):
            raise ConfigError(f"train.beta={t.beta!r}: must be a number >= 0")
        _check_adaptive(t)
        if not (isinstance(t.recon_weight, (int, float)) and math.isfinite(t.recon_weight) and t.recon_weight >= 0):
            raise ConfigError(f"train.recon_weight={t.recon_weight!r}: must be a number >= 0")
        if not isinstance(t.fakes, bool):
            raise ConfigError(f"train.fakes={t.fakes!r}: must be true or false")
        if t.snapshot_every % t.log_every:
            raise ConfigError(
                f"train.snapshot_every={t.snapshot_every}: must be a multiple of train.log_every={t.log_every}"
            )
        self._check_choices()
        if not (_is_number(d.test_fraction) and 0.0 < d.test_fraction < 1.0):
            raise ConfigError(f"data.test_fraction={d.test_fraction!r}: must be between 0 and 1")
        if not isinstance(d.source, str) or not d.source:
            raise ConfigError(f"data.source={d.source!r}: must be a string: 'turf' or the path of your footage")
        for name, v in (("data.seed", d.seed), ("train.seed", t.seed)):
            if not _is_int(v):
                raise ConfigError(f"{name}={v!r}: must be an integer")
        if not isinstance(t.channels_last, bool):
            raise ConfigError(f"train.channels_last={t.channels_last!r}: must be true or false")
        if not _is_int(t.num_threads) or t.num_threads < 0:
            raise ConfigError(f"train.num_threads={t.num_threads!r}: must be an integer >= 0 (0: torch's default)")
        for name, v in (("data.keyframes", d.keyframes), ("model.bn_affine", m.bn_affine)):
            if not isinstance(v, bool):
                raise ConfigError(f"{name}={v!r}: must be true or false")
        return self

    def _check_choices(self) -> None:
        for (section, name), options in CHOICES.items():
            v = getattr(getattr(self, section), name)
            if v not in options:
                raise ConfigError(f"{section}.{name}={v!r}: choose {', '.join(options[:-1])} or {options[-1]}")


# Fields that take one of a few words, with the words.
CHOICES = {("train", "kld_reduction"): ("sum", "mean"), ("train", "recon_reduction"): ("sum", "mean"),
           ("train", "device"): ("auto", "cpu", "cuda", "mps"), ("train", "compile"): ("auto", "on", "off"),
           ("model", "bn_scale_init"): ("ones", "uniform")}


def plain(cfg: RunConfig) -> dict[str, Any]:
    """``cfg`` as JSON gives it back (tuples become lists): the form that run records compare."""
    return json.loads(json.dumps(cfg.to_dict()))


# Fields added after runs were recorded, with the value that reproduces what those runs did. Only
# these are filled in when an older record is compared: a default that changed the math (as
# kld_reduction's "mean" once did) must not let an old record pass for a new run.
ADDED_FIELDS = {("train", "lr_factor_encoder"): 1.0, ("train", "lr_factor_disc"): 1.0, ("train", "fakes"): True,
                ("model", "bn_scale_init"): "ones", ("train", "lr_factor_bn"): 1.0,
                # read by vaegan_adaptive only, which came after them
                ("train", "beta_target"): 0.1, ("train", "beta_step"): 0.1, ("train", "stats_momentum"): 0.1}


def stored(saved: Any) -> dict[str, Any] | None:
    """A config as stored in a run record, in ``plain`` form, with ADDED_FIELDS filled in where the
    record predates them; None if it is not a mapping of sections."""
    if not isinstance(saved, dict):
        return None
    try:
        out = json.loads(json.dumps(saved))  # a copy, in plain form
    except (TypeError, ValueError):
        return None
    for (section, name), old in ADDED_FIELDS.items():
        if isinstance(out.get(section), dict):
            out[section].setdefault(name, old)
    return out


def _check_adaptive(t: TrainConfig) -> None:
    """The adaptive beta's settings (TrainConfig says what each does)."""
    for name, v, ok, rule in (("beta_target", t.beta_target, lambda v: v > 0, "> 0"),
                              ("beta_step", t.beta_step, lambda v: v >= 0, ">= 0"),
                              ("stats_momentum", t.stats_momentum, lambda v: 0 <= v < 1, "in [0, 1)")):
        if not (_is_number(v) and math.isfinite(v) and ok(v)):
            raise ConfigError(f"train.{name}={v!r}: must be a number {rule}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_keys(where: str, d: dict, known: set[str]) -> None:
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")


# --- scaling rules --------------------------------------------------------------------------------
# A profile shrinks the original by structure, not by one width factor (docs/scaling.md measures why):
# 1. D sees the whole frame. Its convolutions are linear, so feature matching sees only the row space
#    of one matrix A. After a total stride s, a layer of c channels holds c values per s x s x 3 patch
#    of the frame, so A can be injective only if c >= 3 s^2 at every layer (s = 1, 2, 4, 8). The
#    original's 32-128-256-256 passes; the old full profile's last 64 channels left 63% of a frame's
#    variance invisible.
# 2. The latent's share of the frame, and the latent's share of the decoder's first map, stay within
#    a factor of about 2.5 of the original's (1024 / 23,595 values; 1024 / 36,864).
# 3. D's hidden layer survives its first steps. At lr 1e-3 about three in four hidden ReLUs die within
#    80 steps whatever the width, so it takes enough of them that some always live: with 64, every
#    unit died in 2 of 16 seeds; with 256, none of 16 lost more than 94% (the original has 512).
DISC_STRIDES = (1, 2, 4, 8)
VAE_STEP_FACTOR = 2  # full profile: the VAE trains this many times the GANs' steps
# The beta sweep's runs (notebook 03, claims 4 and 6) are this share of the profile's steps; beta 1 is
# the main vaegan run read over as many. The blog's sweep ran as long as its main run; half is what
# a laptop affords once notebook 02 has trained the main run and the decoder-only fix.
SWEEP_SHARE = 1 / 2
ORIGINAL_LATENT_SHARE = 1024 / (3 * 65 * 121)
ORIGINAL_LATENT_PER_MAP = 1024 / (256 * 9 * 16)
SHARE_TOLERANCE = 2.5
MIN_DISC_HIDDEN = 256
# 4. D keeps a margin over rule 1, as the original does (10.7, 10.7, 5.3 and 1.33 times the minimum at
#    its four layers). At exactly the minimum feature matching lost the decoder's tug of war to the
#    adversarial terms on four seeds of five, and the BN cheat stayed blurry (docs/scaling.md, "The
#    decoder's tug of war"). Twice the minimum before the last layer, and the original's 4/3 at the last.
DISC_MARGINS = (2.0, 2.0, 2.0, 4 / 3)


@dataclass(frozen=True)
class RuleCheck:
    rule: str
    value: float
    bound: str
    ok: bool


def scaling_checks(cfg: RunConfig) -> list[RuleCheck]:
    """Each scaling rule, measured on ``cfg``: what it requires and whether the config meets it."""
    from .models import encoder_sizes  # models imports config; a local import keeps config standalone

    m, d = cfg.model, cfg.data
    out = [RuleCheck(f"D layer {i + 1} channels (stride {s})", c, f">= 3 x {s}^2 = {3 * s * s}", c >= 3 * s * s)
           for i, (c, s) in enumerate(zip(m.disc_channels, DISC_STRIDES, strict=True))]
    h, w = encoder_sizes(d.height, d.width, len(m.enc_channels))[-1]
    for name, value, ref in (
        ("latent / frame values", m.latent_dim / (3 * d.height * d.width), ORIGINAL_LATENT_SHARE),
        ("latent / decoder's first map", m.latent_dim / (m.dec_channels[0] * h * w), ORIGINAL_LATENT_PER_MAP),
    ):
        lo, hi = ref / SHARE_TOLERANCE, ref * SHARE_TOLERANCE
        out.append(RuleCheck(name, value, f"{lo:.4f}..{hi:.4f} (original {ref:.4f})", lo <= value <= hi))
    out.append(RuleCheck("D hidden units", m.disc_hidden, f">= {MIN_DISC_HIDDEN}", m.disc_hidden >= MIN_DISC_HIDDEN))
    out += [RuleCheck(f"D layer {i + 1} margin over 3 x {s}^2", c / (3 * s * s), f">= {k:.2f}", c >= k * 3 * s * s)
            for i, (c, s, k) in enumerate(zip(m.disc_channels, DISC_STRIDES, DISC_MARGINS, strict=True))]
    return out


def _profile_base(profile: str) -> RunConfig:
    if profile == "full":
        # 24x40 frames, D wide enough to see all of them, latent 64, 3,000 steps at lr 1e-3: the
        # dataclass defaults above (docs/scaling.md). About 8 minutes per GAN run on one CPU core.
        return RunConfig(profile="full")
    if profile == "ci":
        # full's image size and model, a much shorter run: seconds per notebook.
        return RunConfig(
            profile="ci",
            data=DataConfig(n_train=256, n_test=64),
            # No torch.compile: a cold compile (~30 s) costs more than these short runs take.
            train=TrainConfig(steps=24, log_every=2, snapshot_every=8, checkpoint_every=12, n_fixed=16,
                              compile="off"),
        )
    if profile == "blog":
        # The original sizes (65x121, latent 1024, full widths, batch 64, lr 1e-4): for a GPU.
        return RunConfig(
            profile="blog",
            data=DataConfig(height=65, width=121, n_train=40620, n_test=4056),
            model=ModelConfig(
                latent_dim=1024, enc_channels=(64, 128, 256), dec_channels=(256, 256, 128, 64),
                disc_channels=(32, 128, 256, 256), disc_hidden=512,
            ),
            train=TrainConfig(steps=20000, batch_size=64, lr=1e-4, log_every=50, snapshot_every=500,
                              checkpoint_every=1000),
        )
    raise ConfigError(f"profile={profile!r}: choose one of {', '.join(PROFILES)}")


def sweep_steps(profile: str | None = None) -> int:
    """Steps of each beta-sweep run in ``profile`` (default: the current one)."""
    return round(_profile_base(profile or current_profile()).train.steps * SWEEP_SHARE)


def current_profile() -> str:
    """The profile named by VAEGAN_PROFILE, or the default ('full')."""
    p = os.environ.get("VAEGAN_PROFILE", "").strip() or DEFAULT_PROFILE
    if p not in PROFILES:
        raise ConfigError(f"VAEGAN_PROFILE={p!r}: choose one of {', '.join(PROFILES)}")
    return p


BLOG_LR = 1e-4  # the original's learning rate, at which its settings below were tuned
ADAPTIVE_BETA_INIT = 10.0
ADAPTIVE_BETA_STEP = 0.1  # per step, at BLOG_LR


def current_seed() -> int:
    """The training seed named by VAEGAN_SEED, or 0: the seed of the stored notebooks and of
    docs/phenomena.md's first column. Another seed is another trajectory, as another CPU gives."""
    v = os.environ.get("VAEGAN_SEED", "").strip() or "0"
    if not v.isdigit():
        raise ConfigError(f"VAEGAN_SEED={v!r}: expected a whole number such as 1")
    return int(v)


def make_config(recipe: str = "vae", profile: str | None = None, **overrides: Any) -> RunConfig:
    """The profile's config for a recipe, with overrides given as ``section__field=value`` or ``field=value``.

    A bare field name is looked up in train, then model, then data.
    """
    cfg = _profile_base(profile or current_profile())
    cfg.train.recipe = recipe
    if recipe == "vae" and cfg.profile == "full":
        # The VAE's pixel error settles within 3,000 steps but its KLD still climbs ~10% over the last
        # fifth (docs/phenomena.md, claim 1); a VAE step costs a quarter of a GAN step, so it gets more.
        cfg.train.steps *= VAE_STEP_FACTOR
    # The VAE-GAN and its fix train without fakes, as the blog's did from part 2 on; the BN cheat with
    # them (TrainConfig.fakes says why).
    cfg.train.fakes = recipe not in ("vaegan", "vaegan_decoder_fm")
    if recipe == "vaegan_adaptive":
        # The original's last settings (2019-05-28, ../shared/BLOG.md): beta from 10, step 0.1 at lr
        # 1e-4, target 0.1 per dimension, momentum 0.1. The step follows the lr: at ten times the rate the
        # encoder answers a change of beta about ten times as fast per step, so the controller must too
        # for its loop to take the same share of a run ten times shorter (docs/adaptive_beta.md).
        cfg.train.beta = ADAPTIVE_BETA_INIT
        cfg.train.beta_step = ADAPTIVE_BETA_STEP * cfg.train.lr / BLOG_LR
    for key, value in overrides.items():
        if "__" in key:
            section, name = key.split("__", 1)
            target = getattr(cfg, section, None)
            if target is None or not hasattr(target, name):
                raise ConfigError(f"unknown config field {section}.{name}")
        else:
            name = key
            target = next((s for s in (cfg.train, cfg.model, cfg.data) if hasattr(s, name)), None)
            if target is None:
                raise ConfigError(f"unknown config field {key!r}")
        setattr(target, name, tuple(value) if isinstance(value, list) else value)
    return cfg.validate()
