"""Images from trained networks: reconstructions, decoded noise, latent interpolations (uint8 arrays)."""

from __future__ import annotations

import numpy as np
import torch

from . import data
from .recipes import Trainee


@torch.inference_mode()
def reconstruct(t: Trainee, frames: np.ndarray) -> np.ndarray:
    """G(E(x)) for uint8 frames, using the encoder's mean (no sampling noise)."""
    mean, _ = t.encoder(data.to_tensor(frames))
    return data.to_uint8(t.decoder(mean))


@torch.inference_mode()
def decode(t: Trainee, z: torch.Tensor) -> np.ndarray:
    return data.to_uint8(t.decoder(z))


@torch.inference_mode()
def encode(t: Trainee, frames: np.ndarray) -> torch.Tensor:
    return t.encoder(data.to_tensor(frames))[0]


@torch.inference_mode()
def interpolate(t: Trainee, a: np.ndarray, b: np.ndarray, n: int = 8) -> np.ndarray:
    """Decoded points on the straight line between the codes of frames ``a`` and ``b``: (n, H, W, 3)."""
    za, zb = encode(t, np.stack([a, b]))
    w = torch.linspace(0, 1, n).unsqueeze(1)
    return decode(t, (1 - w) * za + w * zb)
