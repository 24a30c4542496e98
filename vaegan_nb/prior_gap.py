"""Why fakes from N(0, I) may not look like frames: the prior's gap against the decoder's own blur.

The decoder learns from the encoder's codes. Fixed noise from N(0, I) asks it for codes it has not
seen when the codes are not N(0, I) (the BN cheat's shrink, for instance). Decoding the same noise
through a Gaussian fitted to the codes removes that gap; the reconstructions show the decoder's best.
Together they say how much of a fake's failure is the prior and how much the decoder.
"""

from __future__ import annotations

import numpy as np
import torch

from . import diagnostics, samples
from .evaluation import fixed_noise
from .recipes import Trainee

ROWS = ("fixed noise", "fixed noise through the codes' Gaussian", "reconstructions")


def fitted_gaussian(codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and lower Cholesky factor of the codes' covariance, (d,) and (d, d)."""
    if codes.ndim != 2 or len(codes) <= codes.shape[1]:
        raise ValueError(f"need more codes than dimensions to fit a Gaussian, got shape {tuple(codes.shape)}")
    codes = codes.double()
    cov = torch.cov(codes.T)
    # A tiny ridge keeps the factorisation alive when a BN channel has (almost) no variance.
    ridge = 1e-6 * cov.diagonal().mean() * torch.eye(len(cov), dtype=cov.dtype)
    return codes.mean(0).float(), torch.linalg.cholesky(cov + ridge).float()


def effective_dims(codes: torch.Tensor) -> float:
    """How many directions the codes spread over: the participation ratio (sum l)^2 / sum l^2 of their
    covariance's eigenvalues l. About d for many draws of N(0, I_d), 1 when every code lies on one
    line, 0 when all are equal."""
    if codes.ndim != 2 or len(codes) < 2:
        raise ValueError(f"effective_dims needs two or more codes as rows, got shape {tuple(codes.shape)}")
    cov = torch.atleast_2d(torch.cov(codes.double().T))
    lam = torch.linalg.eigvalsh(cov).clamp(min=0)
    total = float((lam**2).sum())
    return float(lam.sum() ** 2 / total) if total > 0 else 0.0


def through(z: torch.Tensor, mean: torch.Tensor, tril: torch.Tensor) -> torch.Tensor:
    """N(0, I) noise mapped onto N(mean, tril tril^T): the same draw, moved to where the codes live."""
    return mean + z @ tril.T


def decoded(t: Trainee, train: np.ndarray, test: np.ndarray, n: int = 64) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
    """The training codes, and the three batches of ``prior_gap`` by row: fixed noise, the same noise
    through the codes' Gaussian, reconstructions of held-out frames (uint8)."""
    codes = samples.encode(t, train)
    z = fixed_noise(n, codes.shape[1])
    batches = (samples.decode(t, z), samples.decode(t, through(z, *fitted_gaussian(codes))),
               samples.reconstruct(t, test[:n]))
    return codes, dict(zip(ROWS, batches, strict=True))


def prior_gap(t: Trainee, train: np.ndarray, test: np.ndarray, n: int = 64) -> dict[str, float]:
    """Palette fidelity (over real held-out frames') of ``n`` fakes from fixed noise, of the same noise
    through the training codes' Gaussian, and of ``n`` reconstructions; plus the codes' mean
    |z|/sqrt(d) and their effective dimensions. ``t`` in eval mode (``training.load_trained``); uint8 frames."""
    return scores(*decoded(t, train, test, n), train, test)


def scores(codes: torch.Tensor, batches: dict[str, np.ndarray], train: np.ndarray, test: np.ndarray) -> dict[str, float]:
    """``prior_gap``'s figures from ``decoded``'s codes and batches."""
    ref = diagnostics.frame_reference(train[: diagnostics.REFERENCE_FRAMES])
    real = diagnostics.palette_fidelity(test[: len(batches[ROWS[-1]])], ref)  # the frames reconstructed
    out = {row: diagnostics.palette_fidelity(f, ref) / real for row, f in batches.items()}
    out["codes' |z| / sqrt(d)"] = float(codes.norm(dim=1).mean() / codes.shape[1] ** 0.5)
    out["codes' effective dimensions"] = effective_dims(codes)
    return out
