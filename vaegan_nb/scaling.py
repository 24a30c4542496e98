"""What a discriminator's linear features can see of a frame: the measurement behind the scaling rules.

D's four convolutions have no non-linearity between them, so phi(x) = A x + b for one matrix A.
Feature matching compares phi(G(z)) with phi(x): it sees only the part of G(z) - x that lies in A's
row space. Whatever lies in A's null space is invisible to it, however long it trains.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import nn

from . import data
from .config import RunConfig


def feature_matrix(features: nn.Module, height: int, width: int) -> torch.Tensor:
    """A as a (phi values) x (3 * height * width) matrix: phi of every basis image, minus phi(0)."""
    n = 3 * height * width
    with torch.no_grad():
        zero = features(torch.zeros(1, 3, height, width)).flatten(1)
        cols = [features(torch.eye(n)[i:i + 512].view(-1, 3, height, width)).flatten(1) - zero
                for i in range(0, n, 512)]
    return torch.cat(cols).T.double()


def _variance_by_gain(features: nn.Module, frames: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """A's singular values (largest first) and the share of the frames' variance along each one's direction."""
    f = np.asarray(frames)
    _, h, w, _ = f.shape
    _, s, vt = torch.linalg.svd(feature_matrix(features, h, w), full_matrices=False)
    x = data.to_tensor(f).double().flatten(1)
    x = x - x.mean(0, keepdim=True)
    return s, (x @ vt.T).pow(2).sum(0) / x.pow(2).sum()


def blind_share(features: nn.Module, frames: np.ndarray, tol: float = 1e-6) -> float:
    """Share of the frames' variance around their mean frame that lies in A's null space, in [0, 1].

    0 means feature matching can see every difference between two frames; 0.6 means 60% of what
    varies from frame to frame cannot move the feature-matching loss at all.
    """
    s, share = _variance_by_gain(features, frames)
    # Directions past A's rank are A's null space; rounding can make the sum dip a hair below 0.
    return float((1 - share[s > tol * s.max()].sum()).clamp(0, 1))


def visible_share(features: nn.Module, frames: np.ndarray, rel: float = 1e-2) -> float:
    """Share of the frames' variance around their mean that A amplifies by at least ``rel`` of its largest gain.

    ``blind_share`` asks whether feature matching can see a direction at all; this asks whether it
    sees it loudly enough to matter. An injective but badly conditioned A scores low (docs/scaling.md,
    rule 4).
    """
    s, share = _variance_by_gain(features, frames)
    return float(share[s >= rel * s.max()].sum())


def live_hidden_share(disc: nn.Module, frames: np.ndarray) -> float:
    """Share of D's hidden ReLU units that fire on at least one of ``frames`` (uint8, N x H x W x 3).

    A unit that fires on no frame has no gradient left and stays dead; when all are dead, D gives every
    input the same score and the GAN is over (docs/scaling.md, rule 3).
    """
    clf = disc.classifier
    with torch.no_grad():
        h = clf[:4](disc.features(data.to_tensor(frames)))  # ReLU, flatten, Linear, ReLU
    return float((h > 0).any(0).float().mean())


# How far one step moves each network's output in the original (the blog profile at lr 1e-4), by
# ``network_speeds``: scripts/network_speeds.py --profiles blog, seeds 0 and 1, one thread, 2026-12-01.
# A reference, like the original's sizes: about half a minute a step here, too slow to re-measure in CI.
ORIGINAL_SPEEDS = {"encoder": 0.482, "decoder": 0.226, "disc": 0.405}


def network_speeds(cfg: RunConfig, steps: int = 8, n_probe: int = 32) -> dict[str, float]:
    """How far one training step moves each network's output, averaged over the first ``steps`` steps.

    The measurement behind docs/scaling.md, "Compressed in time". Adam moves every weight by about its
    learning rate, so at the same learning rate a layer's output moves by about lr times how many
    inputs add up in it: narrow layers move less per step than wide ones. Measured on fixed probes:
    "encoder", the RMS change of the codes' means per coordinate (the prior's unit is 1); "decoder", the
    RMS change of G(z) per pixel for fixed noise; "disc", the relative change of D's features phi(x).
    Trains the mistaken VAE-GAN with ``cfg``'s models, data and learning rates from its seed; the
    caller's torch RNG state is left as it was.
    """
    from . import recipes

    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, recipe="vaegan"))
    train_frames, test_frames = data.load_frames(cfg.data)
    with torch.random.fork_rng():
        torch.manual_seed(cfg.train.seed)
        t = recipes.build(cfg)
        x_probe = data.to_tensor(test_frames[:n_probe])
        z_probe = torch.randn(n_probe, cfg.model.latent_dim,
                              generator=torch.Generator().manual_seed(cfg.train.seed + 1))

        def outputs():
            with torch.no_grad():
                return t.encoder(x_probe)[0], t.decoder(z_probe), t.discriminator.features(x_probe)

        rms = lambda a: float(a.pow(2).mean().sqrt())  # noqa: E731
        moved = {"encoder": 0.0, "decoder": 0.0, "disc": 0.0}
        before = outputs()
        for k in range(steps):
            x = data.batches(train_frames, cfg.train.batch_size, k, cfg.train.seed)
            # With the fake sub-steps, as ORIGINAL_SPEEDS and docs/scaling.md's table were measured
            # (2026-12-01, before the profile's VAE-GAN stopped training on fakes).
            recipes.step("vaegan", t, x, beta=cfg.train.beta, kld_reduction=cfg.train.kld_reduction,
                         recon_weight=cfg.train.recon_weight, fakes=True, metrics=False)
            after = outputs()
            moved["encoder"] += rms(after[0] - before[0]) / steps
            moved["decoder"] += rms(after[1] - before[1]) / steps
            moved["disc"] += float((after[2] - before[2]).norm() / before[2].norm()) / steps
            before = after
    return moved
