# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""One fully populated example of every message of the package, built the same way in any
process (used by the two-process smoke test)."""

import math

from moral_compass_ros.msg import (
    ActionScore,
    ActionSelection,
    CandidateAction,
    CandidateActions,
    FeedbackAck,
    HumanFeedback,
    ModelParameters,
    MoralCompass,
    ParameterBlock,
    Pluralism,
    PopulationCompass,
    ValueCard,
    ValueCards,
)


def _candidate(i: int) -> CandidateAction:
    return CandidateAction(
        id=f"a{i}",
        label=f"hand over the cup, variant {i}",
        features=[0.5 * i, -1.0, 2.0],
        expected_task_reward=1.0 + i,
        task_reward_std=0.25,
        value_hint=[0.2] * 5,
    )


def _score(i: int) -> ActionScore:
    return ActionScore(
        id=f"a{i}",
        total=-0.5 * i,
        task_cost=-1.0,
        alignment=-0.01 * i,
        information_gain=0.02,
        predicted_approval=0.7,
        fingerprint_mean=[0.1, 0.2, 0.3, 0.2, 0.2],
        vetoed=(i == 2),
    )


def all_samples() -> dict:
    """Return ``{type name: message}`` for every message type, every field non-default."""
    cards = [
        ValueCard(
            value_name=n,
            criterion=f"{n} criterion",
            origin="lab",
            measurement="joy",
            aggregation="simplex weight",
            legitimacy="ethics board",
            version="1",
            author="tester",
        )
        for n in ("care", "fairness")
    ]
    samples = {
        "CandidateAction": _candidate(0),
        "CandidateActions": CandidateActions(
            request_id="r1", context=[0.1, 0.2], candidates=[_candidate(i) for i in range(3)]
        ),
        "ActionScore": _score(1),
        "ActionSelection": ActionSelection(
            request_id="r1",
            selected_id="a1",
            selected=_candidate(1),
            context=[0.1, 0.2],
            scores=[_score(i) for i in range(3)],
            lambda_task=1.0,
            lambda_align=2.0,
            lambda_info=0.5,
            information_mode="avoid",
            epsilon=0.05,
            compass_version=7,
            value_cards_hash="ab" * 32,
            compute_ms=3.5,
        ),
        "HumanFeedback": HumanFeedback(
            feedback_id="f-1",
            request_id="r1",
            action=_candidate(1),
            context=[0.1, 0.2],
            approved=True,
            task_reward=math.nan,
            responses=[0.3],
            source=HumanFeedback.SOURCE_JOY,
            operator_id="alice",
            weight=1.0,
        ),
        "FeedbackAck": FeedbackAck(
            feedback_id="f-1",
            status=FeedbackAck.STATUS_DUPLICATE,
            reason="already applied",
            compass_version=7,
        ),
        "MoralCompass": MoralCompass(
            value_names=["care", "fairness"],
            particles=[0.5, 0.5, 0.25, 0.75],
            weights=[0.4, 0.6],
            mean=[0.35, 0.65],
            covariance=[0.01, -0.01, -0.01, 0.01],
            entropy=0.67,
            effective_sample_size=1.92,
            version=7,
            applied_events=6,
            value_cards_hash="cd" * 32,
        ),
        "ParameterBlock": ParameterBlock(name="w.beta", shape=[1], data=[2.0]),
        "ModelParameters": ModelParameters(
            version=7,
            blocks=[
                ParameterBlock(name="psi.weight", shape=[2, 2], data=[1.0, 2.0, 3.0, 4.0]),
                ParameterBlock(name="w.beta", shape=[1], data=[2.0]),
            ],
        ),
        "ValueCard": cards[0],
        "ValueCards": ValueCards(cards=cards, hash="ef" * 32, revision=2),
        "Pluralism": Pluralism(
            version=7,
            origin_pluralism=1.8,
            criteria_pluralism=3.2,
            disagreement=math.nan,
            operators=["alice", "bob"],
            movement_share=[0.6, 0.4],
            operator_events=[3, 2],
            operator_means=[0.5, 0.5, 0.3, 0.7],
            refused_by_policy=1,
        ),
    }
    samples["PopulationCompass"] = PopulationCompass(
        average=samples["MoralCompass"],
        robots=["robot_1", "robot_2"],
        robot_versions=[3, 4],
        distances=[0.01, 0.02],
        diversity=0.015,
        missing=["robot_3"],
        dt=1.5,
        drift_rate=0.002,
        mean_velocity=[0.001, -0.001],
        mean_speed=0.0014,
        epsilon=0.05,
        version=9,
    )
    for msg in samples.values():
        if hasattr(msg, "header"):
            msg.header.stamp.sec = 1_700_000_000
            msg.header.frame_id = "compass"
    return samples


def same(a, b) -> bool:
    """Field-wise equality that treats NaN == NaN (ROS message __eq__ does not)."""
    if type(a) is not type(b):
        return False
    if hasattr(a, "get_fields_and_field_types"):
        return all(same(getattr(a, f), getattr(b, f)) for f in a.get_fields_and_field_types())
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if hasattr(a, "__len__") and not isinstance(a, str):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b
