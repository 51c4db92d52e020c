# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The residual logit ω on [φ(a); s]: Bayesian logistic regression that steps aside
(``doc/design.md`` §11.3).

The approval logit is the value model's plus ωᵀx, x = [φ(a); s]. ω has a Gaussian posterior,
updated after every answer by online Laplace (assumed-density filtering: the answer's
likelihood is projected on the one direction x and the Gaussian updated in O(P²)), given the
value model's logit o of that answer as an offset:

.. math::
    p(y \\mid \\omega) = \\sigma\\big(\\pm(o + \\omega^T x)\\big), \\qquad
    \\omega \\sim N(0, s^2 I).

The prior scale s is chosen by the evidence: one filter per scale of a grid (s = 0 is "no
residual"), each scoring its prequential log evidence Σ_t log p_s(y_t | past answers) (the
marginal likelihood), and the predictive averages them with weights ∝ exp(evidence): Bayesian
model averaging over s. Where the value model explains the answers, the s = 0 filter wins and
the residual shrinks to zero; where it does not, the evidence moves to the larger scales and the
residual matches a logistic regression on x. The residual enters every logit by the probit
approximation E σ(z + r) ≈ σ((z + E r)/√(1 + π Var r / 8)).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

_PROBIT = math.pi / 8.0
#: Newton iterations of the one-dimensional mode search, and its tolerance.
_MODE_ITER = 30
_MODE_TOL = 1e-10


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class BayesianResidual:
    """Gaussian posteriors of ω under each prior scale, weighted by their evidence.

    Parameters
    ----------
    n_inputs : int
        P = F + C.
    scales : sequence of float
        The prior standard deviations s ≥ 0 compared by their evidence.
    """

    def __init__(self, n_inputs: int, scales: Sequence[float]) -> None:
        scales = np.asarray(scales, dtype=np.float64)
        if (
            scales.ndim != 1
            or len(scales) == 0
            or np.any(~np.isfinite(scales))
            or np.any(scales < 0)
        ):
            raise ValueError(f"residual prior scales must be finite and >= 0, got {scales}")
        self.scales = scales
        p = int(n_inputs)
        self.mean = np.zeros((len(scales), p))  # (G, P)
        self.cov = scales[:, None, None] ** 2 * np.eye(p)[None]  # (G, P, P)
        self.log_evidence = np.zeros(len(scales))  # (G,)

    @property
    def model_weights(self) -> np.ndarray:
        """Posterior weights of the scales ∝ exp(prequential log evidence), shape (G,)."""
        e = self.log_evidence - self.log_evidence.max()
        w = np.exp(e)
        return w / w.sum()

    @property
    def scale(self) -> float:
        """The evidence-weighted prior scale (what is reported)."""
        return float(self.model_weights @ self.scales)

    def moments(self, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of ωᵀx under the evidence-weighted mixture, each shape (B,).

        inputs : (B, P). The mixture's second moment is matched: Var = Σ_g π_g (v_g + m_g²) − m².
        """
        means = inputs @ self.mean.T  # (B, G)
        variances = np.einsum("bp,gpq,bq->bg", inputs, self.cov, inputs)
        pi = self.model_weights
        mean = means @ pi
        var = (variances + means**2) @ pi - mean**2
        return mean, np.maximum(var, 0.0)

    def update(self, inputs: np.ndarray, offset: float, approved: bool, weight: float) -> None:
        """One answer: add its prequential log evidence to every scale, then update each
        Gaussian by online Laplace.

        Parameters
        ----------
        inputs : ndarray, shape (P,)
        offset : float
            The value model's logit o of this answer before it was seen.
        approved : bool
        weight : float
            The answer's weight (≥ 0): its log-likelihood is multiplied by it.
        """
        x = np.asarray(inputs, dtype=np.float64)
        sign = 1.0 if approved else -1.0
        prior_mean = self.mean @ x  # m_g = μ_gᵀx
        prior_var = np.maximum(np.einsum("p,gpq,q->g", x, self.cov, x), 0.0)  # v_g = xᵀΣ_g x
        moderated = (offset + prior_mean) / np.sqrt(1.0 + _PROBIT * prior_var)
        self.log_evidence += weight * -np.logaddexp(0.0, -sign * moderated)
        if weight <= 0.0:
            return
        for g in range(len(self.scales)):
            v = prior_var[g]
            if v <= 1e-300:
                continue
            a = prior_mean[g]  # mode of log σ(±(o + a))·weight − (a − m)²/(2v)
            for _ in range(_MODE_ITER):
                p = _sigmoid(offset + a)
                grad = weight * ((1.0 - p) if approved else -p) - (a - prior_mean[g]) / v
                hess = -weight * p * (1.0 - p) - 1.0 / v
                step = grad / hess
                a -= step
                if abs(step) < _MODE_TOL:
                    break
            p = _sigmoid(offset + a)
            post_var = 1.0 / (1.0 / v + weight * p * (1.0 - p))
            gain = self.cov[g] @ x / v  # k = Σx / v
            self.mean[g] = self.mean[g] + gain * (a - prior_mean[g])
            self.cov[g] = self.cov[g] - np.outer(gain, gain) * (v - post_var)

    def state(self) -> dict[str, np.ndarray]:
        """The arrays of the posterior (copies)."""
        return {
            "scales": self.scales.copy(),
            "mean": self.mean.copy(),
            "cov": self.cov.copy(),
            "log_evidence": self.log_evidence.copy(),
        }

    def load_state(self, state: dict) -> None:
        """Inverse of :meth:`state`; the scales and P must match."""
        scales = np.asarray(state["scales"], dtype=np.float64)
        if scales.shape != self.scales.shape or not np.allclose(scales, self.scales):
            raise ValueError(f"residual scales {scales} differ from the config's {self.scales}")
        mean = np.asarray(state["mean"], dtype=np.float64)
        if mean.shape != self.mean.shape:
            raise ValueError(f"residual mean has shape {mean.shape}, expected {self.mean.shape}")
        self.mean = mean.copy()
        self.cov = np.asarray(state["cov"], dtype=np.float64).reshape(self.cov.shape).copy()
        self.log_evidence = np.asarray(state["log_evidence"], dtype=np.float64).copy()
