"""One training step per recipe, each mirroring the blog's equations and sub-step order.

The GAN recipes follow the part-3 structure (after PyTorch's DCGAN example): every loss is computed
and stepped in its own sub-step with its own optimizer, in this order: D on real, D on recon, G on
recon, D on fake, G on fake (where ``train.fakes``: the BN cheat), feature matching, KLD. A step returns its metrics as 0-d tensors, so
the loop only synchronises with the device on the steps it logs.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from .adaptive import AdaptiveBeta
from .config import RunConfig
from .losses import (
    bce_logits,
    feature_matching,
    kld_batch,
    kld_per_sample,
    pixel_error,
    reconstruction_sum,
)
from .models import Decoder, Discriminator, Encoder, reparameterize

GAN_RECIPES = ("vaegan", "vaegan_decoder_fm", "aegan_bn", "vaegan_adaptive")
NAN = float("nan")


@dataclass
class Trainee:
    """The networks of one run and an Adam optimizer for each (the original used three)."""

    encoder: Encoder
    decoder: Decoder
    discriminator: Discriminator | None
    opt_e: torch.optim.Optimizer
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer | None
    controller: AdaptiveBeta | None = None  # vaegan_adaptive's beta and moving statistics

    def modules(self) -> dict[str, nn.Module]:
        mods = {"encoder": self.encoder, "decoder": self.decoder}
        if self.discriminator is not None:
            mods["discriminator"] = self.discriminator
        return mods

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        opts = {"encoder": self.opt_e, "decoder": self.opt_g}
        if self.opt_d is not None:
            opts["discriminator"] = self.opt_d
        return opts

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent codes as the recipe samples them: z ~ q(z|x), or the BN head's output."""
        mean, logvar = self.encoder(x)
        return mean if logvar is None else reparameterize(mean, logvar)


def build(cfg: RunConfig, device: torch.device | str = "cpu") -> Trainee:
    """Fresh networks and optimizers for ``cfg``; call after seeding torch."""
    m, d, t = cfg.model, cfg.data, cfg.train
    enc = Encoder(m, d.height, d.width, variational=t.recipe != "aegan_bn").to(device)
    dec = Decoder(m, d.height, d.width).to(device)
    disc = Discriminator(m, d.height, d.width).to(device) if t.recipe in GAN_RECIPES else None

    # fused: one kernel per optimizer step instead of a loop over tensors, ~8% of a CPU GAN step
    # (docs/performance.md); it rounds differently from the loop, so it is part of the profile's runs.
    fused = torch.device(device).type in ("cpu", "cuda")

    def adam(net, factor=1.0):
        return torch.optim.Adam(net.parameters(), lr=t.lr * factor, fused=fused)

    if t.lr_factor_bn == 1.0:
        opt_e = adam(enc, t.lr_factor_encoder)
    else:  # the BN head's scale and shift in a slower group of their own
        bn = list(enc.head[1].parameters())
        bn_ids = {id(p) for p in bn}
        lr_e = t.lr * t.lr_factor_encoder
        opt_e = torch.optim.Adam([{"params": [p for p in enc.parameters() if id(p) not in bn_ids]},
                                  {"params": bn, "lr": lr_e * t.lr_factor_bn}], lr=lr_e, fused=fused)
    controller = (AdaptiveBeta(t.beta, t.beta_target, t.beta_step, t.stats_momentum, device)
                  if t.recipe == "vaegan_adaptive" else None)
    return Trainee(enc, dec, disc, opt_e, adam(dec), adam(disc, t.lr_factor_disc) if disc is not None else None,
                   controller)


COMPILE_MIN_STEPS = 100  # below this the ~30 s first compile costs more than the ~15% per step it saves


def compile_pays(setting: str, steps: int, device: torch.device) -> bool:
    """Resolve ``TrainConfig.compile``: "on", "off", or "auto" (runs of 100 steps or more, on CUDA)."""
    if setting != "auto":
        return setting == "on"
    # On a CPU the compiled decoder was 0-5% faster at the full profile's widths and nothing on one
    # thread, for ~30 s of compiling per run (docs/performance.md): not worth it.
    return steps >= COMPILE_MIN_STEPS and device.type == "cuda"


