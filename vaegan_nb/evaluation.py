"""What training measures beside the losses: held-out pixel error and fixed-noise snapshots."""

from __future__ import annotations

import numpy as np
import torch

from . import data, diagnostics

FIXED_NOISE_SEED = 20190601  # shared by every run with the same latent size, so timelapses line up
HELD_OUT = 64  # held-out frames for pixel_test and the latent snapshots


def fixed_noise(n: int, latent_dim: int) -> torch.Tensor:
    """The fixed noise batch decoded at every snapshot; the same for every run of this latent size."""
    g = torch.Generator().manual_seed(FIXED_NOISE_SEED)
    return torch.randn(n, latent_dim, generator=g)


class Probe:
    """Looks at a trainee between steps, in eval mode, without touching its RNG or its gradients.

    ``held_out``: the first HELD_OUT test frames as a tensor on the trainee's device. ``reference``:
    what "looks like a frame" means for this run, from its own training frames (turf or footage).
    """

    def __init__(self, trainee, held_out: torch.Tensor, noise: torch.Tensor, train_frames: np.ndarray):
        self.trainee = trainee
        self.held_out = held_out
        self.device = held_out.device
        self.noise = noise
        self.reference = diagnostics.frame_reference(train_frames[: diagnostics.REFERENCE_FRAMES])

    def pixel_test(self) -> float:
        """Mean squared error of the held-out frames decoded from their codes' means."""
        t = self.trainee
        t.encoder.eval()
        with torch.inference_mode():
            mean, _ = t.encoder(self.held_out)
            err = torch.mean((t.decoder(mean) - self.held_out) ** 2).item()
        t.encoder.train()
        return err

    def snapshot(self) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
        """The fixed noise decoded (uint8 frames), the held-out frames' codes (float16), and the
        samples' diversity and palette fidelity."""
        t = self.trainee
        t.decoder.eval()
        t.encoder.eval()
        with torch.inference_mode():
            imgs = data.to_uint8(t.decoder(self.noise.to(self.device)))
            lat = t.encode(self.held_out).float().cpu().numpy().astype(np.float16)
        t.decoder.train()
        t.encoder.train()
        return imgs, lat, {"diversity": diagnostics.diversity(imgs),
                           "palette": diagnostics.palette_fidelity(imgs, self.reference)}
