# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The action value fingerprint P^A_ψ(θ | a, s): a Dirichlet over Θ per action (``doc/design.md``
§1, §5.2).

A fingerprint comes from knowledge where there is any (``doc/design.md`` §10.1): an action with
a value profile h(a) -- the planner's hint, or the fingerprint library's entry -- has the
fingerprint Dir(κ_h h(a) + floor), κ_h the ``hint_strength`` (the profile is the mean, κ_h the
confidence). Only an action without one gets the learned network's concentration

.. math::

    \\alpha_\\psi(a, s) = \\text{floor} + \\operatorname{softplus}\\big(W_2 \\tanh(W_1 [\\phi(a);
    s] + b_1) + b_2\\big).

(Adding the network's concentration to a known profile would pull the profile toward the
untrained network's near-uniform output.) Everything is float64; all
randomness comes from explicit ``torch.Generator`` objects (never the global RNG).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
from torch import nn

#: Purpose codes mixed into derived seeds so independent random streams never coincide.
SEED_PURPOSE = {
    "init": 1,
    "prior": 2,
    "score": 3,
    "posterior": 4,  # change points, resampling and moves of an update
    "baseline": 5,
    "cloud": 6,  # response parameters of a replaced cloud of another size
    "bayes": 7,  # the bayes bound's updates
}


def derived_seed(seed: int, version: int, purpose: str) -> int:
    """A 63-bit seed derived deterministically from ``(seed, version, purpose)``.

    Uses :class:`numpy.random.SeedSequence` entropy mixing, so nearby inputs give unrelated
    streams and two processes (compass node, selector node) derive the same seed.
    """
    sequence = np.random.SeedSequence([int(seed), int(version), SEED_PURPOSE[purpose]])
    return int(sequence.generate_state(1, dtype=np.uint64)[0] & np.uint64(2**63 - 1))


def torch_generator(seed: int, version: int, purpose: str) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded by :func:`derived_seed`."""
    return torch.Generator(device="cpu").manual_seed(derived_seed(seed, version, purpose))


def numpy_generator(seed: int, version: int, purpose: str) -> np.random.Generator:
    """A ``numpy.random.Generator`` seeded by :func:`derived_seed`."""
    return np.random.default_rng(derived_seed(seed, version, purpose))


class _SeededDirichletSample(torch.autograd.Function):
    """Reparameterised Dirichlet sample with an explicit generator.

    ``torch.distributions.Dirichlet.rsample`` draws from the global RNG and takes no generator;
    this is the same implicit-reparameterisation gradient (``torch._dirichlet_grad``,
    Jankowiak & Obermeyer 2018) with the draw taken from ``generator``.
    """

    @staticmethod
    def forward(ctx, concentration: torch.Tensor, generator: torch.Generator) -> torch.Tensor:  # type: ignore[override]
        sample = torch._sample_dirichlet(concentration, generator=generator)
        ctx.save_for_backward(sample, concentration)
        return sample

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        sample, concentration = ctx.saved_tensors
        total = concentration.sum(-1, keepdim=True).expand_as(concentration)
        grad = torch._dirichlet_grad(sample, concentration, total)
        return grad * (grad_output - (sample * grad_output).sum(-1, keepdim=True)), None


def sample_dirichlet(
    concentration: torch.Tensor, n_samples: int, generator: torch.Generator
) -> torch.Tensor:
    """K reparameterised samples θ' ~ Dir(α) per row of ``concentration``.

    Parameters
    ----------
    concentration : torch.Tensor, shape (B, M)
        α > 0.
    n_samples : int
        K.
    generator : torch.Generator
        Source of randomness (draws are taken in row-major (B, K) order).

    Returns
    -------
    torch.Tensor, shape (B, K, M)
        Samples on the simplex (renormalised to machine precision); differentiable in α.
    """
    expanded = concentration.unsqueeze(1).expand(-1, int(n_samples), -1).contiguous()
    samples = _SeededDirichletSample.apply(expanded, generator)
    return samples / samples.sum(-1, keepdim=True)


def _inverse_softplus(y: float) -> float:
    return y + math.log(-math.expm1(-y))  # softplus⁻¹(y) = log(e^y − 1)


def profile_concentration(profiles, floor: float, strength: float):
    """κ_h h + floor: the Dirichlet concentration of a known value profile h, shape (..., M)
    (a torch tensor or a numpy array). The one rule for a hint or library entry, shared by the
    learner and the ``bayes`` bound."""
    return floor + strength * profiles


class FingerprintModel(nn.Module):
    """P^A_ψ: features and context → Dirichlet concentration over Θ (``doc/design.md`` §1).

    Parameters
    ----------
    feature_dim, context_dim, n_values, hidden : int
        F, C, M and the hidden width H.
    concentration_floor : float
        Lower bound added after the softplus.
    hint_strength : float
        κ_h, pseudo-counts given to a planner value hint.
    generator : torch.Generator
        Initialises ψ (W_1 ~ N(0, 1/(F+C)), W_2 ~ N(0, 0.01/H), b_1 = 0, b_2 so that α ≈ 1).
    """

    PARAMETER_NAMES = ("w1", "b1", "w2", "b2")

    def __init__(
        self,
        feature_dim: int,
        context_dim: int,
        n_values: int,
        hidden: int,
        concentration_floor: float,
        hint_strength: float,
        generator: torch.Generator,
    ) -> None:
        super().__init__()
        n_in = feature_dim + context_dim
        f64 = torch.float64
        self.feature_dim, self.context_dim, self.n_values = feature_dim, context_dim, n_values
        self.concentration_floor = float(concentration_floor)
        self.hint_strength = float(hint_strength)
        self.w1 = nn.Parameter(
            torch.randn(hidden, n_in, generator=generator, dtype=f64) / math.sqrt(n_in)
        )
        self.b1 = nn.Parameter(torch.zeros(hidden, dtype=f64))
        self.w2 = nn.Parameter(
            torch.randn(n_values, hidden, generator=generator, dtype=f64)
            * (0.1 / math.sqrt(hidden))
        )
        start = _inverse_softplus(max(1.0 - self.concentration_floor, 1e-3))
        self.b2 = nn.Parameter(torch.full((n_values,), start, dtype=f64))

    def base_concentration(self, features: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Network concentration without hints, shape (B, M), from features (B, F), context (B,
        C)."""
        inputs = torch.cat([features, context], dim=-1)  # [φ(a); s]
        hidden = torch.tanh(inputs @ self.w1.T + self.b1)
        return self.concentration_floor + nn.functional.softplus(hidden @ self.w2.T + self.b2)

    def concentration(
        self, features: torch.Tensor, context: torch.Tensor, hints: Optional[torch.Tensor] = None
    ) -> torch.Tensor:
        """Dirichlet concentration: κ_h h(a) + floor where a profile is known, else α_ψ(a, s).

        Parameters
        ----------
        features : torch.Tensor, shape (B, F)
        context : torch.Tensor, shape (B, C) or (C,)
        hints : torch.Tensor, shape (B, M), optional
            A row of NaN means no hint for that candidate.

        Returns
        -------
        torch.Tensor, shape (B, M)
            Concentrations ≥ ``concentration_floor``.
        """
        if context.dim() == 1:
            context = context.unsqueeze(0).expand(features.shape[0], -1)
        alpha = self.base_concentration(features, context)
        if hints is not None and self.hint_strength > 0.0:
            present = ~torch.isnan(hints).any(-1, keepdim=True)
            known = profile_concentration(
                torch.nan_to_num(hints), self.concentration_floor, self.hint_strength
            )
            alpha = torch.where(present, known, alpha)
        return alpha

    def get_parameters(self) -> dict[str, np.ndarray]:
        """ψ as plain float64 arrays (copies)."""
        return {name: getattr(self, name).detach().numpy().copy() for name in self.PARAMETER_NAMES}

    def set_parameters(self, params: dict[str, np.ndarray]) -> None:
        """Load ψ from arrays of the right shapes (``ValueError`` otherwise)."""
        for name in self.PARAMETER_NAMES:
            target = getattr(self, name)
            value = np.asarray(params[name], dtype=np.float64)
            if value.shape != tuple(target.shape):
                raise ValueError(
                    f"fingerprint parameter {name} must have shape {tuple(target.shape)}, got "
                    f"{value.shape}"
                )
            with torch.no_grad():
                target.copy_(torch.from_numpy(value))
