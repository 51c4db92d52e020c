# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Entropic optimal transport and the debiased Sinkhorn divergence on Θ (``doc/design.md`` §2).

Definitions fixed here, once, for the whole package:

.. math::

    \\mathrm{OT}_\\varepsilon(\\alpha, \\beta) = \\min_{P \\in \\Pi(a, b)}
        \\langle P, C \\rangle + \\varepsilon\\, \\mathrm{KL}(P \\,\\|\\, a \\otimes b),
    \\qquad
    S_\\varepsilon(\\alpha, \\beta) = \\mathrm{OT}_\\varepsilon(\\alpha, \\beta)
        - \\tfrac12 \\mathrm{OT}_\\varepsilon(\\alpha, \\alpha)
        - \\tfrac12 \\mathrm{OT}_\\varepsilon(\\beta, \\beta)

(Feydy et al. 2019). The **full** entropic objective is used — not the linear part
:math:`\\langle P^*, C\\rangle` that ``ot.bregman.empirical_sinkhorn_divergence`` returns, which
can make the "divergence" negative. With the full objective :math:`S_\\varepsilon \\ge 0`,
symmetric, and zero iff α = β.

Two entry points, each with an explicit ``method=`` (POT is the reference the tests and the
bench compare against):

* :func:`sinkhorn` — OT_ε between two weighted clouds (or one with itself), its potentials and
  its closed-form gradient (:func:`_transport_gradients`, the envelope theorem): the compass
  update's transports (the proximal step, the compass movement, the cached OT_ε(q, q)).
  ``method="auto"``: the kernel domain with compiled loops (:mod:`._sinkhorn_loops`) where
  exp(−C/ε) is representable (:func:`kernel_domain_ok`), the log domain otherwise or when that
  result is not finite; ``"log"``: the log domain always.
* :func:`sinkhorn_divergence` — S_ε, batched. ``method="kernel"``: the decision (Step 1), one
  compass against B candidate clouds in the kernel domain, float32 where ε allows, compiled
  loops, warm-started (:class:`WarmStart`); the learner falls back to ``"pot"`` where the
  kernel domain is not representable or a result is not finite. ``method="pot"``: POT's
  batched solver for the cross terms (:func:`_entropic_ot`: ``ot.batch.solve_batch``,
  ``reg_type="kl"``), the averaged symmetric fixed point for the self terms
  (:func:`_entropic_ot_self`), where POT's alternating iteration oscillates; differentiable;
  the fleet's and the pluralism's solver.

From POT's scalings (u, v) the potentials are :math:`f = \\varepsilon \\log(u/a)`,
:math:`g = \\varepsilon \\log(v/b)`, and the value is the dual objective

.. math::

    \\mathrm{OT}_\\varepsilon = \\langle f, a\\rangle + \\langle g, b\\rangle
      - \\varepsilon \\sum_{ij} a_i b_j \\left(e^{(f_i + g_j - C_{ij})/\\varepsilon} - 1\\right)

with the potentials detached; at convergence its autograd gradient is the exact gradient of
OT_ε in the weights and the support (envelope theorem). One tolerance everywhere: ``tol``
bounds the L1 marginal error Σ_i |Σ_j P_ij − a_i| of the plan (the compiled loops measure it
directly, the symmetric fixed point as Σ_i a_i |e^{(f_i − T_ε f_i)/ε} − 1|, which is the same
number, and POT is given tol/√N on its L2 norm, which implies it).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Optional, Union

import numpy as np
import ot
import torch

from .profiling import Profile, timed

ArrayLike = Union[np.ndarray, torch.Tensor]

#: Cost names understood by :func:`ground_cost`.
COSTS: tuple[str, ...] = ("sqeuclidean", "hellinger")

#: Weights are clamped below to this value inside the solver only (log(0) guard).
_TINY_WEIGHT: float = 1e-200
#: The largest ground cost on the simplex, for both costs (‖x − y‖² ≤ 2, ‖√x − √y‖² ≤ 2).
SIMPLEX_DIAMETER: float = 2.0
#: Solvers of the compass update's transports: the kernel domain where it is representable, or
#: the log domain (:func:`sinkhorn`, :func:`_symmetric_potential`).
METHODS: tuple[str, ...] = ("auto", "log")
#: The one kernel-domain limit, for every solver: kernel-domain (scaling) iterations while
#: max C/ε < this (exp(−200) ≈ 1e-87 leaves float64 ample room for the scalings, ≤ ~1e87, and
#: their products); above it, the log domain.
_F64_KERNEL_LIMIT: float = 200.0
#: The float32 precision limit of the decision's kernel path: max C/ε below this (exp(−80) ≈
#: 2e-35, above float32's smallest normal 1.2e-38) and a tolerance float32 can reach (its
#: marginal errors bottom out near 1e-6).
_F32_KERNEL_LIMIT: float = 80.0
_F32_MIN_TOL: float = 1e-5


def _to_tensor(x: ArrayLike) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        if x.dtype != torch.float64:
            x = x.to(torch.float64)
        return x
    arr = np.asarray(x, dtype=np.float64)
    return torch.from_numpy(arr)


def ground_cost(x: torch.Tensor, y: torch.Tensor, cost: str = "sqeuclidean") -> torch.Tensor:
    """Batched ground-cost matrices on Θ (``doc/design.md`` §2).

    .. math::
        C_{bij} = \\|x_{bi} - y_{bj}\\|^2 \\ (\\text{sqeuclidean}), \\qquad
        C_{bij} = \\|\\sqrt{x_{bi}} - \\sqrt{y_{bj}}\\|^2 \\ (\\text{hellinger})

    Parameters
    ----------
    x : torch.Tensor, shape (B, N, M) or (N, M)
    y : torch.Tensor, shape (B, K, M) or (K, M)
    cost : {"sqeuclidean", "hellinger"}

    Returns
    -------
    torch.Tensor, shape (B, N, K)
        Non-negative costs (B = 1 when both inputs are 2-D); differentiable.
    """
    if cost not in COSTS:
        raise ValueError(f"cost must be one of {COSTS}, got {cost!r}")
    if x.dim() == 2:
        x = x.unsqueeze(0)
    if y.dim() == 2:
        y = y.unsqueeze(0)
    # ‖x_i‖² + ‖y_j‖² − 2⟨x_i, y_j⟩ as one matmul of augmented coordinates: a single pass
    # writes the (B, N, K) result
    x_aug, y_aug_t = _augmented(x, y, cost)
    return torch.clamp(torch.matmul(x_aug, y_aug_t), min=0.0)


def _embedding(x: torch.Tensor, cost: str) -> torch.Tensor:
    """φ(x), with c(x, y) = ‖φ(x) − φ(y)‖²: x (sqeuclidean) or √x (hellinger), same shape; also
    the points ∇_x c(x, y) pulls x towards."""
    return x if cost == "sqeuclidean" else torch.sqrt(torch.clamp(x, min=1e-30))


