# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The value space Θ: the probability simplex over M axiomatic values (``doc/design.md`` §1).

Every θ the package produces must be finite, non-negative and sum to one within
:data:`SIMPLEX_ATOL`; :meth:`ValueSpace.check` enforces that and raises :class:`SimplexError`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

#: The five Moral Foundations (Haidt & Graham), the default axiomatic values.
DEFAULT_VALUE_NAMES: tuple[str, ...] = ("care", "fairness", "loyalty", "authority", "sanctity")

#: Tolerance on ``|Σ θ − 1|`` and on ``min θ`` accepted by the simplex checks.
SIMPLEX_ATOL: float = 1e-9


class SimplexError(ValueError):
    """A vector that should lie on the simplex Θ does not (non-finite, negative or Σ ≠ 1)."""


def check_simplex(
    theta: np.ndarray, name: str = "theta", atol: float = SIMPLEX_ATOL
) -> np.ndarray:
    """Check that every row of ``theta`` lies on the probability simplex.

    .. math::

        \\theta_i \\ge 0, \\quad \\left|\\textstyle\\sum_i \\theta_i - 1\\right| \\le \\text{atol}

    Parameters
    ----------
    theta : array_like, shape (..., M)
        Points to check; the last axis is the simplex coordinate.
    name : str
        Name used in the error message.
    atol : float
        Tolerance on negativity and on the sum.

    Returns
    -------
    ndarray, shape (..., M)
        ``theta`` as a float64 array.

    Raises
    ------
    SimplexError
        If any entry is non-finite, below ``-atol``, or a row sum is off by more than ``atol``.
    """
    arr = np.asarray(theta, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise SimplexError(
            f"{name} must have a non-empty last (value) axis, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise SimplexError(f"{name} contains NaN or inf")
    if np.any(arr < -atol):
        raise SimplexError(f"{name} has negative entries (min {arr.min():.3g}); θ must be >= 0")
    sums = arr.sum(axis=-1)
    worst = float(np.max(np.abs(sums - 1.0)))
    if worst > atol:
        raise SimplexError(
            f"{name} rows must sum to 1 within {atol:g}; worst |Σθ−1| = {worst:.3g}"
        )
    return arr


class ValueSpace:
    """The simplex Θ = {θ ∈ R^M : θ_i ≥ 0, Σ_i θ_i = 1} over named values (``doc/design.md`` §1).

    Parameters
    ----------
    names : sequence of str
        Names of the M axiomatic values, unique and non-empty (M ≥ 2).

    Attributes
    ----------
    names : tuple of str
        The value names, in coordinate order.
    dim : int
        M, the number of values.
    """

    def __init__(self, names: Sequence[str] = DEFAULT_VALUE_NAMES) -> None:
        if isinstance(names, str):
            raise TypeError("names must be a sequence of strings, not a single string")
        names = tuple(names)
        if len(names) < 2:
            raise ValueError(f"a value space needs at least 2 values, got {len(names)}")
        if not all(isinstance(n, str) and n for n in names):
            raise ValueError("every value name must be a non-empty string")
        if len(set(names)) != len(names):
            raise ValueError(f"value names must be unique, got {names}")
        self.names: tuple[str, ...] = names

    @property
    def dim(self) -> int:
        """M, the number of axiomatic values."""
        return len(self.names)

    @property
    def center(self) -> np.ndarray:
        """The barycentre (1/M, …, 1/M), shape (M,)."""
        return np.full(self.dim, 1.0 / self.dim)

    def check(self, theta: np.ndarray, name: str = "theta") -> np.ndarray:
        """Check ``theta`` of shape (M,) or (N, M) lies on Θ; see :func:`check_simplex`.

        Raises
        ------
        SimplexError
            If the last axis is not M or a row is off the simplex.
        """
        arr = np.asarray(theta, dtype=np.float64)
        if arr.ndim == 0 or arr.shape[-1] != self.dim:
            raise SimplexError(
                f"{name} must have last axis of size M={self.dim}, got shape {arr.shape}"
            )
        return check_simplex(arr, name)

    def index(self, name: str) -> int:
        """Coordinate index of the value called ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"unknown value {name!r}; known: {self.names}") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValueSpace) and other.names == self.names

    def __hash__(self) -> int:
        return hash(self.names)

    def __repr__(self) -> str:
        return f"ValueSpace({list(self.names)!r})"
