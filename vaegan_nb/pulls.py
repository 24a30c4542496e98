"""The tug of war on the decoder: how hard each GAN objective pulls its weights, on one batch.

In the BN cheat the decoder answers to three objectives in turn: fool D on reconstructions, fool D
on fakes, and feature matching (the VAE-GAN, which trains without fakes, to the first and the last).
They share one Adam optimizer, so the direction it takes is set by their gradients' sizes. Feature
matching is the only one that asks for the input frame back; when the adversarial pulls are larger,
reconstructions stay blurry (docs/scaling.md, "The decoder's tug of war").
"""

from __future__ import annotations

import copy

import torch

from .losses import bce_logits, feature_matching
from .recipes import Trainee, frozen

PULLS = ("adversarial, reconstructions", "adversarial, fakes", "feature matching")


def decoder_pulls(trainee: Trainee, x: torch.Tensor, seed: int = 0, fakes: bool = True) -> dict[str, float]:
    """Norm of the decoder's gradient from each objective of sub-steps (3), (5) and (6), at ``x``.

    The networks run as in training (batch statistics), on a copy, so ``trainee`` is left untouched:
    no weight, gradient, running statistic or train/eval mode changes. ``seed`` draws the fakes' noise.
    ``fakes=False`` (a run that did not train on fakes, ``train.fakes``) leaves out sub-step (5)'s pull.
    """
    if trainee.discriminator is None:
        raise ValueError("decoder_pulls: this run has no discriminator (a VAE); only GAN recipes have a tug of war")
    nets = copy.deepcopy(trainee.modules())
    E, G, D = nets["encoder"], nets["decoder"], nets["discriminator"]
    for m in nets.values():
        m.train()
    params = [p for p in G.parameters() if p.requires_grad]

    def norm(loss: torch.Tensor, keep: bool = False) -> float:
        grads = torch.autograd.grad(loss, params, allow_unused=True, retain_graph=keep)
        return float(torch.sqrt(sum(g.pow(2).sum() for g in grads if g is not None)))

    with torch.no_grad():
        mean, _ = E(x)  # the code's mean: the pull on the decoder, without the sampling noise
        phi_real = D.features(x)
    noise = torch.randn(mean.shape, generator=torch.Generator().manual_seed(seed)).to(mean)
    with frozen(D):
        # One pass of D over the reconstructions gives both the logit and the features.
        logit_rec, phi_rec = D(G(mean))
        out = {PULLS[0]: norm(bce_logits(logit_rec, 1.0), keep=True)}
        if fakes:
            out[PULLS[1]] = norm(bce_logits(D(G(noise))[0], 1.0))
        out[PULLS[2]] = norm(feature_matching(phi_rec, phi_real))
        return out


def feature_matching_share(pulls: dict[str, float]) -> float:
    """Feature matching's pull over the larger adversarial one: above 1, the frame-seeking pull wins."""
    return pulls["feature matching"] / max(v for k, v in pulls.items() if k.startswith("adversarial"))
