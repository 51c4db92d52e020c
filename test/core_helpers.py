# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Shared helpers for the core tests (plain module, imported by the test_core_* files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from moral_compass_ros.core import FeedbackEvent, LearnerConfig

M = 5
#: The repository's root (the tests live two levels down).
REPO_ROOT = Path(__file__).resolve().parents[1]


def small_config(**changes) -> LearnerConfig:
    """A small, fast config (N=32, K=16) for properties that do not depend on size."""
    base = dict(feature_dim=M, context_dim=2, n_particles=32, n_fingerprint_samples=16, seed=3)
    base.update(changes)
    return LearnerConfig(**base)


def random_event(
    rng: np.random.Generator,
    index: int,
    config: LearnerConfig,
    *,
    hint: bool = True,
    reward: bool = True,
) -> FeedbackEvent:
    """A random valid event whose features are a point of the simplex (padded to F)."""
    profile = rng.dirichlet(np.ones(config.n_values))
    features = np.zeros(config.feature_dim)
    features[: min(config.feature_dim, config.n_values)] = profile[: config.feature_dim]
    return FeedbackEvent(
        feedback_id=f"fb-{index}",
        action_id=f"a-{index}",
        features=features,
        context=rng.normal(size=config.context_dim),
        approved=bool(rng.random() < 0.5),
        task_reward=float(rng.normal()) if reward else float("nan"),
        value_hint=profile if hint else np.zeros(0),
        weight=float(rng.uniform(0.2, 1.0)),
    )


def assert_on_simplex(theta: np.ndarray) -> None:
    """Every row finite, >= 0 and summing to 1 within 1e-9."""
    assert np.all(np.isfinite(theta))
    assert np.all(theta >= 0.0)
    np.testing.assert_allclose(theta.sum(axis=-1), 1.0, rtol=0, atol=1e-9)
