# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Quality of approval predictions: one definition for the demo report, the evaluation and the
replay.

Brier score, log loss and the expected calibration error over :data:`RELIABILITY_BINS`
equal-width bins of the predicted approval (and the reliability diagram's points).
"""

from __future__ import annotations

import math

import numpy as np

#: Equal-width bins of the predicted approval for the ECE and the reliability diagram.
RELIABILITY_BINS = 10


def approval_quality(
    predicted: np.ndarray, approved: np.ndarray, bins: int = RELIABILITY_BINS
) -> dict:
    """Brier score, log loss and expected calibration error of approval predictions.

    .. math:: \\mathrm{Brier} = \\frac1n\\sum (\\hat y - y)^2, \\quad
              \\mathrm{LL} = -\\frac1n\\sum y\\log\\hat y + (1-y)\\log(1-\\hat y), \\quad
              \\mathrm{ECE} = \\sum_b \\frac{n_b}{n}\\,|\\bar y_b - \\bar{\\hat y}_b|

    Parameters
    ----------
    predicted : ndarray, shape (n,)
        ŷ in [0, 1].
    approved : ndarray, shape (n,)
        y in {0, 1}.
    bins : int
        Equal-width bins of ŷ for the ECE and the reliability diagram.

    Returns
    -------
    dict
        ``n, brier, log_loss, ece, approval_rate, mean_predicted, reliability`` (per bin:
        ``lo, hi, n, mean_predicted, observed``); NaN metrics when ``n == 0``.
    """
    p = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(approved, dtype=np.float64)
    if p.shape != y.shape or p.ndim != 1:
        raise ValueError(
            f"predicted and approved must be 1-D of one length, got {p.shape}, {y.shape}"
        )
    n = int(p.shape[0])
    if n == 0:
        return {
            "n": 0,
            "brier": math.nan,
            "log_loss": math.nan,
            "ece": math.nan,
            "approval_rate": math.nan,
            "mean_predicted": math.nan,
            "reliability": [],
        }
    clipped = np.clip(p, 1e-12, 1 - 1e-12)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    reliability, ece = [], 0.0
    for b in range(bins):
        mask = index == b
        if not mask.any():
            continue
        mean_p, observed = float(p[mask].mean()), float(y[mask].mean())
        ece += mask.sum() / n * abs(observed - mean_p)  # ECE = Σ n_b/n |ȳ_b − ŷ_b|
        reliability.append(
            {
                "lo": float(edges[b]),
                "hi": float(edges[b + 1]),
                "n": int(mask.sum()),
                "mean_predicted": mean_p,
                "observed": observed,
            }
        )
    return {
        "n": n,
        "brier": float(np.mean((p - y) ** 2)),  # (ŷ − y)²
        "log_loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))),
        "ece": float(ece),
        "approval_rate": float(y.mean()),
        "mean_predicted": float(p.mean()),
        "reliability": reliability,
    }
