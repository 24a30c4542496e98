"""The original's encoder / decoder / discriminator family, with sizes taken from ModelConfig.

Shapes in the comments are for the ``full`` profile (24x40 frames, latent 64, docs/scaling.md) as
``batch x channels x height x width``; the ``blog`` profile (65x121, widths 64-128-256, latent 1024)
has the same layers.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig


def _down(n: int) -> int:
    # ReflectionPad2d(2) + Conv2d(k=5, stride=2): out = floor((n + 4 - 5) / 2) + 1
    return (n - 1) // 2 + 1


def encoder_sizes(height: int, width: int, n_blocks: int) -> list[tuple[int, int]]:
    """Spatial size after each encoder block, input first: [(24, 40), (12, 20), (6, 10), (3, 5)]."""
    sizes = [(height, width)]
    for _ in range(n_blocks):
        h, w = sizes[-1]
        sizes.append((_down(h), _down(w)))
    return sizes


class Encoder(nn.Module):
    """x -> (mean, logvar) with the variational head, or x -> (z, None) with the BN-cheat head."""

    def __init__(self, cfg: ModelConfig, height: int, width: int, variational: bool = True):
        super().__init__()
        self.variational = variational
        self.latent_dim = cfg.latent_dim
        layers, c_in = [], 3
        for c_out in cfg.enc_channels:
            layers += [
                nn.ReflectionPad2d(2),
                nn.Conv2d(c_in, c_out, 5, stride=2, bias=False),  # BN follows, so a bias is redundant
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
            ]
            c_in = c_out
        self.features = nn.Sequential(*layers)  # B x 3 x 24 x 40 -> B x 128 x 3 x 5
        h, w = encoder_sizes(height, width, len(cfg.enc_channels))[-1]
        flat = c_in * h * w  # 128 * 3 * 5 = 1920
        if variational:
            self.head = nn.Linear(flat, 2 * cfg.latent_dim)  # -> B x 128: mean and log-variance
        else:
            # The "BN cheat": every latent dimension is normalised over the batch, so encoded batches
            # have about zero mean and unit variance per dimension without any KLD term.
            self.head = nn.Sequential(
                nn.Linear(flat, cfg.latent_dim, bias=False),  # BN's shift makes a bias redundant
                nn.BatchNorm1d(cfg.latent_dim, affine=cfg.bn_affine),  # -> B x 64
            )
            if cfg.bn_affine and cfg.bn_scale_init == "uniform":
                nn.init.uniform_(self.head[1].weight, 0.0, 1.0)  # PyTorch <= 1.1's default, the blog's

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.features(x).flatten(1)
        if not self.variational:
            return self.head(h), None
        mean, logvar = self.head(h).chunk(2, dim=1)  # B x 64 each
        return mean, logvar


def reparameterize(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """z = mean + sigma * eps, eps ~ N(0, I): sampling that gradients can pass through."""
    return mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)


class Decoder(nn.Module):
    """z -> image in [-1, 1], mirroring the encoder's spatial sizes exactly."""

    def __init__(self, cfg: ModelConfig, height: int, width: int):
        super().__init__()
        n = len(cfg.enc_channels)
        sizes = encoder_sizes(height, width, n)[::-1]  # [(3, 5), (6, 10), (12, 20), (24, 40)]
        self.c0, (self.h0, self.w0) = cfg.dec_channels[0], sizes[0]
        self.fc = nn.Linear(cfg.latent_dim, self.c0 * self.h0 * self.w0)  # B x 64 -> B x 1920
        layers = []
        for i in range(n):
            c_in, c_out = cfg.dec_channels[i], cfg.dec_channels[i + 1]
            (h, w), (th, tw) = sizes[i], sizes[i + 1]
            # ConvTranspose(k=5, s=2, p=2) gives 2n - 1; output_padding adds the row/column that an
            # even-sized encoder input lost, so the decoder lands exactly on the input size.
            layers += [
                nn.ConvTranspose2d(c_in, c_out, 5, stride=2, padding=2, bias=False,
                                   output_padding=(th - (2 * h - 1), tw - (2 * w - 1))),
                nn.InstanceNorm2d(c_out),
                # Not in place: InstanceNorm's output is a view, and writing into it makes autograd
                # copy the whole activation (about 15% of the decoder's time on a CPU).
                nn.LeakyReLU(0.2),
            ]  # B x 128 x 3 x 5 -> 32 x 6 x 10 -> 16 x 12 x 20 -> 8 x 24 x 40
        self.blocks = nn.Sequential(*layers)
        self.to_rgb = nn.Sequential(
            nn.ReflectionPad2d(2),
            nn.Conv2d(cfg.dec_channels[-1], 3, 5),  # B x 8 x 24 x 40 -> B x 3 x 24 x 40
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(-1, self.c0, self.h0, self.w0)
        return self.to_rgb(self.blocks(h))


class Discriminator(nn.Module):
    """x -> (logit, phi(x)); phi is the last convolution's output, the feature-matching target."""

    def __init__(self, cfg: ModelConfig, height: int, width: int):
        super().__init__()
        c1, c2, c3, c4 = cfg.disc_channels
        # No non-linearity between the four convolutions, as in the original: together they are one
        # linear map, which is part of why the discriminator is so easily fooled and so easily wins.
        self.features = nn.Sequential(
            nn.Conv2d(3, c1, 5, padding=2),  # B x 3 x 24 x 40 -> B x 16 x 24 x 40
            nn.Conv2d(c1, c2, 5, stride=2, padding=2),  # -> B x 32 x 12 x 20
            nn.Conv2d(c2, c3, 5, stride=2, padding=2),  # -> B x 96 x 6 x 10
            nn.Conv2d(c3, c4, 5, stride=2, padding=2),  # -> B x 256 x 3 x 5 = phi(x): 4/3 as many values as the frame
        )
        h, w = encoder_sizes(height, width, 3)[-1]
        self.classifier = nn.Sequential(
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(c4 * h * w, cfg.disc_hidden),  # B x 3840 -> B x 256
            nn.ReLU(inplace=True),
            nn.Linear(cfg.disc_hidden, 1),  # -> B x 1 logit; sigmoid lives in the loss, for stability
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        phi = self.features(x)
        return self.classifier(phi).squeeze(1), phi


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
