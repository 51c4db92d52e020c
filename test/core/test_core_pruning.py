# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Candidate pruning in Step 1 (``prune_candidates``): the bound is a bound, and the
selection never changes."""

import numpy as np
import pytest
import torch

from core_helpers import random_event, small_config
from moral_compass_ros.conversions import CandidateBatch, selection_to_msg
from moral_compass_ros.core import DynamicValueLearner
from moral_compass_ros.core.sinkhorn import divergence_lower_bound, sinkhorn_divergence


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("cost", ["sqeuclidean", "hellinger"])
def test_the_mean_distance_bounds_the_sinkhorn_divergence_from_below(seed, cost):
    rng = np.random.default_rng(seed)
    theta = rng.dirichlet(np.full(5, 0.7), size=60)
    w = rng.dirichlet(np.ones(60))
    samples = rng.dirichlet(np.full(5, float(rng.uniform(0.5, 5.0))), size=(6, 20))
    uniform = np.full((6, 20), 1 / 20)
    for eps in (0.02, 0.05, 0.5):
        exact = sinkhorn_divergence(
            theta, w, samples, uniform, eps, cost, tol=1e-11, max_iter=100_000
        )
        bound = divergence_lower_bound(
            torch.from_numpy(theta), torch.from_numpy(w), torch.from_numpy(samples), cost
        ).numpy()
        assert np.all(bound >= 0.0)
        assert np.all(bound <= exact + 1e-9), (eps, bound, exact)
    assert np.all(bound > 0.1 * exact)  # informative, not trivially 0


def _pair(seed, **changes):
    config = small_config(seed=seed, **changes)
    exact, pruned = (
        DynamicValueLearner(config),
        DynamicValueLearner(config.replace(prune_candidates=True)),
    )
    rng = np.random.default_rng(seed)
    for i in range(4):
        event = random_event(rng, i, config)
        exact.update(event)
        pruned.update(event)
    return exact, pruned, rng


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("cost", ["sqeuclidean", "hellinger"])
def test_pruning_keeps_the_selection_and_flags_every_bound(seed, cost):
    exact, pruned, rng = _pair(seed, cost=cost, lambda_task=1.0, lambda_align=1.0)
    config = exact.config
    skipped = 0
    for trial in range(12):
        b = int(rng.integers(2, 40))
        features = rng.normal(size=(b, config.feature_dim))
        context = rng.normal(size=config.context_dim)
        reward = rng.normal(scale=float(rng.choice([0.05, 1.0])), size=b)
        eligible = rng.random(b) < 0.8 if trial % 3 == 0 else None  # some requests with vetoes
        for learner in (exact, pruned):
            learner.reset_warm_start()  # cold: exact values are reproducible to the last bit
        full = exact.score(features, context, reward, np.full(b, 0.3), eligible=eligible)
        fast = pruned.score(features, context, reward, np.full(b, 0.3), eligible=eligible)
        assert fast.selected == full.selected
        assert not fast.alignment_is_bound[fast.selected]
        computed = ~fast.alignment_is_bound
        np.testing.assert_array_equal(fast.alignment[computed], full.alignment[computed])
        # a bound is a bound: above the exact alignment, total above the exact total, below the
        # winner
        assert np.all(fast.alignment[~computed] >= full.alignment[~computed] - 1e-7)
        could_win = (
            ~computed if eligible is None else ~computed & eligible
        )  # vetoed ones keep their bound
        assert np.all(fast.total[could_win] < fast.total[fast.selected])
        np.testing.assert_array_equal(fast.info_gain, full.info_gain)
        assert not full.alignment_is_bound.any()
        skipped += int((~computed).sum())
    assert skipped > 0  # the shortcut was taken


def test_only_eligible_candidates_are_solved_and_selected():
    _, pruned, rng = _pair(5)
    config = pruned.config
    features = rng.normal(size=(20, config.feature_dim))
    context = rng.normal(size=config.context_dim)
    reward = np.linspace(2.0, 0.0, 20)  # the first candidates would win on the task term
    eligible = np.arange(20) >= 10
    scores = pruned.score(features, context, reward, np.full(20, 0.3), eligible=eligible)
    assert scores.selected >= 10
    assert scores.alignment_is_bound[:10].all()  # vetoed: never worth a solve
    with pytest.raises(ValueError, match="eligible"):
        pruned.score(features, context, eligible=np.ones(3, dtype=bool))


def test_the_selection_message_says_which_alignments_are_bounds():
    _, pruned, rng = _pair(6)
    config = pruned.config
    b = 24
    features = rng.normal(size=(b, config.feature_dim))
    context = rng.normal(size=config.context_dim)
    reward = np.linspace(3.0, 0.0, b)
    scores = pruned.score(features, context, reward, np.full(b, 0.3))
    assert scores.alignment_is_bound.any()
    batch = CandidateBatch(
        "r",
        tuple(f"a{i}" for i in range(b)),
        tuple("" for _ in range(b)),
        features,
        context,
        reward,
        np.full(b, 0.3),
        np.full((b, config.n_values), np.nan),
    )
    msg = selection_to_msg(
        batch, scores, scores.selected, np.zeros(b, dtype=bool), "avoid", "", 1.0
    )
    np.testing.assert_array_equal(
        [s.alignment_is_bound for s in msg.scores], scores.alignment_is_bound
    )
