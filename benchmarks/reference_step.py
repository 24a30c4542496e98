"""The reference trainer: one training step with the structure of the original code, for benchmarks.

Same models, batch, losses, sub-step order and optimizer steps as ``vaegan_nb.recipes.step``, so it
produces the same parameters (``tests/test_step_equivalence.py`` checks that). What it keeps from the
original is the *structure* of its step, in which every part computes what it needs afresh:

- the autoencoder forward E -> G runs again in the GAN part, in the feature-matching part and for the
  pixel metric (under autograd, as plain code does);
- the encoder runs again for the KLD, or for the BN cheat's batch KLD;
- the discriminator is called as a whole (logit and features) in five separate passes for the GAN
  sub-steps, and twice more for feature matching; its weights are never frozen, so every decoder
  update also computes discriminator weight gradients that the next ``zero_grad`` throws away;
- every metric is read with ``.item()`` on every step.

The reparameterisation noise is drawn once per step and reused by each recomputation, so that a
recomputation returns exactly what the first forward did; a naive re-sample would change the math.

Not part of the package: nothing in ``vaegan_nb`` imports it.
"""

from __future__ import annotations

import torch

from vaegan_nb.losses import bce_logits, feature_matching, kld_batch, kld_per_sample, pixel_error
from vaegan_nb.recipes import Trainee


def _encode(t: Trainee, x: torch.Tensor, eps: torch.Tensor | None):
    mean, logvar = t.encoder(x)
    z = mean if logvar is None else mean + eps * torch.exp(0.5 * logvar)
    return z, mean, logvar


def reference_gan_step(t: Trainee, x: torch.Tensor, beta: float, fm_into_encoder: bool,
                       recon_weight: float = 0.0, kld_reduction: str = "sum", fakes: bool = True,
                       kld_step: bool = True) -> dict[str, float]:
    """One VAE-GAN-family step, original structure; same updates as ``recipes.gan_step``."""
    E, G, D = t.encoder, t.decoder, t.discriminator
    d = E.latent_dim
    b = x.shape[0]
    # Random draws in the same order as recipes.gan_step: reparameterisation noise, then z ~ N(0, I).
    eps = torch.randn(b, d, device=x.device) if E.variational else None
    noise = torch.randn(b, d, device=x.device)

    # Pixel metric and batch KLD: their own autoencoder forward (before any update, like ours).
    z_m, _, _ = _encode(t, x, eps)
    pixel = pixel_error(G(z_m), x).item()
    out = {"kld_batch": kld_batch(z_m.detach()).item()}

    # GAN part: its own autoencoder forward.
    z, _, _ = _encode(t, x, eps)
    x_rec = G(z.detach())

    # (1) Update D on real: maximise log D(x)
    t.opt_d.zero_grad()
    logit_real, _ = D(x)
    loss_d_real = bce_logits(logit_real, 1.0)
    loss_d_real.backward()
    t.opt_d.step()

    # (2) Update D on reconstructions: maximise log(1 - D(G(z|x)))
    t.opt_d.zero_grad()
    loss_d_rec = bce_logits(D(x_rec.detach())[0], 0.0)
    loss_d_rec.backward()
    t.opt_d.step()

    # (3) Update G on reconstructions: maximise log D(G(z|x)); D's weight gradients computed and unused
    t.opt_g.zero_grad()
    loss_g_rec = bce_logits(D(x_rec)[0], 1.0)
    loss_g_rec.backward()
    t.opt_g.step()

    loss_d_fake = loss_g_fake = torch.zeros(())
    if fakes:
        # (4) Update D on fakes: maximise log(1 - D(G(z))), z ~ N(0, I)
        x_fake = G(noise)
        t.opt_d.zero_grad()
        logit_fake, _ = D(x_fake.detach())
        loss_d_fake = bce_logits(logit_fake, 0.0)
        loss_d_fake.backward()
        t.opt_d.step()

        # (5) Update G on fakes: maximise log D(G(z))
        t.opt_g.zero_grad()
        loss_g_fake = bce_logits(D(x_fake)[0], 1.0)
        loss_g_fake.backward()
        t.opt_g.step()

    # (6) Feature matching: its own autoencoder forward and two whole discriminator passes
    z_f, _, _ = _encode(t, x, eps)
    x_rec_f = G(z_f if fm_into_encoder else z_f.detach())
    _, phi_real = D(x)
    _, phi_rec = D(x_rec_f)
    t.opt_g.zero_grad()
    t.opt_e.zero_grad()
    loss_fm = feature_matching(phi_rec, phi_real.detach())
    (loss_fm + recon_weight * pixel_error(x_rec_f, x) if recon_weight else loss_fm).backward()
    t.opt_g.step()
    if fm_into_encoder:
        t.opt_e.step()

    # (7) Update E: minimise beta * KLD(q(z|x) || N(0, I)), with the encoder run once more
    if E.variational and kld_step:
        _, mean, logvar = _encode(t, x, eps)
        kld = kld_per_sample(mean, logvar).mean()
        t.opt_e.zero_grad()
        (beta * (kld / d if kld_reduction == "mean" else kld)).backward()
        t.opt_e.step()
        out["kld"] = kld.item() / d
    if not fakes:  # D's view of the fakes is monitored all the same, as recipes.gan_step does
        with torch.no_grad():
            logit_fake = D(G(noise))[0]
    norms = z.detach().norm(dim=1)
    out.update(
        pixel=pixel, fm=loss_fm.item(), d_loss=(loss_d_real + loss_d_rec + loss_d_fake).item(),
        g_loss=(loss_g_rec + loss_g_fake).item(), d_real=torch.sigmoid(logit_real).mean().item(),
        d_fake=torch.sigmoid(logit_fake).mean().item(), z_norm_mean=norms.mean().item(),
        z_norm_std=norms.std().item(),
    )
    return out


