"""The feedback likelihood ℓ_w(y | θ, s, a) (spec §3).

.. math::
    \\ell_w(1 \\mid \\theta, s, a) = \\sigma\\big(\\beta\\,(\\tau(s) - D(\\theta, a))\\big),\\quad
    \\beta = \\operatorname{softplus}(\\beta_{\\text{raw}}),\\quad \\tau(s) = \\tau_0 + v^T s

with D(θ, a) = E_{θ'~P^A_ψ} c(θ, θ') (:func:`~moral_compass_ros.core.sinkhorn.expected_cost_to_dirichlet`).
Note the sign τ − D: a person is more likely to approve an action whose fingerprint is close
to their values (the slides' β[S − τ] is corrected in the spec).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


class LikelihoodModel(nn.Module):
    """Learned parameters w = (β_raw, τ_0, v) of ℓ_w (spec §3).

    Parameters
    ----------
    context_dim : int
        C (τ is affine in the context).
    beta_init : float
        Initial β > 0.
    tau_init : float
        Initial τ_0 (v starts at 0).
    """

    PARAMETER_NAMES = ("raw_beta", "tau_bias", "tau_weights")

    def __init__(self, context_dim: int, beta_init: float, tau_init: float) -> None:
        super().__init__()
        f64 = torch.float64
        raw = beta_init + math.log(-math.expm1(-beta_init))  # softplus⁻¹(β_0)
        self.raw_beta = nn.Parameter(torch.tensor(raw, dtype=f64))
        self.tau_bias = nn.Parameter(torch.tensor(float(tau_init), dtype=f64))
        self.tau_weights = nn.Parameter(torch.zeros(context_dim, dtype=f64))

    @property
    def beta(self) -> torch.Tensor:
        """β = softplus(β_raw) > 0."""
        return nn.functional.softplus(self.raw_beta)

    def tau(self, context: torch.Tensor) -> torch.Tensor:
        """τ(s) = τ_0 + vᵀs for context of shape (..., C); returns shape (...)."""
        return self.tau_bias + context @ self.tau_weights

    def logits(self, expected_cost: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Approval logits β(τ(s) − D).

        Parameters
        ----------
        expected_cost : torch.Tensor, shape (B, N)
            D(θ_i, a_b).
        context : torch.Tensor, shape (C,) or (B, C)
            Shared context, or one per row of ``expected_cost``.

        Returns
        -------
        torch.Tensor, shape (B, N)
        """
        tau = self.tau(context)
        if tau.dim() == 1:
            tau = tau[:, None]
        return self.beta * (tau - expected_cost)  # β (τ(s) − D(θ, a))

    def get_parameters(self) -> dict[str, np.ndarray]:
        """w as plain float64 arrays (copies)."""
        return {name: getattr(self, name).detach().numpy().copy() for name in self.PARAMETER_NAMES}

    def set_parameters(self, params: dict[str, np.ndarray]) -> None:
        """Load w from arrays of the right shapes (``ValueError`` otherwise)."""
        for name in self.PARAMETER_NAMES:
            target = getattr(self, name)
            value = np.asarray(params[name], dtype=np.float64)
            if value.shape != tuple(target.shape):
                raise ValueError(f"likelihood parameter {name} must have shape {tuple(target.shape)}, got {value.shape}")
            with torch.no_grad():
                target.copy_(torch.from_numpy(value))
