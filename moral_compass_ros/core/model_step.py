# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The differentiable likelihood, and the two gradient steps that use it: the fingerprint
network ψ's (Step 2, ``doc/design.md`` §6) and the seed's proximal Step 3 (§7).

Both use the posterior's likelihood (:mod:`.posterior`) in torch, so that autograd reaches ψ
(through the fingerprint concentration) or the particle positions (through D(θ, a)).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .config import LearnerConfig
from .sinkhorn import expected_cost_to_dirichlet

_PROBIT = math.pi / 8.0
_LOG_FLOOR = 1e-300


def log_likelihood(
    theta: torch.Tensor,
    response: torch.Tensor,
    concentration: torch.Tensor,
    task_value: torch.Tensor,
    residual_mean: torch.Tensor,
    residual_var: torch.Tensor,
    approved: torch.Tensor,
    cost: str,
) -> torch.Tensor:
    """log ℓ(y_j | θ_i, β_i, τ_i, ρ_i; a_j), shape (H, N) (:func:`.posterior.approval_logits`).

    Parameters
    ----------
    theta : (N, M); response : (N, 3) in (log β, τ, ρ)
    concentration : (H, M); task_value, residual_mean, residual_var : (H,); approved : (H,) bool
    """
    beta, tau, rho = torch.exp(response[:, 0]), response[:, 1], response[:, 2]
    cost_to = expected_cost_to_dirichlet(theta, concentration, cost)  # D, (H, N)
    logit = beta * (tau - cost_to) + rho * task_value[:, None] + residual_mean[:, None]
    logit = logit / torch.sqrt(1.0 + _PROBIT * residual_var)[:, None]
    sign = torch.where(approved, 1.0, -1.0).to(logit.dtype)[:, None]
    return torch.nn.functional.logsigmoid(sign * logit)


def learns_fingerprints(rows: dict, config: LearnerConfig) -> bool:
    """Whether :func:`fingerprint_step` would move ψ on ``rows``: an answer without a known
    profile among them, and a step to take."""
    return (
        bool(torch.isnan(rows["hints"]).any(-1).any())
        and config.lr_psi > 0.0
        and config.gradient_steps > 0
    )


def fingerprint_step(fingerprint, rows: dict, theta, response, weights, config) -> bool:
    """``gradient_steps`` clipped ascent steps of ψ on the window's expected log-likelihood

    J(ψ) = Σ_j ω_j Σ_i w_i log ℓ(y_j | particle i; a_j) / Σ_j ω_j

    over the answers whose fingerprint is learned (a known profile does not depend on ψ).
    ``rows``: tensors ``features`` (H, F), ``context`` (H, C), ``hints`` (H, M, NaN = none),
    ``task_value``, ``residual_mean``, ``residual_var``, ``omega`` (H,), ``approved`` (H,).
    Returns whether ψ changed; raises ``ArithmeticError`` on a non-finite value.
    """
    if not learns_fingerprints(rows, config):
        return False
    learned = torch.isnan(rows["hints"]).any(-1)
    keep = {k: v[learned] for k, v in rows.items()}
    total_weight = float(keep["omega"].sum())
    if total_weight <= 0.0:
        return False
    theta, response = torch.from_numpy(theta), torch.from_numpy(response)
    weights = torch.from_numpy(weights)
    params = list(fingerprint.parameters())
    for _ in range(config.gradient_steps):
        concentration = fingerprint.concentration(keep["features"], keep["context"])
        log_lik = log_likelihood(
            theta,
            response,
            concentration,
            keep["task_value"],
            keep["residual_mean"],
            keep["residual_var"],
            keep["approved"],
            config.cost,
        )
        value = (keep["omega"][:, None] * log_lik * weights[None, :]).sum() / total_weight
        if not bool(torch.isfinite(value)):
            raise ArithmeticError("non-finite value in the fingerprint step's objective")
        grads = torch.autograd.grad(value, params)
        with torch.no_grad():
            norm = float(torch.sqrt(sum((g * g).sum() for g in grads)))
            if not math.isfinite(norm):
                raise ArithmeticError("non-finite gradient in the fingerprint step")
            scale = min(1.0, config.grad_clip / norm) if norm > 0 else 1.0  # ‖∇‖ ≤ grad_clip
            for p, g in zip(params, grads):
                p.add_(config.lr_psi * scale * g)  # ascent: ψ ← ψ + η ∇J
    return True


def proximal_positions(
    solver,
    compass,
    response: np.ndarray,
    newest: dict,
    config: LearnerConfig,
) -> np.ndarray:
    """The seed's proximal Step 3 (``doc/design.md`` §7) on the particle positions.

    Maximises G(q) = Σ_i w_i ω_t log ℓ(y_t | θ_i, …) − S_ε(q, q_0)/(2ν) over θ_i = softmax(z_i)
    from q_0 = ``compass``, weights held, by ``proximal_steps`` ascent steps whose logit
    gradients are divided by w_i (per-unit-mass step). ``newest``: the newest answer's tensors
    (``concentration`` (1, M), ``task_value``, ``residual_mean``, ``residual_var``,
    ``approved``, ``omega``, each (1,)). Returns the new positions (N, M).
    """
    from .alignment import compass_tensors

    theta0, w0 = compass_tensors(compass)
    response_t = torch.from_numpy(response)
    position_logits = torch.log(torch.clamp(theta0, min=_LOG_FLOOR))
    mass = torch.clamp(w0, min=_LOG_FLOOR)
    penalty = 1.0 / (2.0 * config.nu)
    potential_0 = solver.self_transport(compass)[1]
    cross_init, self_init = (potential_0, potential_0), potential_0
    for _ in range(config.proximal_steps):
        z = position_logits.detach().requires_grad_(True)
        theta = torch.softmax(z, dim=1)
        log_lik = log_likelihood(
            theta,
            response_t,
            newest["concentration"],
            newest["task_value"],
            newest["residual_mean"],
            newest["residual_var"],
            newest["approved"],
            config.cost,
        )  # (1, N)
        particle_objective = newest["omega"][0] * log_lik[0]
        # ∇_θ S_ε(q, q_0) by the envelope theorem, in closed form (no graph)
        cross = solver.transport(theta, w0, theta0, w0, init=cross_init)
        own = solver.transport(theta, w0, None, None, init=self_init)
        cross_init, self_init = (cross.f, cross.g), own.f
        grad_theta = cross.grad_x - 0.5 * own.grad_x  # S_ε = OT(q,q_0) − ½OT(q,q) − ½OT(q_0,q_0)
        # S_ε enters through its gradient (a linear surrogate with the same derivative)
        objective = (w0 * particle_objective).sum() - penalty * (theta * grad_theta).sum()
        (grad_z,) = torch.autograd.grad(objective, [z])
        if not bool(torch.isfinite(grad_z).all()):
            raise ArithmeticError("non-finite value in the proximal Step 3 gradient")
        position_logits = position_logits + config.proximal_lr * grad_z / mass[:, None]
    with torch.no_grad():
        return torch.softmax(position_logits, dim=1).numpy()
