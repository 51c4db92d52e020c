# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The optional profiling hook: the one place the mathematics reads a clock.

Pass a :class:`Profile` to :meth:`~moral_compass_ros.core.DynamicValueLearner.score` (the bench
and the tests do) and it is filled with what the decision did and where its time went; without
one nothing is timed, so the learner's results never depend on a clock.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional


@dataclass
class Profile:
    """What one call did (``info``), with wall times in ms under ``*_ms`` keys.

    Attributes
    ----------
    clock : callable
        Seconds, monotonic (default :func:`time.perf_counter`).
    info : dict
        Filled by the call: the solver (``"kernel"`` or ``"pot"``), whether it was warm-started,
        its precision, iterations and marginal errors, and ``sampling_ms``, ``kernel_ms``,
        ``cross_ms``, ``self_ms`` (summed over the call).
    """

    clock: Callable[[], float] = time.perf_counter
    info: dict = field(default_factory=dict)

    def add_ms(self, key: str, seconds: float) -> None:
        """Add ``seconds`` to ``info[key]`` in milliseconds."""
        self.info[key] = self.info.get(key, 0.0) + seconds * 1e3


@contextlib.contextmanager
def timed(profile: Optional[Profile], key: str) -> Iterator[None]:
    """Time the block into ``profile.info[key]`` (ms); does nothing without a profile."""
    if profile is None:
        yield
        return
    started = profile.clock()
    try:
        yield
    finally:
        profile.add_ms(key, profile.clock() - started)
