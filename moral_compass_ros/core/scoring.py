"""Step 1 score terms on particles (spec §4, §5): predictive approval, information gain, task cost."""
from __future__ import annotations

import numpy as np
import torch


def predictive_approval(log_lik_approve: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Posterior predictive approval ŷ(a) = Σ_i w_i ℓ_w(1 | θ_i, s, a) (spec §4).

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


def information_gain(log_lik_approve: torch.Tensor, log_lik_reject: torch.Tensor,
                     weights: torch.Tensor) -> torch.Tensor:
    """Exact mutual information between θ ~ q_t and the answer y, per candidate (spec §5.3).

    .. math::
        \\mathrm{IG}(a) = \\sum_{y \\in \\{0,1\\}} p(y \\mid a)\\, \\mathrm{KL}(q^{(y,a)} \\| q)
        = \\sum_y \\sum_i w_i\\, \\ell_i(y) \\log \\frac{\\ell_i(y)}{p(y \\mid a)},
        \\quad p(y \\mid a) = \\sum_i w_i \\ell_i(y)

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
    log_w = torch.log(weights)
    total = torch.zeros(log_lik_approve.shape[0], dtype=log_lik_approve.dtype)
    for log_lik in (log_lik_approve, log_lik_reject):
        log_marginal = torch.logsumexp(log_lik + log_w, dim=1)  # log p(y|a) = log Σ_i w_i ℓ_i(y)
        joint = torch.exp(log_lik + log_w)  # w_i ℓ_i(y)
        total = total + (joint * (log_lik - log_marginal[:, None])).sum(1)  # Σ_i w_i ℓ_i log(ℓ_i / p)
    return torch.clamp(total, min=0.0)


def task_cost(reward_mean: np.ndarray, evidence: np.ndarray, rho0: float, lipschitz: float) -> tuple[np.ndarray, np.ndarray]:
    """Worst-case task cost over a Wasserstein-1 ball (spec §5.1).

    .. math::
        T(a) = -\\inf_{Q \\in U^a} E_Q[R] = -\\mu(a) + \\rho(a) L, \\qquad \\rho(a) = \\rho_0 / \\sqrt{1 + n(a)}

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
