"""The losses of the blog, written once so every recipe shares them."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def kld_per_sample(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """D_KL(q(z|x) || N(0, I)) for each sample, summed over latent dimensions: shape (B,)."""
    return -0.5 * torch.sum(1 + logvar - mean.pow(2) - logvar.exp(), dim=1)


def kld_parts(mean: torch.Tensor, logvar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch's KLD per dimension in three parts: (offset, spread, narrowness).

    0.5 E[mean^2] splits into the codes' common offset (their centroid's squared norm) and their
    spread around it; 0.5 E[var - 1 - log var] grows as the posterior's variances shrink below 1.
    The parts add up to ``kld_per_sample(mean, logvar).mean() / d``.
    """
    offset = 0.5 * mean.mean(dim=0).pow(2).mean()
    return offset, 0.5 * mean.pow(2).mean() - offset, 0.5 * (logvar.exp() - 1 - logvar).mean()


def kld_batch(z: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """The BN cheat's monitor: KLD of each latent dimension's batch statistics from N(0, 1), averaged.

    With mean_d and var_d over the batch, KLD_d = -0.5 (1 + log var_d - mean_d^2 - var_d).
    """
    return kld_of_stats(z.mean(dim=0), z.var(dim=0, unbiased=False), eps)


def kld_of_stats(mean: torch.Tensor, var: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """KLD of N(mean_d, var_d) from N(0, 1) for each latent dimension d, averaged over dimensions."""
    return (-0.5 * (1 + torch.log(var + eps) - mean.pow(2) - var)).mean()


def bce_logits(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Binary cross-entropy of sigmoid(logits) against a constant label (1 real, 0 fake)."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def feature_matching(phi_fake: torch.Tensor, phi_real: torch.Tensor) -> torch.Tensor:
    """L_F = ||phi(G(z|x)) - phi(x)||^2, averaged over elements."""
    return F.mse_loss(phi_fake, phi_real)


def pixel_error(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """E||x - G(z|x)||^2 per pixel and channel, the blog's monitored reconstruction error."""
    return F.mse_loss(x_hat, x)


def reconstruction_sum(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Squared error summed over each image, averaged over the batch (the VAE's likelihood term)."""
    return (x_hat - x).pow(2).flatten(1).sum(dim=1).mean()
