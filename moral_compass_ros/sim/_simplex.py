"""Small helpers on the value simplex shared by the simulator modules (private)."""
from __future__ import annotations

from typing import Optional, Union

import numpy as np

#: Tolerance used when checking that a vector lies on the simplex (sum to 1, entries >= 0).
SIMPLEX_ATOL = 1e-9

SeedLike = Union[None, int, np.random.SeedSequence, np.random.Generator]


def as_generator(seed: SeedLike) -> np.random.Generator:
    """Return a ``numpy.random.Generator``: pass one through, or build one from a seed.

    ``None`` gives OS entropy (non-reproducible); every simulator entry point documents that a
    seed must be given for a reproducible episode.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(seed)


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``: exp(z - max z) / sum exp(z - max z)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def clr(p: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    """Centred log-ratio transform: clr(p)_i = log p_i - mean_j log p_j (inverse: softmax)."""
    logp = np.log(np.maximum(np.asarray(p, dtype=np.float64), floor))
    return logp - np.mean(logp, axis=-1, keepdims=True)


def check_simplex(theta: np.ndarray, name: str, size: Optional[int] = None) -> np.ndarray:
    """Validate a point on the simplex and return it as float64 (raises ``ValueError``)."""
    t = np.asarray(theta, dtype=np.float64)
    if t.ndim != 1:
        raise ValueError(f"{name} must be 1-D (M,), got shape {t.shape}")
    if size is not None and t.shape[0] != size:
        raise ValueError(f"{name} must have {size} entries, got {t.shape[0]}")
    if not np.all(np.isfinite(t)):
        raise ValueError(f"{name} contains NaN or inf")
    if np.any(t < -SIMPLEX_ATOL) or abs(float(np.sum(t)) - 1.0) > 1e-6:
        raise ValueError(f"{name} must lie on the simplex (entries >= 0, sum 1), got {t}")
    # Project away rounding beyond 1e-12 only, so that a valid input is kept bit for bit.
    t = np.clip(t, 0.0, None)
    total = float(np.sum(t))
    return t if abs(total - 1.0) <= 1e-12 else t / total


def project_rows_to_simplex(p: np.ndarray) -> np.ndarray:
    """Clip tiny negative rounding and renormalise each row of ``p`` (shape (..., M))."""
    q = np.clip(np.asarray(p, dtype=np.float64), 0.0, None)
    return q / np.sum(q, axis=-1, keepdims=True)
