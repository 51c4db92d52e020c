# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Metric functions of ``moral-compass eval`` (private; pure numpy, no torch, no ROS).

Every function works on the per-query records of one episode (or on a list of per-seed
numbers) and is tested against hand-computed cases in ``test/core/test_eval_metrics.py``.

Conventions
-----------
* A *query* is one decision the person was asked about; skipped answers count as queries (the
  simulator's ``n_answers`` counts them too). "Answer count n" means "after n queries".
* ``ratio[t] = P(approve | chosen action) / P(approve | oracle action)`` of query t, from the
  simulator's noise-free approval probabilities of the person answering query t. It is in
  [0, 1] because the oracle maximises P(approve).
* Rolling means use a *full* trailing window of :data:`ROLLING_WINDOW` queries, so the
  earliest answer count a "reached" metric can report is the window length itself.
"""

from __future__ import annotations

import math
import warnings
from typing import Iterable, Optional, Sequence

import numpy as np

from moral_compass_ros.metrics import approval_quality

#: Length of the trailing window of the ratio-to-oracle rolling mean (queries).
ROLLING_WINDOW = 10
#: Fraction of the oracle's approval probability that counts as "learned".
ORACLE_FRACTION = 0.9
#: Floor of the oracle probability in the ratio (avoids 0/0 when every candidate is hopeless).
_P_FLOOR = 1e-12

__all__ = [
    "ORACLE_FRACTION",
    "ROLLING_WINDOW",
    "approval_rate_last",
    "bootstrap_mean_band",
    "answers_to_fraction_of_oracle",
    "cosine",
    "drift_recovery_answers",
    "ece",
    "ratio_to_oracle",
    "rolling_mean",
    "summarise",
]


def ratio_to_oracle(p_chosen: Sequence[float], p_oracle: Sequence[float]) -> np.ndarray:
    """Per-query ratio P(approve chosen) / P(approve oracle), shape (T,).

    Parameters
    ----------
    p_chosen, p_oracle : array_like, shape (T,)
        Noise-free approval probabilities of the chosen and of the oracle's action.

    Returns
    -------
    ndarray, shape (T,)
        ``p_chosen / max(p_oracle, 1e-12)``.

    Raises
    ------
    ValueError
        Shapes differ or a probability is outside [0, 1].
    """
    chosen = np.asarray(p_chosen, dtype=np.float64)
    oracle = np.asarray(p_oracle, dtype=np.float64)
    if chosen.shape != oracle.shape or chosen.ndim != 1:
        raise ValueError(
            f"p_chosen and p_oracle must be 1-D of equal length, got "
            f"{chosen.shape} and {oracle.shape}"
        )
    for name, p in (("p_chosen", chosen), ("p_oracle", oracle)):
        if np.any(~np.isfinite(p)) or np.any(p < 0.0) or np.any(p > 1.0):
            raise ValueError(f"{name} must hold probabilities in [0, 1]")
    return chosen / np.maximum(oracle, _P_FLOOR)


def rolling_mean(values: Sequence[float], window: int = ROLLING_WINDOW) -> np.ndarray:
    """Full-window trailing mean: ``out[n-1] = mean(values[n-window:n])``, NaN for n < window.

    Parameters
    ----------
    values : array_like, shape (T,)
    window : int
        ≥ 1.

    Returns
    -------
    ndarray, shape (T,)
        Entry ``n - 1`` is the mean of the ``window`` values up to and including query n.
    """
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {x.shape}")
    if int(window) != window or window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    out = np.full(x.shape, np.nan)
    if x.size >= window:
        csum = np.concatenate([[0.0], np.cumsum(x)])
        out[window - 1 :] = (csum[window:] - csum[:-window]) / window  # (S_n − S_{n−w}) / w
    return out


def answers_to_fraction_of_oracle(
    ratio: Sequence[float],
    fraction: float = ORACLE_FRACTION,
    window: int = ROLLING_WINDOW,
    start: int = 0,
) -> Optional[int]:
    """First answer count after which the rolling ratio-to-oracle is ≥ ``fraction``.

    Only windows lying entirely at or after query index ``start`` are considered; the count is
    measured from ``start``. So the result is the smallest k ≥ ``window`` with
    ``mean(ratio[start + k - window : start + k]) >= fraction``.

    Parameters
    ----------
    ratio : array_like, shape (T,)
        Per-query ratio to the oracle (:func:`ratio_to_oracle`).
    fraction : float
        Threshold, e.g. 0.9.
    window : int
        Rolling window length (queries).
    start : int
        Query index the count starts from (0 for the whole episode, the drift point for
        recovery).

    Returns
    -------
    int or None
        The answer count k (≥ ``window``), or None if the threshold is never reached within
        the episode (right-censored).
    """
    r = np.asarray(ratio, dtype=np.float64)
    if not 0 <= int(start) <= r.size:
        raise ValueError(f"start must be in [0, {r.size}], got {start}")
    means = rolling_mean(r[int(start) :], window)
    hits = np.flatnonzero(means >= fraction - 1e-12)
    return int(hits[0]) + 1 if hits.size else None


def drift_recovery_answers(
    ratio: Sequence[float],
    drift_point: int,
    fraction: float = ORACLE_FRACTION,
    window: int = ROLLING_WINDOW,
) -> Optional[int]:
    """Answers after ``drift_point`` until the post-drift rolling ratio is back ≥ ``fraction``.

    Same as :func:`answers_to_fraction_of_oracle` with ``start=drift_point``: only windows of
    queries answered *after* the drift count, so a learner that was good before the drift gets
    no credit for it, and ``window`` is the earliest possible value (no loss at all).

    Parameters
    ----------
    ratio : array_like, shape (T,)
    drift_point : int
        Index of the first query answered with the new profile (abrupt drift), or of the first
        query after the gradual drift ended.

    Returns
    -------
    int or None
        None if the episode ends first.
    """
    return answers_to_fraction_of_oracle(ratio, fraction, window, start=drift_point)


def approval_rate_last(approved: Sequence[Optional[bool]], last: int = 20) -> Optional[float]:
    """Fraction approved among the answered queries of the last ``last`` queries.

    Skipped queries (None) are dropped from the denominator; None if all were skipped.
    """
    tail = list(approved)[-int(last) :]
    answered = [bool(a) for a in tail if a is not None]
    return float(np.mean(answered)) if answered else None


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity a·b / (‖a‖ ‖b‖); ``ValueError`` for a zero vector or shape mismatch."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(
            f"cosine needs two 1-D vectors of equal length, got {x.shape} and {y.shape}"
        )
    norm = float(np.linalg.norm(x) * np.linalg.norm(y))
    if norm == 0.0:
        raise ValueError("cosine of a zero vector is undefined")
    return float(x @ y / norm)


def ece(
    predicted: Sequence[Optional[float]], approved: Sequence[Optional[bool]]
) -> Optional[float]:
    """Expected calibration error of predicted approval against the actual answers.

    Pairs with a skipped answer (None) or no prediction (None/NaN) are dropped; then
    :func:`moral_compass_ros.metrics.approval_quality` (equal-width bins).
    None if nothing is left.
    """
    pairs = [
        (float(p), float(bool(a)))
        for p, a in zip(predicted, approved)
        if a is not None and p is not None and math.isfinite(float(p))
    ]
    if not pairs:
        return None
    arr = np.array(pairs)
    return approval_quality(arr[:, 0], arr[:, 1])["ece"]


def summarise(values: Iterable[Optional[float]], censored_as_inf: bool = False) -> dict:
    """Median, quartiles and mean over seeds, with censored/missing values handled.

    Parameters
    ----------
    values : iterable of float or None
        One number per seed. None means "missing" (e.g. no answer), or — with
        ``censored_as_inf`` — "never reached", which counts as +inf in the order statistics.
    censored_as_inf : bool
        Treat None as +inf (right-censored) instead of dropping it.

    Returns
    -------
    dict
        ``n`` (seeds), ``n_valid`` (finite values), ``median``, ``q25``, ``q75`` (null when the
        order statistic is undefined or +inf), ``mean`` (of the finite values; null when any
        value is censored, because the mean of a censored sample is not defined).
    """
    raw = list(values)
    if censored_as_inf:
        data = np.array([math.inf if v is None else float(v) for v in raw], dtype=np.float64)
    else:
        data = np.array([float(v) for v in raw if v is not None], dtype=np.float64)
    out: dict = {"n": len(raw), "n_valid": int(np.sum(np.isfinite(data)))}
    if data.size == 0:
        out.update(median=None, q25=None, q75=None, mean=None)
        return out
    ordered = np.sort(data)

    def quantile(q: float) -> Optional[float]:
        # linear interpolation between order statistics (numpy's default), +inf stays +inf
        pos = q * (ordered.size - 1)
        lo, hi = int(math.floor(pos)), int(math.ceil(pos))
        a, b = ordered[lo], ordered[hi]
        if not (math.isfinite(a) and math.isfinite(b)):
            return None
        return float(a + (b - a) * (pos - lo))

    out.update(
        median=quantile(0.5),
        q25=quantile(0.25),
        q75=quantile(0.75),
        mean=float(np.mean(data)) if np.all(np.isfinite(data)) else None,
    )
    return out


def bootstrap_mean_band(
    curves: np.ndarray, rng: np.random.Generator, n_boot: int = 1000, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over seeds and a percentile-bootstrap confidence band, per column.

    Parameters
    ----------
    curves : ndarray, shape (S, T)
        One curve per seed; NaN entries are ignored column-wise.
    rng : numpy.random.Generator
        Source of the resampling (pass a seeded one for reproducible plots).
    n_boot : int
    level : float
        Two-sided confidence level.

    Returns
    -------
    mean, low, high : ndarray, shape (T,)
    """
    x = np.asarray(curves, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"curves must have shape (S, T), got {x.shape}")
    s = x.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
        mean = np.nanmean(x, axis=0)
        idx = rng.integers(s, size=(n_boot, s))
        boot = np.nanmean(x[idx], axis=1)  # (n_boot, T)
        alpha = (1.0 - level) / 2.0
        low = np.nanquantile(boot, alpha, axis=0)
        high = np.nanquantile(boot, 1.0 - alpha, axis=0)
    return mean, low, high