def speed_up(t: Trainee, channels_last: bool = True, compile: bool = False) -> torch.memory_format:
    """Apply the speed-only settings to ``t``; returns the memory format its input batches should use.

    channels_last stores activations as NHWC, which oneDNN (CPU) and cuDNN convolve without the
    layout conversions NCHW needs. ``compile`` hands the decoder, the costliest network, to
    torch.compile; if compiling fails (no C++ compiler, say) torch runs it eagerly instead.
    """
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for net in t.modules().values():
        net.to(memory_format=fmt)
    if compile:
        from torch import _dynamo

        _dynamo.config.suppress_errors = True  # fall back to eager rather than stop training
        # Without CUDA, torch's C++ builder logs a warning that means nothing on a CPU-only laptop.
        logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
        t.decoder.compile()
    return fmt


@contextmanager
def frozen(net: nn.Module):
    """Treat ``net``'s weights as constants: gradients still flow through it, but none are stored.

    While the decoder learns from D's verdict, D's own weight gradients would be computed and then
    thrown away; skipping them is pure savings and changes no update.
    """
    flags = [p.requires_grad for p in net.parameters()]
    net.requires_grad_(False)
    try:
        yield net
    finally:
        for p, f in zip(net.parameters(), flags, strict=True):
            p.requires_grad_(f)