def reference_vae_step(t: Trainee, x: torch.Tensor, beta: float, reduction: str = "sum") -> dict[str, float]:
    """The VAE step, with the pixel metric from its own forward and every metric read each step."""
    b, d = x.shape[0], t.encoder.latent_dim
    eps = torch.randn(b, d, device=x.device)
    z_m, _, _ = _encode(t, x, eps)
    pixel = pixel_error(t.decoder(z_m), x).item()  # the metric's own forward
    z, mean, logvar = _encode(t, x, eps)
    x_hat = t.decoder(z)
    kld = kld_per_sample(mean, logvar).mean()
    if reduction == "sum":
        recon = (x_hat - x).pow(2).flatten(1).sum(dim=1).mean()
    else:
        recon = pixel_error(x_hat, x)
    t.opt_e.zero_grad()
    t.opt_g.zero_grad()
    (recon + beta * kld).backward()
    t.opt_e.step()
    t.opt_g.step()
    return {"kld": kld.item() / d, "pixel": pixel}


def reference_adaptive_step(t: Trainee, x: torch.Tensor, fakes: bool = True) -> dict[str, float]:
    """The adaptive beta's step: the GAN part as above, then its KLD sub-step written out in full."""
    out = reference_gan_step(t, x, 0.0, True, fakes=fakes, kld_step=False)
    c, d = t.controller, t.encoder.latent_dim
    # (7) The encoder samples afresh; the KLD of the codes' batch statistics, mixed with the last step's
    eps = torch.randn(x.shape[0], d, device=x.device)
    z, _, _ = _encode(t, x, eps)
    m, v = z.mean(dim=0), z.var(dim=0, unbiased=False)
    if c.mean is not None and c.momentum:
        m, v = c.momentum * c.mean + (1 - c.momentum) * m, c.momentum * c.var + (1 - c.momentum) * v
    kld = (-0.5 * (1 + torch.log(v + 1e-8) - m.pow(2) - v)).mean()
    t.opt_e.zero_grad()
    (c.beta * kld).backward()
    t.opt_e.step()
    # (8) beta <- max(1e-3, beta + step * (KLD - target)), and the statistics kept for the next step
    out["beta"] = c.beta.item()
    c.mean, c.var = m.detach(), v.detach()
    c.beta = torch.clamp(c.beta + c.step * (kld.detach() - c.target), min=1e-3)
    out["kld_held"] = kld.item()
    return out


def reference_step(recipe: str, t: Trainee, x: torch.Tensor, beta: float, reduction: str = "sum",
                   recon_weight: float = 0.0, kld_reduction: str = "sum", fakes: bool = True) -> dict[str, float]:
    """Dispatch like ``recipes.step``."""
    if recipe == "vae":
        return reference_vae_step(t, x, beta, reduction)
    if recipe in ("vaegan", "aegan_bn"):
        return reference_gan_step(t, x, beta, True, recon_weight, kld_reduction, fakes)
    if recipe == "vaegan_decoder_fm":
        return reference_gan_step(t, x, beta, False, recon_weight, kld_reduction, fakes)
    if recipe == "vaegan_adaptive":
        return reference_adaptive_step(t, x, fakes)
    raise ValueError(f"unknown recipe {recipe!r}")
