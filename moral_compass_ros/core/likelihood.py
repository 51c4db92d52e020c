# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The feedback likelihood ℓ_w(y | θ, s, a) (``doc/design.md`` §3, §10.2).

.. math::
    \\ell_w(1 \\mid \\theta, s, a) = \\sigma\\big(\\beta\\,(\\tau - D(\\theta, a))
        + \\rho\\,\\mu_{task}(a) + \\omega^T [\\phi(a); s]\\big)

with D(θ, a) = E_{θ'~P^A(a)} c(θ, θ')
(:func:`~moral_compass_ros.core.sinkhorn.expected_cost_to_dirichlet`),
w = (β, τ, ρ, ω):

* β > 0, τ: how sharply and from which distance this person disapproves of a value mismatch
  (the sign τ − D: an action whose fingerprint is close to the person's values is approved more
  often; the slides' β[S − τ] is corrected in the design);
* ρ ≥ 0: this person's trade-off, in log-odds of approval per unit of task reward;
* ω: a residual logistic term on the action features and the context, with a zero-mean prior,
  so the predictive core can do at least what a logistic regression on the features does.

The logit is *linear* in (β, βτ, ρ, ω) for fixed D and μ_task, so the expected log-likelihood
of a replay window under the compass is concave in those coordinates, and a few Newton steps
fit it to convergence (:meth:`LikelihoodModel.fit`). Gaussian priors keep w steady between
answers, so the likelihood does not chase the compass.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from torch import nn

#: Smallest β the fit may reach (β must stay > 0: a person who prefers misaligned actions is
#: a sign error, not a preference).
BETA_MIN = 0.1
#: Newton iterations of :meth:`LikelihoodModel.fit` at the most, and its stopping tolerance on
#: the largest change of a coordinate.
FIT_MAX_ITER = 25
FIT_TOL = 1e-8


class LikelihoodModel(nn.Module):
    """Learned parameters w = (β, τ, ρ, ω) of ℓ_w and their Gaussian prior.

    Stored in the coordinates the logit is linear in: ``slope`` = β, ``offset`` = βτ,
    ``task_weight`` = ρ and ``residual`` = ω (length F + C).

    Parameters
    ----------
    n_inputs : int
        F + C, length of [φ(a); s].
    beta_init, tau_init, task_weight_init : float
        Prior means (and starting values) of β, τ and ρ.
    beta_prior_std, tau_prior_std, task_weight_prior_std, residual_prior_std : float
        Prior standard deviations of β, τ (the offset βτ gets β_0 · tau_prior_std), ρ and each
        entry of ω.
    """

    PARAMETER_NAMES = ("slope", "offset", "task_weight", "residual")

    def __init__(
        self,
        n_inputs: int,
        beta_init: float,
        tau_init: float,
        task_weight_init: float,
        beta_prior_std: float,
        tau_prior_std: float,
        task_weight_prior_std: float,
        residual_prior_std: float,
    ) -> None:
        super().__init__()
        f64 = torch.float64
        self.slope = nn.Parameter(torch.tensor(float(beta_init), dtype=f64))
        self.offset = nn.Parameter(torch.tensor(float(beta_init * tau_init), dtype=f64))
        self.task_weight = nn.Parameter(torch.tensor(float(task_weight_init), dtype=f64))
        self.residual = nn.Parameter(torch.zeros(n_inputs, dtype=f64))
        self._prior_mean = torch.cat(
            [
                torch.tensor([beta_init, beta_init * tau_init, task_weight_init], dtype=f64),
                torch.zeros(n_inputs, dtype=f64),
            ]
        )
        stds = [beta_prior_std, beta_init * tau_prior_std, task_weight_prior_std] + [
            residual_prior_std
        ] * n_inputs
        self._prior_precision = torch.tensor([1.0 / s**2 for s in stds], dtype=f64)

    def logits(
        self, expected_cost: torch.Tensor, task_value: torch.Tensor, inputs: torch.Tensor
    ) -> torch.Tensor:
        """Approval logits β(τ − D) + ρ μ_task + ωᵀ[φ; s].

        Parameters
        ----------
        expected_cost : torch.Tensor, shape (B, N)
            D(θ_i, a_b).
        task_value : torch.Tensor, shape (B,)
            μ_task(a_b), the task reward the person sees (reward units).
        inputs : torch.Tensor, shape (B, F + C)
            [φ(a_b); s_b].

        Returns
        -------
        torch.Tensor, shape (B, N)
        """
        shift = self.task_weight * task_value + inputs @ self.residual  # ρ μ + ωᵀx, (B,)
        return self.offset - self.slope * expected_cost + shift[:, None]  # βτ − βD + …

    def value_logits(self, divergence: torch.Tensor) -> torch.Tensor:
        """β(τ − S): the value part of the logit for a transport divergence S (any shape)."""
        return self.offset - self.slope * divergence

    def _vector(self) -> torch.Tensor:
        return torch.cat(
            [
                self.slope.detach()[None],
                self.offset.detach()[None],
                self.task_weight.detach()[None],
                self.residual.detach(),
            ]
        )

    def fit(
        self,
        expected_cost: torch.Tensor,
        task_value: torch.Tensor,
        inputs: torch.Tensor,
        approved: torch.Tensor,
        event_weights: torch.Tensor,
        particle_weights: torch.Tensor,
    ) -> float:
        """MAP fit of w to a replay window's expected log-likelihood, by damped Newton steps.

        .. math::
            \\max_w \\sum_j \\omega_j \\sum_i w_i \\log \\ell_w(y_j \\mid \\theta_i, s_j, a_j)
              - \\tfrac12 (w - w_0)^T \\Lambda_0 (w - w_0)

        concave in (β, βτ, ρ, ω); β is held ≥ :data:`BETA_MIN` and ρ ≥ 0.

        Parameters
        ----------
        expected_cost : torch.Tensor, shape (H, N)
            D(θ_i, a_j) for the H window events and N particles.
        task_value : torch.Tensor, shape (H,)
        inputs : torch.Tensor, shape (H, F + C)
        approved : torch.Tensor of bool, shape (H,)
        event_weights : torch.Tensor, shape (H,)
            ω_j (legitimacy weight × forgetting).
        particle_weights : torch.Tensor, shape (N,)

        Returns
        -------
        float
            The window's weighted mean log-likelihood at the fitted w (without the prior).
        """
        h, n = expected_cost.shape
        p = 3 + inputs.shape[1]
        with torch.no_grad():
            # z_ij = [−D_ij, 1, μ_j, x_j]: logit = zᵀ(β, βτ, ρ, ω)
            design_event = torch.cat(
                [torch.ones(h, 1, dtype=inputs.dtype), task_value[:, None], inputs], dim=1
            )
            row_weight = event_weights[:, None] * particle_weights[None, :]  # ω_j w_i, (H, N)
            target = approved.to(inputs.dtype)[:, None]
            theta = self._vector()
            lower = torch.full((p,), -math.inf, dtype=inputs.dtype)
            lower[0], lower[2] = BETA_MIN, 0.0
            sign = torch.where(approved, 1.0, -1.0).to(inputs.dtype)[:, None]

            def logits_at(v: torch.Tensor) -> torch.Tensor:
                return v[1] - v[0] * expected_cost + (design_event[:, 1:] @ v[2:])[:, None]

            def objective(v: torch.Tensor) -> float:  # penalised expected log-likelihood
                log_lik = (row_weight * nn.functional.logsigmoid(sign * logits_at(v))).sum()
                return float(
                    log_lik - 0.5 * (self._prior_precision * (v - self._prior_mean) ** 2).sum()
                )

            converged = False
            current = objective(theta)
            for _ in range(FIT_MAX_ITER):
                prob = torch.sigmoid(logits_at(theta))
                resid = row_weight * (target - prob)  # ∂/∂logit of the weighted log-likelihood
                curv = row_weight * prob * (1.0 - prob)
                # gradient and Hessian in blocks: the −D column varies with i, the others only with
                # j
                g_slope = -(resid * expected_cost).sum()
                g_event = design_event.T @ resid.sum(1)
                grad = torch.cat([g_slope[None], g_event]) - self._prior_precision * (
                    theta - self._prior_mean
                )
                c_j = curv.sum(1)  # (H,)
                cd_j = (curv * expected_cost).sum(1)
                hess = torch.empty((p, p), dtype=inputs.dtype)
                hess[0, 0] = (curv * expected_cost**2).sum()
                hess[0, 1:] = hess[1:, 0] = -(design_event.T @ cd_j)
                hess[1:, 1:] = (design_event * c_j[:, None]).T @ design_event
                hess = hess + torch.diag(self._prior_precision)
                # active set: a coordinate on its bound whose step points out stays there, and the
                # Newton step is solved over the others (so a fixed point is a KKT point)
                on_bound = theta <= lower
                free = ~(on_bound & (grad < 0))
                while True:
                    step = torch.zeros_like(theta)
                    step[free] = torch.linalg.solve(hess[free][:, free], grad[free])
                    leaving = free & on_bound & (step < 0)
                    if not bool(leaving.any()):
                        break
                    free = free & ~leaving
                # backtracking: the projected step must not lower the objective (concave, so a
                # short enough step never does)
                size, new, value = 1.0, theta, current
                for _ in range(30):
                    new = torch.maximum(theta + size * step, lower)
                    value = objective(new)
                    if value >= current - 1e-12 * abs(current):
                        break
                    size *= 0.5
                change = float((new - theta).abs().max())
                theta, current = new, value
                if not math.isfinite(change):
                    break
                if change < FIT_TOL * (1.0 + float(theta.abs().max())):
                    converged = True
                    break
            if not bool(torch.isfinite(theta).all()):
                raise ArithmeticError("non-finite value in Step 2 likelihood fit")
            if not converged:
                warnings.warn(
                    "likelihood fit stopped before converging", RuntimeWarning, stacklevel=2
                )
            self.slope.copy_(theta[0])
            self.offset.copy_(theta[1])
            self.task_weight.copy_(theta[2])
            self.residual.copy_(theta[3:])
            log_lik = nn.functional.logsigmoid(sign * logits_at(theta))
            total = float(event_weights.sum())
            return float((row_weight * log_lik).sum()) / total if total > 0 else 0.0

    def get_parameters(self) -> dict[str, np.ndarray]:
        """w as plain float64 arrays (copies)."""
        return {name: getattr(self, name).detach().numpy().copy() for name in self.PARAMETER_NAMES}

    def set_parameters(self, params: dict[str, np.ndarray]) -> None:
        """Load w from arrays of the right shapes (``ValueError`` otherwise)."""
        for name in self.PARAMETER_NAMES:
            target = getattr(self, name)
            value = np.asarray(params[name], dtype=np.float64)
            if value.shape != tuple(target.shape):
                raise ValueError(
                    f"likelihood parameter {name} must have shape {tuple(target.shape)}, got "
                    f"{value.shape}"
                )
            with torch.no_grad():
                target.copy_(torch.from_numpy(value))
