# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Pluralism measures (after Kasirzadeh): whose answers shaped the compass, how many values it
weighs, and how much operators disagree. Pure numpy.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np


def effective_number(shares: np.ndarray) -> float:
    """Exp of the Shannon entropy of non-negative ``shares`` (normalised): 1..len(shares).

    .. math:: N_\\text{eff} = \\exp\\big(-\\sum_k p_k \\log p_k\\big),\\quad p = s / \\sum s

    Returns 0 when every share is 0 (nothing to count).
    """
    shares = np.asarray(shares, dtype=np.float64)
    if shares.ndim != 1 or np.any(shares < 0) or not np.all(np.isfinite(shares)):
        raise ValueError("shares must be a 1-D array of finite, non-negative numbers")
    total = shares.sum()
    if total <= 0:
        return 0.0
    p = shares[shares > 0] / total
    return float(np.exp(-np.sum(p * np.log(p))))


def origin_pluralism(contributions: Mapping[str, float]) -> float:
    """Effective number of operators whose answers shaped the compass.

    ``contributions[o]`` = sum over o's applied answers of (policy weight x compass movement
    S_eps(q_{t+1}, q_t) that answer caused); see :func:`effective_number`.
    """
    return effective_number(np.array(list(contributions.values()), dtype=np.float64))


def criteria_pluralism(compass_mean: np.ndarray) -> float:
    """Effective number of values the compass gives weight to: exp(H(mean)), in [1, M]."""
    return effective_number(np.asarray(compass_mean, dtype=np.float64))


def movement_shares(contributions: Mapping[str, float]) -> dict[str, float]:
    """Share of the compass's total movement each operator caused (sums to 1, or all 0)."""
    total = float(sum(contributions.values()))
    return {k: (v / total if total > 0 else 0.0) for k, v in contributions.items()}
