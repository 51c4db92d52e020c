# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""action_selector_node with ``prune_candidates``: the published selection flags the candidates
whose alignment is only a bound, never the selected one, and a vetoed candidate is not chosen."""

import numpy as np
import pytest
from rclpy.parameter import Parameter

from moral_compass_ros import topics
from moral_compass_ros.msg import ActionSelection, CandidateAction, CandidateActions
from moral_compass_ros.nodes.action_selector_node import ActionSelectorNode
from moral_compass_ros.qos import SELECTION_QOS
from reliability_helpers import SMALL_LEARNER, in_process, learner_parameters
from ros_helpers import spin_until

pytestmark = pytest.mark.ros

F, C = 8, SMALL_LEARNER["context_dim"]


def _request(request_id: str, n: int) -> CandidateActions:
    rng = np.random.default_rng(4)
    msg = CandidateActions(request_id=request_id, context=[0.1] * C)
    for i in range(n):  # planner rewards spread widely: most candidates cannot win
        msg.candidates.append(
            CandidateAction(
                id=f"a{i}",
                label=f"action {i}",
                features=rng.normal(size=F).tolist(),
                expected_task_reward=float(3.0 - 0.2 * i),
                task_reward_std=0.3,
            )
        )
    return msg


@pytest.mark.parametrize("prune", [False, True])
def test_the_selection_flags_pruned_alignments_and_respects_vetoes(prune):
    params = learner_parameters() + [
        Parameter("prune_candidates", value=prune),
        Parameter("veto_ids", value=["a0"]),
    ]
    with in_process(ActionSelectorNode, params) as harness:
        selections = []
        harness.probe.create_subscription(
            ActionSelection, topics.SELECTION, selections.append, SELECTION_QOS
        )
        harness.node._on_candidates(_request("r-prune", 24))
        assert spin_until(harness.executor, lambda: selections, 10)
        selection = selections[0]
        bounds = {s.id: s.alignment_is_bound for s in selection.scores}
        assert selection.selected_id != "a0"  # the best task reward, vetoed
        assert not bounds[selection.selected_id]
        if prune:
            assert sum(bounds.values()) > 0 and bounds["a0"]  # a vetoed candidate is never solved
            chosen = next(s for s in selection.scores if s.id == selection.selected_id)
            assert all(
                s.total < chosen.total
                for s in selection.scores
                if s.alignment_is_bound and not s.vetoed
            )
        else:
            assert not any(bounds.values())