def _z_stats(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    norms = z.detach().norm(dim=1)
    return norms.mean(), norms.std()


def vae_step(t: Trainee, x: torch.Tensor, beta: float, reduction: str = "sum",
             metrics: bool = True) -> dict[str, torch.Tensor | float]:
    """(1) Update E and G: minimise sum_pixels ||x - G(z)||^2 + beta * KLD(q(z|x) || N(0, I)).

    ``reduction="mean"`` averages the squared error over pixels instead, the pitfall notebook 01 shows.
    """
    mean, logvar = t.encoder(x)
    z = reparameterize(mean, logvar)
    x_hat = t.decoder(z)
    # Summed per sample, not averaged: with a per-pixel mean the KLD outweighs the reconstruction
    # and the posterior collapses to the mean frame.
    kld = kld_per_sample(mean, logvar).mean()
    recon = reconstruction_sum(x_hat, x) if reduction == "sum" else pixel_error(x_hat, x)
    loss = recon + beta * kld
    t.opt_e.zero_grad(set_to_none=True)
    t.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    t.opt_e.step()
    t.opt_g.step()
    if not metrics:
        return {}
    with torch.no_grad():
        zn_mean, zn_std = _z_stats(z)
        return {
            "kld": kld.detach() / z.shape[1], "kld_batch": kld_batch(z.detach()),
            "pixel": pixel_error(x_hat.detach(), x), "z_norm_mean": zn_mean, "z_norm_std": zn_std,
        }


def gan_step(t: Trainee, x: torch.Tensor, beta: float, fm_into_encoder: bool,
             recon_weight: float = 0.0, kld_reduction: str = "sum", fakes: bool = True,
             metrics: bool = True, kld_step: bool = True) -> dict[str, torch.Tensor | float]:
    """One step of the VAE-GAN family: the mistaken recipe, the decoder-only fix, and the BN cheat.

    ``recon_weight`` > 0 adds that weight times the pixel MSE of the same reconstruction to the
    feature-matching loss of sub-step (6) (the blog's part-4 "reconstruction beside feature matching");
    0, the default, is the blog's recipe as written. ``fakes=False`` skips sub-steps (4)-(5), as the
    blog's VAE-GAN did from its part 2 on (``config.TrainConfig.fakes``). ``metrics=False`` skips the monitoring (the loop
    asks only on the steps it logs). Each forward runs once: the reconstruction serves D, G and the
    pixel metric, and the first encoding serves feature matching and the KLD wherever E has not changed.
    ``kld_step=False`` leaves sub-step (7) to the caller (``adaptive_step``).
    """
    E, G, D = t.encoder, t.decoder, t.discriminator
    variational = E.variational

    mean, logvar = E(x)
    z = reparameterize(mean, logvar) if variational else mean
    z_fixed = z.detach()  # the GAN sub-steps train the decoder alone
    x_rec = G(z_fixed)
    noise = torch.randn_like(z_fixed)

    # (1) Update D on real: maximise log D(x)
    t.opt_d.zero_grad(set_to_none=True)
    logit_real, _ = D(x)
    loss_d_real = bce_logits(logit_real, 1.0)
    loss_d_real.backward()
    t.opt_d.step()

    # (2) Update D on reconstructions: maximise log(1 - D(G(z|x)))
    t.opt_d.zero_grad(set_to_none=True)
    loss_d_rec = bce_logits(D(x_rec.detach())[0], 0.0)
    loss_d_rec.backward()
    t.opt_d.step()

    # (3) Update G on reconstructions: maximise log D(G(z|x))
    t.opt_g.zero_grad(set_to_none=True)
    with frozen(D):
        loss_g_rec = bce_logits(D(x_rec)[0], 1.0)
        loss_g_rec.backward()
    t.opt_g.step()

    # (4)-(5) D and G on fakes from N(0, I), where the recipe trains on them
    no_fakes = (torch.zeros(()), torch.zeros(()), None)
    loss_d_fake, loss_g_fake, logit_fake = fake_steps(t, noise) if fakes else no_fakes

    # (6) Feature matching: minimise ||phi(G(z|x)) - phi(x)||^2 over G, and over E in the mistaken
    # recipe and the BN cheat. The discriminator amplifies differences, and through E this term
    # drags the codes away from N(0, I).
    loss_fm = _feature_matching_step(t, x, z if fm_into_encoder else z_fixed, recon_weight, fm_into_encoder)

    # (7) Update E: minimise beta * KLD(q(z|x) || N(0, I)), variational recipes only.
    kld = torch.tensor(NAN)
    if variational and kld_step:
        kld = _kld_step(t, x, mean, logvar, beta, kld_reduction, encoder_changed=fm_into_encoder)

    if not metrics:
        return {}
    with torch.no_grad():
        if logit_fake is None:  # D's view of the fakes is still worth watching when it does not train on them
            logit_fake = D(G(noise))[0]
        zn_mean, zn_std = _z_stats(z)
        return {
            "kld": kld, "kld_batch": kld_batch(z_fixed), "pixel": pixel_error(x_rec.detach(), x),
            "fm": loss_fm.detach(), "d_loss": (loss_d_real + loss_d_rec + loss_d_fake).detach(),
            "g_loss": (loss_g_rec + loss_g_fake).detach(),
            "d_real": torch.sigmoid(logit_real.detach()).mean(),
            "d_fake": torch.sigmoid(logit_fake.detach()).mean(),
            "z_norm_mean": zn_mean, "z_norm_std": zn_std,
        }


def fake_steps(t: Trainee, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sub-steps (4) and (5) of ``gan_step``; returns D's and G's losses on the fakes and D's logits."""
    G, D = t.decoder, t.discriminator
    # (4) Update D on fakes: maximise log(1 - D(G(z))), z ~ N(0, I), decoded by the updated G
    x_fake = G(noise)
    t.opt_d.zero_grad(set_to_none=True)
    logit_fake, _ = D(x_fake.detach())
    loss_d_fake = bce_logits(logit_fake, 0.0)
    loss_d_fake.backward()
    t.opt_d.step()

    # (5) Update G on fakes: maximise log D(G(z))
    t.opt_g.zero_grad(set_to_none=True)
    with frozen(D):
        loss_g_fake = bce_logits(D(x_fake)[0], 1.0)
        loss_g_fake.backward()
    t.opt_g.step()
    return loss_d_fake, loss_g_fake, logit_fake


def _feature_matching_step(t: Trainee, x: torch.Tensor, z: torch.Tensor, recon_weight: float,
                           into_encoder: bool) -> torch.Tensor:
    """Sub-step (6) of ``gan_step`` on codes ``z`` (detached unless ``into_encoder``); returns the loss."""
    D = t.discriminator
    with torch.no_grad():
        phi_real = D.features(x)
    x_rec_fm = t.decoder(z)
    t.opt_g.zero_grad(set_to_none=True)
    t.opt_e.zero_grad(set_to_none=True)
    with frozen(D):
        loss_fm = feature_matching(D.features(x_rec_fm), phi_real)
        if recon_weight:
            (loss_fm + recon_weight * pixel_error(x_rec_fm, x)).backward()
        else:
            loss_fm.backward()
    t.opt_g.step()
    if into_encoder:
        t.opt_e.step()
    return loss_fm


def _kld_step(t: Trainee, x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor, beta: float,
              kld_reduction: str, encoder_changed: bool) -> torch.Tensor:
    """Sub-step (7) of ``gan_step``: minimise beta * KLD over E; returns the KLD per latent dimension.

    When feature matching reached E in (6), E has changed since the first encoding, so its codes are
    recomputed.
    """
    if encoder_changed:
        mean, logvar = t.encoder(x)
    kld = kld_per_sample(mean, logvar).mean()
    # "mean" averages over latent dimensions as well: a pull d times weaker than the sum's.
    kld_loss = kld / mean.shape[1] if kld_reduction == "mean" else kld
    t.opt_e.zero_grad(set_to_none=True)
    (beta * kld_loss).backward()
    t.opt_e.step()
    return kld.detach() / mean.shape[1]


def adaptive_step(t: Trainee, x: torch.Tensor, fakes: bool = True, metrics: bool = True) -> dict[str, torch.Tensor | float]:
    """The blog's part 5: the VAE-GAN's sub-steps (1)-(6), feature matching into E and G, then a KLD
    sub-step whose beta follows the batch KLD (``adaptive.AdaptiveBeta``)."""
    c = t.controller
    out = gan_step(t, x, 0.0, fm_into_encoder=True, fakes=fakes, metrics=metrics, kld_step=False)

    # (7) Update E: minimise beta * KLD(N(batch mean, batch var) of sampled codes || N(0, 1)), per
    # dimension, on moving statistics. E has changed in (6), so it encodes and samples again.
    mean, logvar = t.encoder(x)
    kld = c.kld(reparameterize(mean, logvar))
    beta = c.beta
    t.opt_e.zero_grad(set_to_none=True)
    (beta * kld).backward()
    t.opt_e.step()

    # (8) Adapt: beta <- max(1e-3, beta + step * (KLD - target))
    c.update(kld)
    if metrics:
        with torch.no_grad():
            out.update(beta=beta, kld_held=kld.detach(), kld=kld_per_sample(mean, logvar).mean() / mean.shape[1])
    return out


def step(recipe: str, t: Trainee, x: torch.Tensor, beta: float,
         reduction: str = "sum", recon_weight: float = 0.0,
         kld_reduction: str = "sum", fakes: bool = True, metrics: bool = True) -> dict[str, torch.Tensor | float]:
    """Dispatch one training step of ``recipe``."""
    if recipe == "vae":
        return vae_step(t, x, beta, reduction, metrics=metrics)
    if recipe == "vaegan_adaptive":
        return adaptive_step(t, x, fakes=fakes, metrics=metrics)
    if recipe in GAN_RECIPES:
        # The mistaken recipe and the BN cheat let feature matching reach the encoder; the fix does not.
        return gan_step(t, x, beta, fm_into_encoder=recipe != "vaegan_decoder_fm", recon_weight=recon_weight,
                        kld_reduction=kld_reduction, fakes=fakes, metrics=metrics)
    raise ValueError(f"unknown recipe {recipe!r}")
