# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Step 1 score terms on particles (``doc/design.md`` §4, §5): predictive approval, information
gain, task cost."""

from __future__ import annotations

import numpy as np
import torch


def predictive_approval(log_lik_approve: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Posterior predictive approval ŷ(a) = Σ_i w_i ℓ_w(1 | θ_i, s, a) (``doc/design.md`` §4).

    Parameters
    ----------
    log_lik_approve : torch.Tensor, shape (B, N)
        log ℓ_w(1 | θ_i, s, a_b).
    weights : torch.Tensor, shape (N,)

    Returns
    -------
    torch.Tensor, shape (B,)
    """
    return torch.exp(log_lik_approve) @ weights


def information_gain(
    log_lik_approve: torch.Tensor, log_lik_reject: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """Exact mutual information between θ ~ q_t and the answer y, per candidate (``doc/design.md``
    §5.3).

    .. math::
        \\mathrm{IG}(a) = \\sum_{y \\in \\{0,1\\}} p(y \\mid a)\\, \\mathrm{KL}(q^{(y,a)} \\| q)
        = H\\big(p(\\cdot \\mid a)\\big) - \\sum_i w_i H\\big(\\ell_i(\\cdot)\\big),
        \\quad p(y \\mid a) = \\sum_i w_i \\ell_i(y)

    (the entropy of the predictive answer minus the expected entropy of each particle's
    answer): two exponentials and three weighted sums per entry, no log-sum-exp.

    Parameters
    ----------
    log_lik_approve, log_lik_reject : torch.Tensor, shape (B, N)
        log ℓ_w(1 | θ_i, …) and log ℓ_w(0 | θ_i, …).
    weights : torch.Tensor, shape (N,)

    Returns
    -------
    torch.Tensor, shape (B,)
        IG ≥ 0 in nats (≤ log 2).
    """
    approve, reject = torch.exp(log_lik_approve), torch.exp(log_lik_reject)  # ℓ_i(1), ℓ_i(0)
    p_approve, p_reject = approve @ weights, reject @ weights  # p(y | a)
    predictive_entropy = -(
        torch.special.xlogy(p_approve, p_approve) + torch.special.xlogy(p_reject, p_reject)
    )
    expected_entropy = -(
        (approve * log_lik_approve + reject * log_lik_reject) @ weights
    )  # Σ_i w_i H(ℓ_i)
    return torch.clamp(predictive_entropy - expected_entropy, min=0.0)


def task_cost(
    reward_mean: np.ndarray, evidence: np.ndarray, rho0: float, lipschitz: float
) -> tuple[np.ndarray, np.ndarray]:
    """Worst-case task cost over a Wasserstein-1 ball (``doc/design.md`` §5.1).

    .. math::
        T(a) = -\\inf_{Q \\in U^a} E_Q[R] = -\\mu(a) + \\rho(a) L, \\qquad \\rho(a) = \\rho_0 /
        \\sqrt{1 + n(a)}

    Parameters
    ----------
    reward_mean, evidence : ndarray, shape (B,)
        μ(a) and n(a).
    rho0, lipschitz : float

    Returns
    -------
    cost, radius : ndarray, shape (B,)
        T(a) and ρ(a).
    """
    radius = rho0 / np.sqrt(1.0 + evidence)  # ρ = ρ_0/√(1+n)
    return -reward_mean + radius * lipschitz, radius  # T = −μ + ρ L
