# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The alignment S_ε(q_t, P^A(a)) of Step 1, its warm starts and caches (``doc/design.md`` §5).

Every published score carries S_ε as the explanation of the decision; the seed's selection rule
also ranks by it. :class:`AlignmentSolver` keeps what makes it fast between calls: OT_ε(q, q)
and its potential per compass, and the per-candidate Sinkhorn scalings of the previous decision
on the same compass.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch

from .compass import Compass
from .config import LearnerConfig
from .profiling import Profile
from .sinkhorn import (
    SIMPLEX_DIAMETER,
    TransportResult,
    WarmStart,
    divergence_lower_bound,
    kernel_domain_ok,
    sinkhorn,
    sinkhorn_divergence,
)

#: Candidates scored exactly per round of the pruned Step 1 (``prune_candidates``).
PRUNE_ROUND = 8


def compass_tensors(compass: Compass) -> tuple[torch.Tensor, torch.Tensor]:
    """(θ (N, M), w (N,)) of a compass as float64 tensors (copies)."""
    return torch.from_numpy(np.array(compass.particles)), torch.from_numpy(
        np.array(compass.weights)
    )


class AlignmentSolver:
    """S_ε between the compass and fingerprint clouds, with warm starts (module docstring).

    Parameters
    ----------
    config : LearnerConfig
        ε, cost, tolerances and the iteration cap.
    """

    def __init__(self, config: LearnerConfig) -> None:
        self.config = config
        self._self_ot: Optional[tuple[Compass, torch.Tensor, torch.Tensor]] = None
        # (compass, log u (B, N), log s (B, K)) of the previous decisions on that compass
        self._warm: Optional[tuple[Compass, torch.Tensor, torch.Tensor]] = None

    def reset_warm_start(self) -> None:
        """Forget the previous decision's scalings (the next solve starts cold)."""
        self._warm = None

    def forget(self) -> None:
        """Drop every cache (the compass was replaced)."""
        self._self_ot = None
        self._warm = None

    def transport(
        self, x, a, y, b, init=None, gradients: bool = True, tol: Optional[float] = None
    ) -> TransportResult:
        """OT_ε(α, β) (or OT_ε(α, α) when y is None), warm-started, at the update's tolerance
        (``sinkhorn_tol``) unless ``tol`` is given."""
        cfg = self.config
        return sinkhorn(
            x,
            a,
            y,
            b,
            cfg.epsilon,
            cfg.cost,
            tol=cfg.sinkhorn_tol if tol is None else tol,
            max_iter=cfg.sinkhorn_max_iter,
            init=init,
            gradients=gradients,
        )

    def self_transport(self, compass: Compass) -> tuple[torch.Tensor, torch.Tensor]:
        """OT_ε(q, q) and its symmetric potential f (N,), cached per compass object."""
        cache = self._self_ot
        if cache is None or cache[0] is not compass:
            theta, w = compass_tensors(compass)
            own = self.transport(theta, w, None, None, gradients=False)
            self._self_ot = (compass, own.value, own.f)
        return self._self_ot[1], self._self_ot[2]

    def movement(self, old: Compass, new: Compass) -> float:
        """S_ε(new, old), a reported number like the alignment, so its cross term is solved to
        ``scoring_tol``; also primes the OT_ε(new, new) cache (to ``sinkhorn_tol``) for the next
        decision."""
        t_old, w_old = compass_tensors(old)
        t_new, w_new = compass_tensors(new)
        ot_old, potential_old = self.self_transport(old)
        own = self.transport(t_new, w_new, None, None, init=potential_old, gradients=False)
        cross = self.transport(
            t_new,
            w_new,
            t_old,
            w_old,
            init=(own.f, potential_old),
            gradients=False,
            tol=self.config.scoring_tol,
        )
        self._self_ot = (new, own.value, own.f)
        return float(torch.clamp(cross.value - 0.5 * own.value - 0.5 * ot_old, min=0.0))

    def divergences(
        self,
        compass: Compass,
        samples: torch.Tensor,
        index: np.ndarray,
        method: str = "auto",
        profile: Optional[Profile] = None,
    ) -> np.ndarray:
        """S_ε(q, β_b) for the fingerprint clouds ``samples`` (b, K, M) of candidates ``index``
        (b,), shape (b,).

        :func:`~.sinkhorn.sinkhorn_divergence` with ``method="kernel"`` (compiled, warm-started
        per candidate index from the previous decision on the same compass) when exp(−C/ε) is
        representable; otherwise, or if that result is not finite, ``method="pot"``. Both stop
        on the marginal tolerance ``scoring_tol``; a warm start changes the result only within
        it.
        """
        cfg = self.config
        theta, w = compass_tensors(compass)
        uniform = torch.full(samples.shape[:2], 1.0 / samples.shape[1], dtype=torch.float64)
        solve = dict(
            ot_xx=self.self_transport(compass)[0],
            max_iter=cfg.sinkhorn_max_iter,
            tol=cfg.scoring_tol,
        )
        if method == "auto" and kernel_domain_ok(SIMPLEX_DIAMETER, cfg.epsilon):
            log_u, log_s, warm = self._warm_state(
                compass, int(index.max()) + 1, theta.shape[0], samples.shape[1]
            )
            rows = torch.from_numpy(index)
            start = WarmStart(log_u[rows], log_s[rows])
            divergence = sinkhorn_divergence(
                theta,
                w,
                samples,
                uniform,
                cfg.epsilon,
                cfg.cost,
                method="kernel",
                warm=start,
                profile=profile,
                **solve,
            )
            if torch.isfinite(divergence).all():
                log_u[rows], log_s[rows] = start.log_u, start.log_s
                if profile is not None:
                    profile.info.update(solver="kernel", warm=warm)
                return divergence.numpy()
            self._warm = None
        if profile is not None:
            profile.info.update(solver="pot", warm=False)
        return sinkhorn_divergence(
            theta, w, samples, uniform, cfg.epsilon, cfg.cost, method="pot", **solve
        ).numpy()

    def pruned_divergences(
        self,
        compass: Compass,
        samples: torch.Tensor,
        total_at: Callable[[np.ndarray, np.ndarray], np.ndarray],
        eligible: np.ndarray,
        method: str,
        profile: Optional[Profile],
    ) -> tuple[np.ndarray, np.ndarray]:
        """S_ε for the candidates that can still win; (divergence (B,), is_bound (B,) bool).

        ``total_at(divergence, index)`` is the selection total of candidates ``index`` at those
        divergences, non-increasing in them. S_ε ≥ ‖E_q θ − E_a θ‖²
        (:func:`~.sinkhorn.divergence_lower_bound`), so the total at the bound is an upper
        bound. Eligible candidates are scored exactly in decreasing order of that bound, a round
        at a time, until the best exact total beats the next bound (a tie is still scored, so
        the first-index tie rule holds); the rest keep the bound.
        """
        theta, w = compass_tensors(compass)
        divergence = divergence_lower_bound(theta, w, samples, self.config.cost).numpy()
        is_bound = np.ones(len(divergence), dtype=bool)
        upper = total_at(divergence, np.arange(len(divergence)))
        order = [int(i) for i in np.argsort(-upper, kind="stable") if eligible[i]]
        best, position = -np.inf, 0
        while position < len(order) and upper[order[position]] >= best:
            index = np.array(order[position : position + PRUNE_ROUND])
            divergence[index] = self.divergences(compass, samples[index], index, method, profile)
            is_bound[index] = False
            best = max(best, float(np.max(total_at(divergence[index], index))))
            position += PRUNE_ROUND
        return divergence, is_bound

    def _warm_state(
        self, compass: Compass, n_candidates: int, n: int, k: int
    ) -> tuple[torch.Tensor, torch.Tensor, bool]:
        """The per-candidate log-scalings (log u (B, N), log s (B, K)) kept from the previous
        decisions on this compass, grown to ``n_candidates`` rows; rows never solved are 0,
        which is the cold start. Returns (log_u, log_s, whether any came from a decision)."""
        warm = self._warm
        if (
            warm is None
            or warm[0] is not compass
            or warm[1].shape[1:] != (n,)
            or warm[2].shape[1:] != (k,)
        ):
            warm = (
                compass,
                torch.zeros((0, n), dtype=torch.float64),
                torch.zeros((0, k), dtype=torch.float64),
            )
        reused = warm[1].shape[0] > 0
        if warm[1].shape[0] < n_candidates:
            grow = n_candidates - warm[1].shape[0]
            warm = (
                compass,
                torch.cat([warm[1], torch.zeros((grow, n), dtype=torch.float64)]),
                torch.cat([warm[2], torch.zeros((grow, k), dtype=torch.float64)]),
            )
        self._warm = warm
        return warm[1], warm[2], reused
