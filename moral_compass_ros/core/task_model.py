# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Bayesian task-reward model P̂^task(· | a) of the predictive core F (``doc/design.md`` §4, §5.1).

Conjugate Bayesian linear regression of the task reward on z(a, s) = [φ(a); s; 1]:

.. math::
    r = z^T \\omega + \\eta,\\ \\eta \\sim N(0, \\sigma_n^2),\\quad \\omega \\sim N(0, \\sigma_0^2
    I)
    \\\\ \\Lambda \\leftarrow \\Lambda + z z^T / \\sigma_n^2,\\quad h \\leftarrow h + z\\, r /
    \\sigma_n^2,
    \\quad \\omega \\mid \\text{data} \\sim N(\\Lambda^{-1} h, \\Lambda^{-1})

Per candidate it yields the mean μ(a) = zᵀΛ⁻¹h, the spread σ(a) = √(zᵀΛ⁻¹z) of the expected
reward, and the evidence count n(a) = σ_n² (1/σ²(a) − 1/σ²_prior(a)) — the number of
observations that would shrink a one-dimensional prior to the current variance along z.

**Planner seeding.** A planner estimate (r̂, ŝ) for a candidate is fused as an independent
Gaussian opinion about that candidate's expected reward (precision weighting):
σ² ← 1/(1/σ² + 1/ŝ²), μ ← σ² (μ/σ²_model + r̂/ŝ²), and it counts as σ_n²/ŝ² pseudo-observations
in n(a). With no data the planner's estimate dominates; as observed rewards accumulate the
regression takes over.
"""

from __future__ import annotations

from typing import Optional

import numpy as np


class BayesianTaskModel:
    """Conjugate Bayesian linear regression of the task reward (``doc/design.md`` §4).

    Parameters
    ----------
    input_dim : int
        P = F + C + 1 (the design vector includes a bias).
    noise_std : float
        σ_n > 0.
    prior_std : float
        σ_0 > 0.
    """

    def __init__(self, input_dim: int, noise_std: float, prior_std: float) -> None:
        self.input_dim = int(input_dim)
        self.noise_var = float(noise_std) ** 2
        self.prior_var = float(prior_std) ** 2
        self.precision = np.eye(self.input_dim) / self.prior_var  # Λ_0 = I/σ_0²
        self.precision_mean = np.zeros(self.input_dim)  # h_0 = Λ_0 m_0 = 0
        self.n_obs = 0

    @staticmethod
    def design(features: np.ndarray, context: np.ndarray) -> np.ndarray:
        """z = [φ(a); s; 1], shape (B, F + C + 1) from features (B, F) and context (C,)."""
        n = features.shape[0]
        return np.concatenate(
            [features, np.broadcast_to(context, (n, context.shape[-1])), np.ones((n, 1))], axis=1
        )

    def update(self, features: np.ndarray, context: np.ndarray, reward: float) -> None:
        """Condition on one observed reward r for the action with features (F,) in context (C,)."""
        z = self.design(np.asarray(features)[None, :], np.asarray(context))[0]
        self.precision = self.precision + np.outer(z, z) / self.noise_var  # Λ += z zᵀ/σ_n²
        self.precision_mean = (
            self.precision_mean + z * float(reward) / self.noise_var
        )  # h += z r/σ_n²
        self.n_obs += 1

    def predict(
        self,
        features: np.ndarray,
        context: np.ndarray,
        reward_mean: Optional[np.ndarray] = None,
        reward_std: Optional[np.ndarray] = None,
        default_planner_std: float = 1.0,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior mean μ(a), spread σ(a) and evidence n(a) per candidate.

        Parameters
        ----------
        features : ndarray, shape (B, F)
        context : ndarray, shape (C,)
        reward_mean : ndarray, shape (B,), optional
            Planner estimates r̂(a); NaN = none for that candidate.
        reward_std : ndarray, shape (B,), optional
            Their std ŝ(a) > 0; NaN or missing = ``default_planner_std``.
        default_planner_std : float

        Returns
        -------
        mean, std, evidence : ndarray, shape (B,) each
        """
        z = self.design(features, context)
        chol = np.linalg.cholesky(self.precision)
        weights_mean = np.linalg.solve(self.precision, self.precision_mean)  # m = Λ⁻¹ h
        whitened = np.linalg.solve(chol, z.T)  # L⁻¹ zᵀ, so zᵀΛ⁻¹z = ‖L⁻¹z‖²
        var = np.sum(whitened**2, axis=0)  # σ²(a) = zᵀ Λ⁻¹ z
        mean = z @ weights_mean  # μ(a) = zᵀ m
        var_prior = self.prior_var * np.sum(z**2, axis=1)  # σ²_prior(a) = σ_0² ‖z‖²
        evidence = np.maximum(self.noise_var * (1.0 / var - 1.0 / var_prior), 0.0)  # n(a)
        if reward_mean is not None:
            r_hat = np.asarray(reward_mean, dtype=np.float64)
            s_hat = np.full_like(r_hat, float(default_planner_std))
            if reward_std is not None:
                given = np.asarray(reward_std, dtype=np.float64)
                s_hat = np.where(np.isnan(given), s_hat, given)
            has = ~np.isnan(r_hat)
            planner_precision = np.where(has, 1.0 / s_hat**2, 0.0)
            fused_var = 1.0 / (1.0 / var + planner_precision)  # σ² ← 1/(1/σ² + 1/ŝ²)
            mean = fused_var * (mean / var + np.where(has, r_hat, 0.0) * planner_precision)
            evidence = (
                evidence + self.noise_var * planner_precision
            )  # + σ_n²/ŝ² pseudo-observations
            var = fused_var
        return mean, np.sqrt(var), evidence

    def get_parameters(self) -> dict[str, np.ndarray]:
        """Λ, h and the observation count as arrays (copies)."""
        return {
            "precision": self.precision.copy(),
            "precision_mean": self.precision_mean.copy(),
            "n_obs": np.asarray(self.n_obs, dtype=np.int64),
        }

    def set_parameters(self, params: dict[str, np.ndarray]) -> None:
        """Load Λ (P, P), h (P,) and n_obs; ``ValueError`` on wrong shapes."""
        precision = np.asarray(params["precision"], dtype=np.float64)
        precision_mean = np.asarray(params["precision_mean"], dtype=np.float64)
        if precision.shape != (self.input_dim, self.input_dim) or precision_mean.shape != (
            self.input_dim,
        ):
            raise ValueError(
                f"task model parameters must have shapes ({self.input_dim}, {self.input_dim}) and "
                f"({self.input_dim},), got {precision.shape} and {precision_mean.shape}"
            )
        self.precision = precision.copy()
        self.precision_mean = precision_mean.copy()
        self.n_obs = int(params["n_obs"])
