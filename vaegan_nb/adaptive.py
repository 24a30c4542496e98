"""The adaptive beta of the blog's part 5: beta follows the batch KLD, so the KLD is held near a target.

Read from the author's code of that period (hellomoto-ai/splatoon2-ml, 2019-05-19 to 2019-05-28; see
../shared/BLOG.md, "What came after"): the per-dimension mean and variance of a batch's sampled codes,
smoothed by moving statistics, give a KLD from N(0, 1) per dimension; beta * KLD trains the encoder in
a sub-step of its own; then beta <- max(1e-3, beta + step * (KLD - target)).
"""

from __future__ import annotations

import math

import torch

from .losses import kld_of_stats

BETA_FLOOR = 1e-3


class AdaptiveBeta:
    """Beta and the codes' moving batch statistics: the state a run carries from step to step."""

    def __init__(self, beta: float, target: float, step: float, momentum: float, device="cpu"):
        # A tensor, so that updating it never waits for the device.
        self.beta = torch.tensor(float(beta), device=device)
        self.target, self.step, self.momentum = target, step, momentum
        self.mean: torch.Tensor | None = None  # moving statistics, kept from the first training step on
        self.var: torch.Tensor | None = None
        self._pending: tuple[torch.Tensor, torch.Tensor] | None = None

    def kld(self, z: torch.Tensor) -> torch.Tensor:
        """The batch KLD per dimension of codes ``z`` (B, d), on the moving statistics; its gradient flows
        through this batch's share of them."""
        mean, var = z.mean(dim=0), z.var(dim=0, unbiased=False)
        if self.mean is not None and self.momentum:
            mean = self.momentum * self.mean + (1 - self.momentum) * mean
            var = self.momentum * self.var + (1 - self.momentum) * var
        self._pending = (mean.detach(), var.detach())
        return kld_of_stats(mean, var)

    def update(self, kld: torch.Tensor) -> None:
        """After a training step: keep its statistics, and move beta by step * (kld - target)."""
        self.mean, self.var = self._pending
        self.beta = torch.clamp(self.beta + self.step * (kld.detach() - self.target), min=BETA_FLOOR)

    def state_dict(self) -> dict[str, torch.Tensor | None]:
        return {"beta": self.beta.cpu(), "mean": None if self.mean is None else self.mean.cpu(),
                "var": None if self.var is None else self.var.cpu()}

    def load_state_dict(self, state: dict) -> None:
        device = self.beta.device
        self.beta = state["beta"].to(device)
        self.mean = None if state["mean"] is None else state["mean"].to(device)
        self.var = None if state["var"] is None else state["var"].to(device)


def shell_band(target: float) -> tuple[float, float]:
    """The codes' radius over the shell's, sqrt(v), at the two batch variances v whose KLD per dimension,
    0.5 (v - 1 - log v) with a zero batch mean, equals ``target``: the batch KLD alone does not say which.
    Every dimension at one of them, with zero means, reaches that radius; any other batch at the target
    lies between the two."""
    if not (target > 0 and math.isfinite(target)):
        raise ValueError(f"beta_target must be a positive number, got {target!r}")

    def excess(u: float) -> float:  # the KLD at v = e^u, minus the target; convex in u, zero at u = 0
        return 0.5 * (math.expm1(u) - u) - target

    def root(lo: float, hi: float) -> float:  # excess changes sign once on [lo, hi]
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if (excess(mid) > 0) == (excess(lo) > 0):
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    # The KLD is above the target at u = -(2 target + 2), where 0.5 (e^u - 1 - u) > target + 0.5, and at
    # u = 1 + log(2 target + 3), where v = e (2 target + 3) outgrows 1 + log v by more than 2 target.
    low = root(-(2 * target + 2), 0.0)
    high = root(0.0, math.log(2 * target + 3) + 1)
    return math.exp(low / 2), math.exp(high / 2)
