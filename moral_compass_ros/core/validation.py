# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Validation of candidate batches and answers against a :class:`~.config.LearnerConfig`
(every learner and the pre-training share it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .config import LearnerConfig
from .events import FeedbackEvent
from .value_space import check_simplex


def _as_float_array(value: Any, name: str, ndim: int) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric") from None
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    return arr


def validate_candidates(
    cfg: LearnerConfig, features, context, reward_mean=None, reward_std=None, value_hints=None
):
    """Validate a candidate batch against ``cfg``.

    Returns ``(features (B, F), context (C,), reward_mean (B,) | None, reward_std (B,) | None,
    value_hints (B, M) | None)`` as float64 arrays; raises ``ValueError`` on wrong shapes, NaN/inf,
    an empty batch or a hint off the simplex.
    """
    phi = _as_float_array(features, "features", 2)
    if phi.shape[0] == 0:
        raise ValueError("empty candidate set: features has B = 0 rows")
    if phi.shape[1] != cfg.feature_dim:
        raise ValueError(f"features must have shape (B, F={cfg.feature_dim}), got {phi.shape}")
    if not np.all(np.isfinite(phi)):
        raise ValueError("features contain NaN or inf")
    n = phi.shape[0]
    s = _as_float_array(context, "context", 1)
    if s.shape != (cfg.context_dim,):
        raise ValueError(f"context must have shape (C={cfg.context_dim},), got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError("context contains NaN or inf")
    rm = rs = None
    if reward_mean is not None:
        rm = _as_float_array(reward_mean, "reward_mean", 1)
        if rm.shape != (n,):
            raise ValueError(f"reward_mean must have shape ({n},), got {rm.shape}")
        if np.any(np.isinf(rm)):
            raise ValueError("reward_mean contains inf (use NaN for 'no estimate')")
    if reward_std is not None:
        rs = _as_float_array(reward_std, "reward_std", 1)
        if rs.shape != (n,):
            raise ValueError(f"reward_std must have shape ({n},), got {rs.shape}")
        if np.any(np.isinf(rs)) or np.any(rs[~np.isnan(rs)] <= 0.0):
            raise ValueError("reward_std must be > 0 and finite (NaN = default)")
    hints = None
    if value_hints is not None:
        hints = _as_float_array(value_hints, "value_hints", 2)
        if hints.shape != (n, cfg.n_values):
            raise ValueError(
                f"value_hints must have shape ({n}, M={cfg.n_values}), got {hints.shape}"
            )
        missing = np.isnan(hints)
        partial = missing.any(axis=1) & ~missing.all(axis=1)
        if np.any(partial):
            raise ValueError(
                "a value_hints row must be all NaN (no hint) or a full point on the simplex"
            )
        present = ~missing.any(axis=1)
        if np.any(present):
            check_simplex(hints[present], "value_hints")
    return phi, s, rm, rs, hints


def validate_event(cfg: LearnerConfig, event: FeedbackEvent) -> None:
    """Check an event's F, C and hint against ``cfg``; ``ValueError``/``SimplexError``
    otherwise."""
    if event.features.shape != (cfg.feature_dim,):
        raise ValueError(
            f"event {event.feedback_id}: features must have shape ({cfg.feature_dim},), got "
            f"{event.features.shape}"
        )
    if event.context.shape != (cfg.context_dim,):
        raise ValueError(
            f"event {event.feedback_id}: context must have shape ({cfg.context_dim},), got "
            f"{event.context.shape}"
        )
    if event.value_hint.size not in (0, cfg.n_values):
        raise ValueError(
            f"event {event.feedback_id}: value_hint must be empty or have shape "
            f"({cfg.n_values},), got {event.value_hint.shape}"
        )
    if event.value_hint.size:
        check_simplex(event.value_hint, f"event {event.feedback_id} value_hint")