def _augmented(
    x: torch.Tensor,
    y: torch.Tensor,
    cost: str,
    divisor: float = 1.0,
    dtype: Optional[torch.dtype] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Augmented coordinates :math:`\tilde x = (\varphi(x), \|\varphi(x)\|^2, 1)` and
    :math:`\tilde y = (-2\varphi(y), 1, \|\varphi(y)\|^2)/d` whose products are C/d
    (d = ``divisor``; −ε gives −C/ε for :func:`_gibbs_kernel`). Returns (x̃ (…, N, M + 2),
    ỹᵀ (…, M + 2, K)), in ``dtype`` when given."""
    x, y = _embedding(x, cost), _embedding(y, cost)
    x_aug = torch.cat([x, (x * x).sum(-1, keepdim=True), x.new_ones(x.shape[:-1] + (1,))], -1)
    y_aug = torch.cat(
        [
            y * (-2.0 / divisor),
            y.new_full(y.shape[:-1] + (1,), 1.0 / divisor),
            (y * y).sum(-1, keepdim=True) / divisor,
        ],
        -1,
    )
    if dtype is not None:
        x_aug, y_aug = x_aug.to(dtype), y_aug.to(dtype)
    return x_aug, y_aug.transpose(-1, -2)


def expected_cost_to_dirichlet(
    theta: torch.Tensor, concentration: torch.Tensor, cost: str = "sqeuclidean"
) -> torch.Tensor:
    """Exact D(θ, a) = E_{θ' ~ Dir(α)} c(θ, θ') for every particle and candidate (``doc/design.md``
    §3).

    .. math::
        \\text{sqeuclidean:}\\ D = \\|\\theta - m\\|^2 + \\frac{1 - \\|m\\|^2}{\\alpha_0 + 1},
        \\quad m = \\alpha / \\alpha_0 \\\\
        \\text{hellinger:}\\ D = 2 - 2 \\sum_k \\sqrt{\\theta_k}\\,
        \\frac{\\Gamma(\\alpha_k +
        \\tfrac12)\\Gamma(\\alpha_0)}{\\Gamma(\\alpha_k)\\Gamma(\\alpha_0 + \\tfrac12)}

    The closed form is the expectation ``doc/design.md`` §3 defines; a Monte-Carlo mean over
    fingerprint
    samples estimates the same number (tested) but adds sampling noise to the likelihood.

    Parameters
    ----------
    theta : torch.Tensor, shape (N, M)
        Particles.
    concentration : torch.Tensor, shape (B, M)
        Dirichlet concentrations α of the B fingerprints.
    cost : {"sqeuclidean", "hellinger"}

    Returns
    -------
    torch.Tensor, shape (B, N)
    """
    alpha0 = concentration.sum(-1, keepdim=True)  # α_0, (B, 1)
    if cost == "sqeuclidean":
        mean = concentration / alpha0  # m = α/α_0
        trace_cov = (1.0 - (mean * mean).sum(-1)) / (
            alpha0[:, 0] + 1.0
        )  # tr Cov = (1 − ‖m‖²)/(α_0 + 1)
        return ground_cost(theta, mean, "sqeuclidean")[0].transpose(0, 1) + trace_cov[:, None]
    if cost == "hellinger":
        log_e_sqrt = (
            torch.lgamma(concentration + 0.5)
            - torch.lgamma(concentration)
            + torch.lgamma(alpha0)
            - torch.lgamma(alpha0 + 0.5)
        )  # log E√θ'_k
        e_sqrt = torch.exp(log_e_sqrt)  # (B, M)
        sqrt_theta = _embedding(theta, cost)  # √θ, (N, M)
        return 2.0 - 2.0 * e_sqrt @ sqrt_theta.T  # E‖√θ − √θ'‖² = Σθ + Σθ' − 2Σ√θ E√θ'
    raise ValueError(f"cost must be one of {COSTS}, got {cost!r}")


def _softmin(
    cost_over_eps: torch.Tensor, log_weights_plus_pot: torch.Tensor, dim: int
) -> torch.Tensor:
    return torch.logsumexp(log_weights_plus_pot - cost_over_eps, dim=dim)


def _entropic_ot(
    cost_matrix: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    epsilon: float,
    *,
    max_iter: int = 1000,
    tol: float = 1e-9,
    method: str = "auto",
) -> torch.Tensor:
    """Batched full entropic OT value, differentiable by the envelope theorem (``doc/design.md``
    §2).

    .. math::
        \\mathrm{OT}_\\varepsilon = \\min_{P \\in \\Pi(a,b)} \\langle P, C\\rangle
            + \\varepsilon \\mathrm{KL}(P \\| a \\otimes b)

    Solved by ``ot.batch.solve_batch(C, reg=ε, a, b, reg_type="kl", grad="detach")`` (see the
    module docstring for POT's return convention and how it is converted).

    Parameters
    ----------
    cost_matrix : torch.Tensor, shape (B, N, K)
    a : torch.Tensor, shape (B, N)
        Source weights, ≥ 0, each row summing to 1.
    b : torch.Tensor, shape (B, K)
        Target weights, ≥ 0, each row summing to 1.
    epsilon : float
        ε > 0.
    max_iter, tol : int, float
        Iteration cap, and the bound on the L1 marginal error Σ_i |Σ_j P_ij − a_i| (POT is
        given tol/√N on its L2 norm, which implies it).
    method : {"auto", "sinkhorn", "log_sinkhorn"}
        "auto" takes the kernel domain when ``max C / ε`` is below the one limit (200).

    Returns
    -------
    torch.Tensor, shape (B,)
        The values; gradients flow to ``cost_matrix``, ``a`` and ``b``.

    Warns
    -----
    RuntimeWarning
        If POT stopped at ``max_iter`` with a marginal error above ``tol``.
    """
    if not epsilon > 0.0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    eps = float(epsilon)
    cost_detached = cost_matrix.detach()
    a_solve = torch.clamp(a.detach(), min=_TINY_WEIGHT)
    b_solve = torch.clamp(b.detach(), min=_TINY_WEIGHT)
    if method == "auto":
        max_cost = float(cost_detached.max()) if cost_detached.numel() else 0.0
        method = "sinkhorn" if max_cost / eps < _F64_KERNEL_LIMIT else "log_sinkhorn"
    if method not in ("sinkhorn", "log_sinkhorn"):
        raise ValueError(f"method must be 'auto', 'sinkhorn' or 'log_sinkhorn', got {method!r}")
    result = ot.batch.solve_batch(
        cost_detached,
        reg=eps,
        a=a_solve,
        b=b_solve,
        max_iter=int(max_iter),
        # POT stops on the L2 norm of the marginal error; ‖·‖₁ ≤ √N ‖·‖₂, so tol/√N there bounds
        # the L1 error every other solver of the package stops on by tol
        tol=float(tol) / math.sqrt(max(1, cost_detached.shape[1])),
        method=method,
        reg_type="kl",
        grad="detach",
    )
    _, scaling_v = result.potentials
    log_v = torch.log(scaling_v) if method == "sinkhorn" else scaling_v  # log-scaling of b-side
    log_a, log_b = torch.log(a_solve), torch.log(b_solve)
    cost_over_eps = cost_detached / eps
    with torch.no_grad():
        g = eps * (log_v - log_b)  # g_j = ε log(v_j / b_j)
        g = torch.nan_to_num(g, nan=-torch.inf)
        f = -eps * _softmin(
            cost_over_eps, (log_b + g / eps)[:, None, :], dim=2
        )  # f_i = −ε log Σ_j b_j e^{(g_j − C_ij)/ε}
        g = -eps * _softmin(
            cost_over_eps, (log_a + f / eps)[:, :, None], dim=1
        )  # g_j = −ε log Σ_i a_i e^{(f_i − C_ij)/ε}
        kernel_ratio = torch.exp(
            (f[:, :, None] + g[:, None, :]) / eps - cost_over_eps
        )  # T_ij / (a_i b_j)
        # g is exact for the columns, so the residual violation is on the rows: Σ_i |Σ_j T_ij −
        # a_i|
        row_error = (torch.abs((kernel_ratio * b_solve[:, None, :]).sum(2) - 1.0) * a_solve).sum(
            -1
        )
    n_iter = int(result.log.get("n_iter", 0))
    worst = float(row_error.max()) if row_error.numel() else 0.0
    if n_iter >= int(max_iter) - 1 and worst > tol:
        warnings.warn(
            f"Sinkhorn (POT {method}) did not converge in {max_iter} iterations: marginal error "
            f"{worst:.2e} > tol {tol:.1e} (epsilon={eps})",
            RuntimeWarning,
            stacklevel=2,
        )
    return _dual_value(cost_matrix, a, b, f, g, eps)


def _dual_value(
    cost_matrix: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    f: torch.Tensor,
    g: torch.Tensor,
    eps: float,
) -> torch.Tensor:
    r"""Dual objective at detached potentials; by the envelope theorem its autograd gradient is
    the gradient of OT_ε in (C, a, b).

    .. math:: \langle f, a\rangle + \langle g, b\rangle - \varepsilon \sum_{ij} a_i b_j
              \left(e^{(f_i + g_j - C_{ij})/\varepsilon} - 1\right)
    """
    ratio = torch.exp((f[:, :, None] + g[:, None, :] - cost_matrix) / eps)
    mass_term = torch.einsum("bi,bij,bj->b", a, ratio, b) - a.sum(-1) * b.sum(-1)
    return (
        (a * f).sum(-1) + (b * g).sum(-1) - eps * mass_term
    )  # <f,a> + <g,b> − ε Σ a_i b_j (e^{…} − 1)


def _transport_gradients(
    cost_matrix: torch.Tensor,
    x: torch.Tensor,
    a: torch.Tensor,
    y: torch.Tensor,
    b: torch.Tensor,
    f: torch.Tensor,
    g: torch.Tensor,
    epsilon: float,
    cost: str = "sqeuclidean",
    *,
    symmetric: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Gradient of OT_ε(α, β) in the support x and weights a of α, at potentials (f, g).

    Exactly what autograd gives for :func:`_dual_value` with the potentials detached (the
    envelope theorem), without building a graph over the N×K matrices:

    .. math::
        E_{ij} = e^{(f_i + g_j - C_{ij})/\varepsilon},\quad T_{ij} = a_i b_j E_{ij},\quad
        \frac{\partial}{\partial a_i} = f_i - \varepsilon\Big(\sum_j b_j E_{ij} - \sum_j
        b_j\Big),\quad
        \frac{\partial}{\partial x_i} = \sum_j T_{ij}\, \nabla_x c(x_i, y_j)

    with :math:`\nabla_x c = 2(x_i - y_j)` (sqeuclidean) or :math:`1 - \sqrt{y_j}/\sqrt{x_i}`
    (hellinger, per coordinate). ``symmetric=True`` is OT_ε(α, α) (y = x, b = a, g = f), where
    α appears on both sides, so both gradients double.

    Parameters
    ----------
    cost_matrix : torch.Tensor, shape (N, K)
        C(x, y).
    x, a : torch.Tensor, shapes (N, M), (N,)
    y, b : torch.Tensor, shapes (K, M), (K,)
    f, g : torch.Tensor, shapes (N,), (K,)
    epsilon : float
    cost : {"sqeuclidean", "hellinger"}
    symmetric : bool

    Returns
    -------
    grad_x : torch.Tensor, shape (N, M)
    grad_a : torch.Tensor, shape (N,)
    """
    if cost not in COSTS:
        raise ValueError(f"cost must be one of {COSTS}, got {cost!r}")
    eps = float(epsilon)
    targets = _embedding(y, cost)
    weighted = torch.cat([b[:, None], b[:, None] * targets], 1)  # (K, 1 + M): b_j, b_j y_j
    if kernel_domain_ok(float(cost_matrix.max()), eps):
        # E_ij = e^{f_i/ε} e^{−C_ij/ε} e^{g_j/ε}: one exp pass for the kernel, then one matmul
        # (no N×K temporaries for f_i + g_j − C_ij)
        kernel = torch.exp(cost_matrix * (-1.0 / eps))
        sums = torch.exp(f / eps)[:, None] * (kernel @ (torch.exp(g / eps)[:, None] * weighted))
    else:  # e^{−C/ε} would underflow: form E directly
        sums = torch.exp((f[:, None] + g[None, :] - cost_matrix) / eps) @ weighted
    return _gradients_from_sums(x, a, f, sums, float(b.sum()), eps, cost, symmetric)


def _gradients_from_sums(
    x: torch.Tensor,
    a: torch.Tensor,
    f: torch.Tensor,
    sums: torch.Tensor,
    b_total: float,
    eps: float,
    cost: str,
    symmetric: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""∂OT_ε/∂x and ∂OT_ε/∂a from the row sums :math:`\sum_j b_j E_{ij} (1, t_j)`, ``sums`` (N, 1
    + M)
    (t = :func:`_embedding` of the targets); see :func:`_transport_gradients`."""
    ratio_b = sums[:, 0]  # Σ_j b_j E_ij
    plan_rows = a * ratio_b  # Σ_j T_ij
    transported = a[:, None] * sums[:, 1:]  # Σ_j T_ij y_j (or √y_j)
    grad_a = f - eps * (ratio_b - b_total)
    if cost == "sqeuclidean":
        grad_x = 2.0 * (plan_rows[:, None] * x - transported)  # Σ_j T_ij 2(x_i − y_j)
    else:
        sqrt_x = _embedding(x, cost)
        grad_x = torch.where(
            x > 1e-30, plan_rows[:, None] - transported / sqrt_x, 0.0
        )  # Σ_j T_ij (1 − √y_j/√x_i)
    if symmetric:
        return 2.0 * grad_x, 2.0 * grad_a
    return grad_x, grad_a


def _averaged_potentials(
    cost_matrix: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    epsilon: float,
    *,
    max_iter: int = 1000,
    tol: float = 1e-9,
    init: Optional[tuple[torch.Tensor, torch.Tensor]] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Dual potentials (f, g) of OT_ε(α, β) by the averaged Sinkhorn iteration in the log domain
    (no gradient).

    .. math::
        f \leftarrow \tfrac12\big(f + T_b(g)\big),\quad g \leftarrow \tfrac12\big(g + T_a(f)\big),
        \quad T_b(g)_i = -\varepsilon \log \textstyle\sum_j b_j e^{(g_j - C_{ij})/\varepsilon}

    (Feydy et al. 2019), finished by one exact pair of c-transforms. It stays stable for any ε
    (no exp(−C/ε) is formed), which makes it the fallback of :func:`sinkhorn` where
    the kernel would underflow. ``init`` warm-starts from potentials ``(f, g)`` of a nearby
    problem. Tested against POT on random inputs.

    Parameters
    ----------
    cost_matrix : torch.Tensor, shape (B, N, K)
    a, b : torch.Tensor, shapes (B, N), (B, K)
    epsilon, max_iter, tol
        ε, iteration cap, tolerance on the larger of the two weighted marginal errors.
    init : (f (B, N), g (B, K)), optional

    Returns
    -------
    f, g : torch.Tensor, shapes (B, N), (B, K)
        Detached potentials.
    """
    if not epsilon > 0.0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    eps = float(epsilon)
    with torch.no_grad():
        cost_over_eps = cost_matrix.detach() / eps
        a_solve = torch.clamp(a.detach(), min=_TINY_WEIGHT)
        b_solve = torch.clamp(b.detach(), min=_TINY_WEIGHT)
        log_a, log_b = torch.log(a_solve), torch.log(b_solve)
        if init is None:
            f, g = torch.zeros_like(a_solve), torch.zeros_like(b_solve)
        else:
            f, g = init[0].detach().clone(), init[1].detach().clone()
        error = float("inf")
        for _ in range(int(max_iter)):
            f_new = -eps * _softmin(cost_over_eps, (log_b + g / eps)[:, None, :], dim=2)  # T_b(g)
            g_new = -eps * _softmin(cost_over_eps, (log_a + f / eps)[:, :, None], dim=1)  # T_a(f)
            error = float(
                torch.maximum(
                    ((torch.expm1((f - f_new) / eps)).abs() * a_solve).sum(-1),
                    ((torch.expm1((g - g_new) / eps)).abs() * b_solve).sum(-1),
                ).max()
            )
            f, g = 0.5 * (f + f_new), 0.5 * (g + g_new)  # averaged updates
            if error < tol:
                break
        f = -eps * _softmin(cost_over_eps, (log_b + g / eps)[:, None, :], dim=2)
        g = -eps * _softmin(cost_over_eps, (log_a + f / eps)[:, :, None], dim=1)
    if error >= tol:
        warnings.warn(
            f"averaged Sinkhorn did not converge in {max_iter} iterations: marginal error "
            f"{error:.2e} > tol {tol:.1e} (epsilon={eps})",
            RuntimeWarning,
            stacklevel=2,
        )
    return f, g


def _symmetric_potential(
    cost_matrix: torch.Tensor,
    a: torch.Tensor,
    epsilon: float,
    *,
    max_iter: int = 1000,
    tol: float = 1e-9,
    init: Optional[torch.Tensor] = None,
    method: str = "auto",
) -> torch.Tensor:
    """Potential f = g of OT_ε(α, α) by the averaged fixed point f ← ½(f + T_ε f), shape (B, N).

    Shapes: ``cost_matrix`` (B, N, N) symmetric, ``a`` (B, N); ``init`` (B, N) warm start.
    ``method``: :data:`METHODS` (``"auto"``: the kernel domain where exp(−C/ε) is
    representable, else the log domain). No gradient is tracked.
    """
    if not epsilon > 0.0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    eps = float(epsilon)
    with torch.no_grad():
        cost_over_eps = cost_matrix.detach() / eps
        a_solve = torch.clamp(a.detach(), min=_TINY_WEIGHT)
        log_a = torch.log(a_solve)[:, None, :]
        f = torch.zeros_like(a_solve) if init is None else init.detach().clone()
        error = float("inf")
        max_cost = float(cost_over_eps.max()) if cost_over_eps.numel() else 0.0
        if method == "auto" and kernel_domain_ok(max_cost, 1.0) and bool(torch.isfinite(f).all()):
            # kernel domain, s = e^{f/ε}: s ← √(s / K(a s)) (exp(−C/ε) once, then mat-vecs)
            kernel = torch.exp(-cost_over_eps).contiguous()
            f, _, _, error = _self_scalings(kernel, a_solve, eps, tol, max_iter, f)
            if not bool(torch.isfinite(f).all()):
                return _symmetric_potential(
                    cost_matrix, a, epsilon, max_iter=max_iter, tol=tol, init=init, method="log"
                )
        else:
            for _ in range(int(max_iter)):
                transform = -eps * _softmin(
                    cost_over_eps, log_a + f[:, None, :] / eps, dim=2
                )  # T_ε(f)
                error = float(((torch.expm1((f - transform) / eps)).abs() * a_solve).sum(-1).max())
                f = 0.5 * (f + transform)  # f ← ½ (f + T_ε f)
                if error < tol:
                    break
            f = -eps * _softmin(
                cost_over_eps, log_a + f[:, None, :] / eps, dim=2
            )  # final exact c-transform
    if error >= tol:
        warnings.warn(
            f"symmetric Sinkhorn did not converge in {max_iter} iterations: marginal error "
            f"{error:.2e} > tol {tol:.1e} (epsilon={eps})",
            RuntimeWarning,
            stacklevel=2,
        )
    return f


def _entropic_ot_self(
    cost_matrix: torch.Tensor,
    a: torch.Tensor,
    epsilon: float,
    *,
    max_iter: int = 1000,
    tol: float = 1e-9,
) -> torch.Tensor:
    r"""Batched symmetric self-transport OT_ε(α, α), differentiable (``doc/design.md`` §2).

    POT's alternating Sinkhorn oscillates on symmetric problems: measured on 30-point clouds
    at ε = 0.03 it needs 1 400–14 000 iterations for OT_ε(α, α) against ~200 for a cross term.
    The self-terms therefore use the symmetric averaged fixed point of Feydy et al. (2019)

    .. math::

        f \leftarrow \tfrac12 \big(f - \varepsilon \log \textstyle\sum_j a_j e^{(f_j -
        C_{ij})/\varepsilon}\big)

    in the log domain, which converges in tens of iterations; the result is tested against POT
    on random inputs. The value is the dual objective with g = f (see :func:`_entropic_ot`).

    Parameters
    ----------
    cost_matrix : torch.Tensor, shape (B, N, N)
        Symmetric costs C(x, x).
    a : torch.Tensor, shape (B, N)
        Weights (≥ 0, Σ = 1).
    epsilon, max_iter, tol
        ε, iteration cap, tolerance on Σ_i a_i |row-marginal ratio − 1|.

    Returns
    -------
    torch.Tensor, shape (B,)
    """
    f = _symmetric_potential(cost_matrix.detach(), a.detach(), epsilon, max_iter=max_iter, tol=tol)
    return _dual_value(cost_matrix, a, a, f, f, float(epsilon))


def _as_batch(
    points: torch.Tensor, weights: torch.Tensor, name: str
) -> tuple[torch.Tensor, torch.Tensor]:
    if points.dim() == 2:
        points = points.unsqueeze(0)
    if weights.dim() == 1:
        weights = weights.unsqueeze(0)
    if points.dim() != 3:
        raise ValueError(
            f"{name} points must have shape (B, n, M) or (n, M), got {tuple(points.shape)}"
        )
    if weights.dim() != 2 or weights.shape[-1] != points.shape[1]:
        raise ValueError(
            f"{name} weights must have shape (B, {points.shape[1]}) or ({points.shape[1]},), got "
            f"{tuple(weights.shape)}"
        )
    if points.shape[1] == 0:
        raise ValueError(f"{name} has no support points")
    if not (torch.isfinite(points).all() and torch.isfinite(weights).all()):
        raise ValueError(f"{name} contains NaN or inf")
    if (weights < 0).any():
        raise ValueError(f"{name} weights must be >= 0")
    if (torch.abs(weights.detach().sum(-1) - 1.0) > 1e-6).any():
        raise ValueError(f"{name} weights must sum to 1")
    return points, weights


def sinkhorn_divergence(
    x: ArrayLike,
    a: ArrayLike,
    y: ArrayLike,
    b: ArrayLike,
    epsilon: float,
    cost: str = "sqeuclidean",
    *,
    method: str = "pot",
    ot_xx: Optional[ArrayLike] = None,
    max_iter: int = 1000,
    tol: float = 1e-9,
    warm: Optional["WarmStart"] = None,
    profile: Optional[Profile] = None,
) -> ArrayLike:
    """Batched debiased Sinkhorn divergence S_ε between weighted point clouds (``doc/design.md``
    §2): the package's one S_ε solver, ``method`` choosing how.

    .. math::
        S_\\varepsilon(\\alpha_b, \\beta_b) = \\mathrm{OT}_\\varepsilon(\\alpha_b, \\beta_b)
          - \\tfrac12 \\mathrm{OT}_\\varepsilon(\\alpha_b, \\alpha_b)
          - \\tfrac12 \\mathrm{OT}_\\varepsilon(\\beta_b, \\beta_b),
        \\quad \\alpha_b = \\sum_i a_{bi} \\delta_{x_{bi}},\\ \\beta_b = \\sum_j b_{bj}
        \\delta_{y_{bj}}

    with OT_ε the full entropic objective (module docstring). A 2-D ``x`` (one cloud, e.g. the
    compass) is shared by every batch entry and its self-term is solved once.

    * ``method="pot"``: the cross terms by POT's batched solver (``ot.batch.solve_batch``,
      ``reg_type="kl"``; kernel or log domain by max C/ε), the self-terms by the averaged
      symmetric fixed point (:func:`_entropic_ot_self`). Any inputs; differentiable; the
      reference, and the fleet's and the pluralism's solver.
    * ``method="kernel"``: the decision's path (:func:`_kernel_divergence`): one cloud ``x``
      (N, M) against B uniformly weighted clouds ``y`` (B, K, M), kernel domain, compiled
      loops, float32 where ε and ``tol`` allow, warm-started from ``warm`` (updated in place).
      Needs :func:`kernel_domain_ok` and ``ot_xx``; no gradient. A non-finite result is
      returned as is (the caller falls back to ``"pot"``).

    Parameters
    ----------
    x : array_like, shape (B, N, M) or (N, M)
        Support of α.
    a : array_like, shape (B, N) or (N,)
        Weights of α (≥ 0, Σ = 1).
    y : array_like, shape (B, K, M) or (K, M)
        Support of β.
    b : array_like, shape (B, K) or (K,)
        Weights of β.
    epsilon : float
        Entropic regularisation ε > 0 (the simplex's squared diameter is 2).
    cost : {"sqeuclidean", "hellinger"}
        Ground cost c.
    ot_xx : array_like, optional, shape () or (B,)
        Precomputed OT_ε(α, α) (the learner caches it per compass version).
    method : {"pot", "kernel"}
        See above.
    max_iter, tol
        Iteration cap and tolerance on the marginal error.
    warm : WarmStart, optional
        ``"kernel"`` only: the scalings of a previous call on the same cloud ``x``, replaced by
        this call's.
    profile : Profile, optional
        ``"kernel"`` only: receives the iterations, errors, precision and where the time went.

    Returns
    -------
    ndarray or torch.Tensor, shape (B,)
        S_ε per batch entry (torch, differentiable, if any input is a tensor; else numpy).

    Raises
    ------
    ValueError
        On inconsistent shapes, NaN/inf, negative weights or weights not summing to 1.
    """
    if method == "kernel":
        return _kernel_entry(x, a, y, b, epsilon, cost, ot_xx, max_iter, tol, warm, profile)
    if method != "pot":
        raise ValueError(f"method must be 'pot' or 'kernel', got {method!r}")
    as_torch = any(isinstance(v, torch.Tensor) for v in (x, a, y, b))
    xt, at = _as_batch(_to_tensor(x), _to_tensor(a), "x")
    yt, bt = _as_batch(_to_tensor(y), _to_tensor(b), "y")
    if xt.shape[-1] != yt.shape[-1]:
        raise ValueError(
            f"x and y must have the same dimension M, got {xt.shape[-1]} and {yt.shape[-1]}"
        )
    if xt.shape[0] != at.shape[0] and 1 not in (xt.shape[0], at.shape[0]):
        raise ValueError("x and a batch sizes differ")
    n_batch = max(xt.shape[0], at.shape[0], yt.shape[0], bt.shape[0])
    for name, t in (("x", xt), ("a", at), ("y", yt), ("b", bt)):
        if t.shape[0] not in (1, n_batch):
            raise ValueError(f"batch size of {name} ({t.shape[0]}) does not match B={n_batch}")
    solve = dict(max_iter=max_iter, tol=tol)
    # OT_ε(α, β): cross term, (B,)
    cost_xy = ground_cost(xt, yt, cost).expand(n_batch, -1, -1)
    ot_xy = _entropic_ot(cost_xy, at.expand(n_batch, -1), bt.expand(n_batch, -1), epsilon, **solve)
    # OT_ε(α, α): self term, solved once per distinct α
    if ot_xx is None:
        n_x = max(xt.shape[0], at.shape[0])
        xx = xt.expand(n_x, -1, -1)
        ax = at.expand(n_x, -1)
        ot_xx_t = _entropic_ot_self(
            ground_cost(xx, xx, cost), ax, epsilon, max_iter=max_iter, tol=tol
        )
    else:
        ot_xx_t = _to_tensor(ot_xx).reshape(-1)
    n_y = max(yt.shape[0], bt.shape[0])
    yy = yt.expand(n_y, -1, -1)
    by = bt.expand(n_y, -1)
    ot_yy = _entropic_ot_self(ground_cost(yy, yy, cost), by, epsilon, max_iter=max_iter, tol=tol)
    divergence = ot_xy - 0.5 * ot_xx_t - 0.5 * ot_yy  # S_ε = OT(α,β) − ½OT(α,α) − ½OT(β,β)
    if as_torch:
        return divergence
    return divergence.detach().numpy()


@dataclass
class WarmStart:
    """Scalings carried from one kernel-path S_ε call to the next on the same cloud.

    Attributes
    ----------
    log_u : torch.Tensor, shape (B, N)
    log_s : torch.Tensor, shape (B, K)
        The log-scalings of the cross and self terms; zeros are a cold start.
    """

    log_u: torch.Tensor
    log_s: torch.Tensor


def _kernel_entry(x, a, y, b, epsilon, cost, ot_xx, max_iter, tol, warm, profile) -> torch.Tensor:
    """``sinkhorn_divergence(method="kernel")``: checks, then :func:`_kernel_divergence`."""
    if ot_xx is None:
        raise ValueError("method='kernel' needs ot_xx, OT_ε(α, α)")
    theta, w, samples, weights = (_to_tensor(v) for v in (x, a, y, b))
    if theta.dim() != 2 or samples.dim() != 3:
        raise ValueError("method='kernel' takes one cloud x (N, M) and clouds y (B, K, M)")
    k = samples.shape[1]
    if not torch.allclose(weights, torch.full_like(weights, 1.0 / k)):
        raise ValueError("method='kernel' needs uniformly weighted clouds y (b = 1/K)")
    divergence, state, info = _kernel_divergence(
        theta,
        w,
        samples,
        epsilon,
        cost,
        ot_xx=_to_tensor(ot_xx),
        max_iter=max_iter,
        tol=tol,
        init=None if warm is None else (warm.log_u, warm.log_s),
        profile=profile,
    )
    if warm is not None and bool(torch.isfinite(divergence).all()):
        warm.log_u, warm.log_s = state
    if profile is not None:
        profile.info.update(info)
    return divergence


# ====================================================================== kernel-domain scoring path
#: Size of the block of cross kernels formed and iterated at once in Step 1 (fits a core's L2).
_KERNEL_CHUNK_BYTES: int = 1 << 19
#: Weights are clamped below to this in the float32 path (1e-200 underflows to 0 there).
_F32_TINY_WEIGHT: float = 1e-30


def warm_up_solvers() -> None:
    """Compile (or load from numba's on-disk cache) the solvers' loops now, not on first use."""
    from . import _sinkhorn_loops as loops

    loops.warm_up()


def kernel_domain_ok(max_cost: float, epsilon: float) -> bool:
    """True when exp(−C/ε) is representable in float64 for every entry (no underflow to 0)."""
    return max_cost / float(epsilon) < _F64_KERNEL_LIMIT


def _scoring_precision(max_cost: float, epsilon: float, tol: float) -> torch.dtype:
    """float32 where ε and ``tol`` allow it (see ``_F32_KERNEL_LIMIT``), else float64."""
    if max_cost / float(epsilon) < _F32_KERNEL_LIMIT and tol >= _F32_MIN_TOL:
        return torch.float32
    return torch.float64


def _gibbs_kernel(
    x: torch.Tensor, y: torch.Tensor, cost: str, eps: float, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    r"""exp(−C/ε) for x (N, M) or (B, N, M) against y (K, M) or (B, K, M): one matmul and one exp.

    With augmented coordinates :math:`\tilde x = (x, \|x\|^2, 1)` and
    :math:`\tilde y = (2y, -1, -\|y\|^2)/\varepsilon`,
    :math:`\tilde x \cdot \tilde y = -\|x - y\|^2/\varepsilon = -C/\varepsilon`, so the
    kernel is written once, in ``dtype``, with no (B, N, K) temporaries. In float32 the entries
    carry a relative error of about 4e-6 (cancellation in C/ε ≤ 40); the alignment values stay
    within 1e-6 of float64 (tested).
    """
    x_aug, y_aug_t = _augmented(x, y, cost, -eps, dtype)
    # rounding can leave −C/ε a hair above 0 where C = 0; e^{1e-6} is harmless, so no clamp pass
    return torch.matmul(x_aug, y_aug_t).exp_()


@dataclass(frozen=True)
class TransportResult:
    """OT_ε(α, β) with its dual potentials and, when asked for, its gradient in α.

    Attributes
    ----------
    value : torch.Tensor, shape ()
        OT_ε(α, β) (float64).
    f, g : torch.Tensor, shapes (N,), (K,)
        Dual potentials (g = f for a self-transport); pass ``(f, g)`` (or ``f``) back as
        ``init`` to warm-start a nearby problem.
    grad_x, grad_a : torch.Tensor or None, shapes (N, M), (N,)
        ∂OT_ε/∂x and ∂OT_ε/∂a (see :func:`_transport_gradients`); None unless requested.
    iterations : int
    error : float
        Final marginal error.
    """

    value: torch.Tensor
    f: torch.Tensor
    g: torch.Tensor
    grad_x: Optional[torch.Tensor]
    grad_a: Optional[torch.Tensor]
    iterations: int
    error: float


def _self_scalings(
    kernel: torch.Tensor,
    a: torch.Tensor,
    eps: float,
    tol: float,
    max_iter: int,
    f_init: Optional[torch.Tensor],
) -> tuple[torch.Tensor, np.ndarray, int, float]:
    """Potentials f (B, N) and values OT_ε(α_b, α_b) (B,) of symmetric problems on float64
    kernels (B, N, N) by the compiled averaged fixed point
    (:func:`._sinkhorn_loops.self_transport`),
    with the final exact c-transform f = −ε log K(a s). Returns (f, values, iterations, error)."""
    from . import _sinkhorn_loops as loops

    a = a.expand(kernel.shape[0], -1).contiguous()
    scaling = (torch.ones_like(a) if f_init is None else torch.exp(f_init / eps)).contiguous()
    n_batch = scaling.shape[0]
    values, iterations, errors = (
        np.zeros(n_batch),
        np.zeros(n_batch, dtype=np.int64),
        np.zeros(n_batch),
    )
    loops.self_transport(
        kernel.numpy(),
        a.numpy(),
        scaling.numpy(),
        eps,
        float(tol),
        int(max_iter),
        values,
        iterations,
        errors,
    )  # in place on `scaling`
    f = -eps * torch.log(
        torch.bmm(kernel, (a * scaling)[:, :, None])[:, :, 0]
    )  # exact c-transform
    return f, values, int(iterations.max()), float(errors.max())


def _kernel_transport(
    x, a, y, b, eps, cost, tol, max_iter, init, gradients
) -> Optional[TransportResult]:
    """:func:`sinkhorn` in the kernel domain (y None: self-transport); None if the
    result is not finite (the caller then takes the log domain)."""
    from . import _sinkhorn_loops as loops

    symmetric = y is None
    a_solve = torch.clamp(a, min=_TINY_WEIGHT)
    kernel = _gibbs_kernel(x, x if symmetric else y, cost, eps)  # e^{−C/ε}, (N, K)
    if symmetric:
        f, values, iterations, error = _self_scalings(
            kernel[None], a_solve[None], eps, tol, max_iter, None if init is None else init[None]
        )
        f, g, value = f[0], f[0], torch.tensor(values[0], dtype=torch.float64)
        u = v = a_solve * torch.exp(f / eps)  # T = diag(u) K diag(v)
        b_total = float(a.sum())
    else:
        b_solve = torch.clamp(b, min=_TINY_WEIGHT)
        u = (a_solve.clone() if init is None else a_solve * torch.exp(init[0] / eps))[
            None
        ]  # written in place
        v = torch.empty_like(b_solve)[None]
        counts, errors = np.zeros(1, dtype=np.int64), np.zeros(1)
        # alternating Sinkhorn, warm-started: v ← b / Kᵀu, u ← a / K v, then a final exact v-step
        # (over-relaxed where it converges slowly: nearly equal clouds in the proximal step)
        loops.relaxed_cross_scalings(
            kernel[None].numpy(),
            a_solve.numpy(),
            b_solve.numpy(),
            u.numpy(),
            v.numpy(),
            float(tol),
            int(max_iter),
            counts,
            errors,
        )
        u, v = u[0], v[0]
        iterations, error = int(counts[0]), float(errors[0])
        f, g = (
            eps * torch.log(u / a_solve),
            eps * torch.log(v / b_solve),
        )  # f = ε log(u/a), g = ε log(v/b)
        value = (a_solve * f).sum() + (
            b_solve * g
        ).sum()  # the dual's mass term is 0: columns exact
        b_total = float(b.sum())
    # a non-finite entry of f or g makes ⟨a, f⟩ + ⟨b, g⟩ non-finite (a, b > 0); the symmetric value
    # comes from the compiled loop, so f is checked on its own there (g is f)
    if not bool(torch.isfinite(value)) or (symmetric and not bool(torch.isfinite(f).all())):
        return None
    grad_x = grad_a = None
    if gradients:
        # Σ_j b_j E_ij (1, t_j) = (u_i / a_i) Σ_j K_ij v_j (1, t_j): one matmul with the kernel
        targets = _embedding(x if symmetric else y, cost)
        sums = (u / a_solve)[:, None] * (kernel @ torch.cat([v[:, None], v[:, None] * targets], 1))
        grad_x, grad_a = _gradients_from_sums(x, a, f, sums, b_total, eps, cost, symmetric)
    return TransportResult(value, f, g, grad_x, grad_a, iterations, error)


def sinkhorn(
    x: torch.Tensor,
    a: torch.Tensor,
    y: Optional[torch.Tensor],
    b: Optional[torch.Tensor],
    epsilon: float,
    cost: str = "sqeuclidean",
    *,
    tol: float = 1e-9,
    max_iter: int = 1000,
    init=None,
    gradients: bool = True,
    method: str = "auto",
) -> TransportResult:
    r"""OT_ε(α, β) between two weighted clouds, its potentials and its gradient in α's support
    and weights, in one solve (the compass update's workhorse; no autograd graph).

    ``y = b = None`` gives the self-transport OT_ε(α, α). In the kernel domain
    (:func:`kernel_domain_ok`) the Gibbs kernel :math:`K = e^{-C/\varepsilon}` is formed once
    (one matmul, one exp pass) and serves the iterations, the value and the gradient:

    * cross term: alternating Sinkhorn on scalings, :math:`v \leftarrow b / K^\top u,\
      u \leftarrow a / K v` (compiled), stopped when :math:`\sum_i |u_i (K v)_i - a_i|` <
      ``tol``; value :math:`\langle f, a\rangle + \langle g, b\rangle` with
      :math:`f = \varepsilon \log(u/a),\ g = \varepsilon \log(v/b)`. Warm-started from the
      potentials of a nearby problem it needs few iterations (measured at N = 512 in the
      update: about 18 per proximal step, against 54 for the averaged iteration this replaced);
    * self term: the averaged symmetric fixed point (:func:`_symmetric_potential`);
    * gradient: :func:`_transport_gradients` with
      :math:`\sum_j b_j E_{ij}(1, t_j) = (u_i/a_i) \sum_j K_{ij} v_j (1, t_j)`, one matmul.

    Otherwise, or when the kernel-domain result is not finite, the log-domain iterations
    (:func:`_averaged_potentials`, :func:`_symmetric_potential`) with :func:`_dual_value` and
    :func:`_transport_gradients`. Both paths are tested against POT and autograd.

    Parameters
    ----------
    x, a : torch.Tensor, shapes (N, M), (N,)
        α's support and weights (Σ a = 1).
    y, b : torch.Tensor or None, shapes (K, M), (K,)
        β's; None for OT_ε(α, α).
    epsilon : float
    cost : {"sqeuclidean", "hellinger"}
    tol, max_iter : float, int
        Tolerance on the marginal error and iteration cap.
    init : (f (N,), g (K,)) or f (N,) for a self-transport, optional
        Potentials of a nearby problem (warm start).
    gradients : bool
        Compute ``grad_x`` and ``grad_a``.
    method : {"auto", "log"}
        ``"auto"``: the kernel domain where exp(−C/ε) is representable, the log domain
        otherwise or when that result is not finite; ``"log"``: the log domain always.

    Returns
    -------
    TransportResult

    Warns
    -----
    RuntimeWarning
        If the iteration stopped at ``max_iter`` with the marginal error above ``tol``.
    """
    if not epsilon > 0.0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    if cost not in COSTS:
        raise ValueError(f"cost must be one of {COSTS}, got {cost!r}")
    if (y is None) != (b is None):
        raise ValueError("give both y and b, or neither (self-transport)")
    eps = float(epsilon)
    symmetric = y is None
    with torch.no_grad():
        x, a = x.detach(), a.detach()
        result = None
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if method == "auto" and kernel_domain_ok(SIMPLEX_DIAMETER, eps):
            result = _kernel_transport(x, a, y, b, eps, cost, tol, max_iter, init, gradients)
        if result is None:  # the log domain
            other, other_weights = (x, a) if symmetric else (y.detach(), b.detach())
            cost_matrix = ground_cost(x, other, cost)
            if symmetric:
                f = _symmetric_potential(
                    cost_matrix,
                    a[None],
                    eps,
                    max_iter=max_iter,
                    tol=tol,
                    init=None if init is None else init[None],
                    method="log",
                )[0]
                g = f
            else:
                f, g = _averaged_potentials(
                    cost_matrix,
                    a[None],
                    other_weights[None],
                    eps,
                    max_iter=max_iter,
                    tol=tol,
                    init=None if init is None else (init[0][None], init[1][None]),
                )
                f, g = f[0], g[0]
            value = _dual_value(cost_matrix, a[None], other_weights[None], f[None], g[None], eps)[
                0
            ]
            grad_x = grad_a = None
            if gradients:
                grad_x, grad_a = _transport_gradients(
                    cost_matrix[0],
                    x,
                    a,
                    other,
                    other_weights,
                    f,
                    g,
                    eps,
                    cost,
                    symmetric=symmetric,
                )
            return TransportResult(value, f, g, grad_x, grad_a, -1, math.nan)
    if result.error >= tol:
        warnings.warn(
            f"{'symmetric' if symmetric else 'alternating'} Sinkhorn did not converge in "
            f"{max_iter} "
            f"iterations: marginal error {result.error:.2e} > tol {tol:.1e} (epsilon={eps})",
            RuntimeWarning,
            stacklevel=2,
        )
    return result


def divergence_lower_bound(
    theta: torch.Tensor, w: torch.Tensor, samples: torch.Tensor, cost: str = "sqeuclidean"
) -> torch.Tensor:
    r"""A lower bound on S_ε(α, β_b) that costs no transport: the squared distance of the means
    in the cost's embedding (φ(x) = x for sqeuclidean, √x for hellinger).

    .. math:: S_\varepsilon(\alpha, \beta) \ \ge\ \|E_\alpha \varphi - E_\beta \varphi\|^2
              \quad\text{for every } \varepsilon > 0

    Why: with c(x, y) = ‖φ(x) − φ(y)‖² and Δ = E_α φ − E_β φ, every coupling P of α and β has
    ⟨P, c⟩ = ⟨P, c̃⟩ + ‖Δ‖², c̃ the cost between the centred embeddings, and the entropy term
    does not see the shift; so OT_ε(α, β) = OT_ε(α̃, β̃) + ‖Δ‖² while the self-terms are shift
    invariant, hence S_ε(α, β) = S_ε(α̃, β̃) + ‖Δ‖² ≥ ‖Δ‖² (S_ε ≥ 0: the Gibbs kernel of a
    squared Euclidean cost is positive definite, Feydy et al. 2019). Tested against the solver.
    Step 1 uses it to skip candidates that cannot win (``prune_candidates``).

    Parameters
    ----------
    theta, w : torch.Tensor, shapes (N, M), (N,)
    samples : torch.Tensor, shape (B, K, M)
        Uniformly weighted clouds.
    cost : {"sqeuclidean", "hellinger"}

    Returns
    -------
    torch.Tensor, shape (B,)
    """
    if cost not in COSTS:
        raise ValueError(f"cost must be one of {COSTS}, got {cost!r}")
    delta = _embedding(samples, cost).mean(1) - w @ _embedding(
        theta, cost
    )  # E_β φ − E_α φ, (B, M)
    return (delta * delta).sum(-1)


def _kernel_divergence(
    theta: torch.Tensor,
    w: torch.Tensor,
    samples: torch.Tensor,
    epsilon: float,
    cost: str = "sqeuclidean",
    *,
    ot_xx: torch.Tensor,
    max_iter: int = 1000,
    tol: float = 1e-9,
    init: Optional[tuple[torch.Tensor, torch.Tensor]] = None,
    dtype: Optional[torch.dtype] = None,
    profile: Optional[Profile] = None,
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], dict]:
    r"""S_ε(α, β_b) for one weighted cloud α = Σ w_i δ_{θ_i} against B uniform clouds β_b, in the
    kernel domain, warm-startable (the Step 1 hot path; no gradient).

    The kernels :math:`K_{bij} = e^{-C_{bij}/\varepsilon}` are formed once (B·N·K + B·K·K
    exponentials — the whole exp budget); the iterations then run compiled, one candidate at a
    time (:mod:`._sinkhorn_loops`):

    * cross term, alternating Sinkhorn on scalings ``u`` (B, N), ``v`` (B, K):
      :math:`v \leftarrow b / K^\top u,\ u \leftarrow a / K v`, stopped per candidate when the
      row-marginal error :math:`\sum_i |u_i (K v)_i - a_i|` < ``tol`` (columns are exact after
      the v-step); value :math:`\langle f, a\rangle + \langle g, b\rangle` with
      :math:`f = \varepsilon\log(u/a),\ g = \varepsilon \log(v/b)` (the mass term of the dual is
      exactly 0 when the columns are exact);
    * self term OT_ε(β, β), the averaged symmetric fixed point of :func:`_symmetric_potential`
      in scaling form (see :func:`._sinkhorn_loops.self_transport`).

    The value is stationary in the potentials, so its error is second order in the marginal
    error: at ``tol`` = 1e-3 it matches a 1e-9 solve to about 1e-7 (measured by the bench and
    tested). Same definitions as the POT path (:func:`sinkhorn_divergence`); tested against POT
    on random inputs. Requires :func:`kernel_domain_ok` (callers fall back to the log-domain/POT
    path otherwise, or when the result is not finite).

    Parameters
    ----------
    theta, w : torch.Tensor, shapes (N, M), (N,)
        The compass particles and weights.
    samples : torch.Tensor, shape (B, K, M)
        Uniformly weighted clouds β_b.
    ot_xx : torch.Tensor, shape () or (1,)
        OT_ε(α, α) (cached per compass version by the learner).
    init : (log_u (B, N), log_s (B, K)), optional
        Warm start (from a previous call on the same compass); ignored on a shape mismatch or
        when not finite.
    dtype : torch.dtype, optional
        Precision of the kernels and scalings; default :func:`_scoring_precision` (float32 when
        ε and ``tol`` allow). The values are always assembled in float64.
    profile : Profile, optional
        Receives where the time went (ms): ``kernel_ms`` (forming every kernel: the matmuls and
        the exponentials), ``cross_ms`` and ``self_ms`` (the compiled iterations of each term).

    Returns
    -------
    divergence : torch.Tensor, shape (B,), float64
    state : (log_u, log_s)
        The final log-scalings, to warm-start the next call.
    info : dict
        ``{"iterations_cross", "iterations_self", "error_cross", "error_self", "dtype"}``
        (iterations and errors: the worst candidate) and ``"iterations_cross_mean"``.
    """
    from . import _sinkhorn_loops as loops  # here: numba's import cost only where it is used

    eps = float(epsilon)
    dtype = dtype or _scoring_precision(SIMPLEX_DIAMETER, eps, tol)
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    tiny = _F32_TINY_WEIGHT if dtype == torch.float32 else _TINY_WEIGHT
    with torch.no_grad():
        n_batch, k = samples.shape[0], samples.shape[1]
        a = torch.clamp(w, min=tiny)  # (N,)
        with timed(profile, "kernel_ms"):
            kernel_yy = _gibbs_kernel(samples, samples, cost, eps, dtype).numpy()  # (B, K, K)
        u = np.ones((n_batch, a.shape[0]), dtype=np_dtype)
        s = np.ones((n_batch, k), dtype=np_dtype)
        if (
            init is not None
            and tuple(init[0].shape) == u.shape
            and tuple(init[1].shape) == s.shape
            and bool(torch.isfinite(init[0]).all())
            and bool(torch.isfinite(init[1]).all())
        ):
            u[...] = torch.exp(init[0]).numpy()
            s[...] = torch.exp(init[1]).numpy()
        v = np.empty((n_batch, k), dtype=np_dtype)
        iterations_cross = np.zeros(n_batch, dtype=np.int64)
        error_cross = np.zeros(n_batch)
        a_np, b_np = a.numpy().astype(np_dtype), np.full(k, 1.0 / k, dtype=np_dtype)
        # the cross kernels a chunk of candidates at a time, into one buffer that stays in the
        # core's L2 cache from the exp pass through every iteration (B·N·K entries at once
        # would go to memory and come back)
        theta_aug, samples_aug_t = _augmented(theta, samples, cost, -eps, dtype)
        chunk = max(
            1, min(n_batch, _KERNEL_CHUNK_BYTES // (a.shape[0] * k * np.dtype(np_dtype).itemsize))
        )
        buffer = torch.empty((chunk, a.shape[0], k), dtype=dtype)
        for start in range(0, n_batch, chunk):
            stop = min(n_batch, start + chunk)
            kernel = buffer[: stop - start]
            with timed(profile, "kernel_ms"):
                torch.matmul(theta_aug, samples_aug_t[start:stop], out=kernel)  # −C/ε
                kernel.exp_()
            with timed(profile, "cross_ms"):
                loops.plain_cross_scalings(
                    kernel.numpy(),
                    a_np,
                    b_np,
                    u[start:stop],
                    v[start:stop],
                    float(tol),
                    int(max_iter),
                    iterations_cross[start:stop],
                    error_cross[start:stop],
                )
        ot_yy = np.zeros(n_batch)
        iterations_self = np.zeros(n_batch, dtype=np.int64)
        error_self = np.zeros(n_batch)
        with timed(profile, "self_ms"):
            loops.self_transport(
                kernel_yy,
                np.full((n_batch, k), 1.0 / k, dtype=np_dtype),
                s,
                eps,
                float(tol),
                int(max_iter),
                ot_yy,
                iterations_self,
                error_self,
            )
        a64 = a.to(torch.float64)
        log_u, log_v = (
            torch.from_numpy(u).to(torch.float64).log(),
            torch.from_numpy(v).to(torch.float64).log(),
        )
        f = eps * (log_u - torch.log(a64))  # f = ε log(u/a)
        g = eps * (log_v + math.log(k))  # g = ε log(v/b), b = 1/K
        ot_xy = (a64 * f).sum(-1) + g.mean(-1)  # ⟨f, a⟩ + ⟨g, b⟩; mass term = Σ T − 1 = 0
        divergence = (
            ot_xy - 0.5 * ot_xx.reshape(-1).to(torch.float64) - 0.5 * torch.from_numpy(ot_yy)
        )
    worst_cross, worst_self = float(error_cross.max()), float(error_self.max())
    if (worst_cross >= tol or worst_self >= tol) and bool(torch.isfinite(divergence).all()):
        warnings.warn(
            f"kernel Sinkhorn did not converge in {max_iter} iterations: marginal errors "
            f"{worst_cross:.2e}, {worst_self:.2e} > tol {tol:.1e} (epsilon={eps})",
            RuntimeWarning,
            stacklevel=2,
        )
    info = {
        "iterations_cross": int(iterations_cross.max()),
        "iterations_self": int(iterations_self.max()),
        "error_cross": worst_cross,
        "error_self": worst_self,
        "dtype": str(np_dtype.__name__),
        "iterations_cross_mean": float(iterations_cross.mean()),
    }
    # (u c, v / c) is the same plan for every c > 0, and warm start after warm start lets the
    # scale of u drift (measured: e^88 after 74 decisions, then float32 overflow); the state is
    # stored with mean log u = 0, which leaves the next solve unchanged
    state = (log_u - log_u.mean(-1, keepdim=True), torch.from_numpy(s).to(torch.float64).log())
    return divergence, state, info
