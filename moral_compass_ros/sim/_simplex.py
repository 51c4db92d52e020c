# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Small helpers on the value simplex shared by the simulator modules (private)."""

from __future__ import annotations

from typing import Union

import numpy as np

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


def project_rows_to_simplex(p: np.ndarray) -> np.ndarray:
    """Clip tiny negative rounding and renormalise each row of ``p`` (shape (..., M))."""
    q = np.clip(np.asarray(p, dtype=np.float64), 0.0, None)
    return q / np.sum(q, axis=-1, keepdims=True)
