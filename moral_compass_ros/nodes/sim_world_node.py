# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""sim_world_node: a simulated planner and simulated people, for the demo and tests.

It plays the world around the node graph: it publishes a ``CandidateActions`` request, waits for
the ``ActionSelection`` that answers it, "executes" the selected action, and after a short delay
the current simulated operator answers — through the gamepad path (a ``sensor_msgs/Joy`` press
and release) or the plain topic path (``feedback/raw`` with the operator's id). The hidden truth
of every step (true profile, the selected and the oracle action's approval probability) goes to
a JSON-lines log for the demo report; it is never published to the learner.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import NoReturn

import numpy as np
from rclpy.node import Node
from sensor_msgs.msg import Joy

from moral_compass_ros import topics
from moral_compass_ros.diagnostics import NodeHealth
from moral_compass_ros.msg import (
    ActionSelection,
    CandidateAction,
    CandidateActions,
    HumanFeedback,
    MoralCompass,
)
from moral_compass_ros.nodes._spin import run_node
from moral_compass_ros.parameters import ParameterSpec, declare_parameters, one_of
from moral_compass_ros.qos import FEEDBACK_QOS, JOY_QOS, SELECTION_QOS, STATE_QOS, STREAM_QOS
from moral_compass_ros.sim import SCENARIO_NAMES, make_scenario

NODE_SPECS = [
    ParameterSpec(
        "scenario",
        "fixed_profile",
        "Simulated scenario: " + ", ".join(SCENARIO_NAMES),
        read_only=True,
        check=one_of(*SCENARIO_NAMES),
    ),
    ParameterSpec(
        "sim_seed",
        1,
        "Seed of the simulated world and people.",
        read_only=True,
        minimum=0,
        maximum=2**31 - 1,
    ),
    ParameterSpec(
        "send_hints",
        True,
        "Whether the simulated planner sends value hints (false: the "
        "selector's fingerprint library or learned network must supply fingerprints).",
        read_only=True,
    ),
    ParameterSpec(
        "n_answers",
        0,
        "Answers in the episode; 0 = the scenario's default.",
        read_only=True,
        minimum=0,
        maximum=100000,
    ),
    ParameterSpec(
        "request_period_s",
        0.3,
        "Pause between an answer and the next request (s).",
        minimum=0.0,
        maximum=60.0,
    ),
    ParameterSpec(
        "answer_delay_s",
        0.1,
        "Delay between a selection and the person's answer (s).",
        minimum=0.0,
        maximum=60.0,
    ),
    ParameterSpec(
        "selection_timeout_s",
        5.0,
        "Re-send a request not answered within this (s).",
        minimum=0.1,
        maximum=600.0,
    ),
    ParameterSpec(
        "wait_for_update_s",
        30.0,
        "After an answer, wait up to this long for the "
        "compass version to bump before the next request (0 = do not wait), so each "
        "decision uses the compass that learned from the previous answer (s).",
        minimum=0.0,
        maximum=600.0,
    ),
    ParameterSpec(
        "min_candidate_subscribers",
        1,
        "The first request waits until this many "
        "subscribers (the action selector, plus a recorder that must not miss it) are "
        "matched on the candidates topic.",
        read_only=True,
        minimum=1,
        maximum=100,
    ),
    ParameterSpec(
        "first_request_delay_s",
        0.0,
        "Pause between the candidates topic being "
        "matched and the first request (s): discovery is asymmetric, and a subscriber "
        "the publisher already counts may not accept data for a moment yet.",
        read_only=True,
        minimum=0.0,
        maximum=60.0,
    ),
    ParameterSpec(
        "answer_via",
        "topic",
        "How the simulated person answers: 'joy' (gamepad "
        "press, single operator) or 'topic' (feedback/raw with operator id).",
        check=one_of("joy", "topic"),
    ),
    ParameterSpec(
        "thumbs_up_button", 0, "Joy button pressed for thumbs up.", minimum=0, maximum=63
    ),
    ParameterSpec(
        "thumbs_down_button", 1, "Joy button pressed for thumbs down.", minimum=0, maximum=63
    ),
    ParameterSpec(
        "truth_log",
        "",
        "JSON-lines file of the hidden truth per step ('' = none).",
        read_only=True,
    ),
    # Shared with the learner (the /** section of the config), so the world matches it.
    ParameterSpec(
        "value_names",
        ["care", "fairness", "loyalty", "authority", "sanctity"],
        "Value names (must equal the learner's).",
        read_only=True,
    ),
    ParameterSpec(
        "feature_dim",
        8,
        "Feature length F (must equal the learner's).",
        read_only=True,
        minimum=1,
        maximum=4096,
    ),
    ParameterSpec(
        "context_dim",
        3,
        "Context length C (must equal the learner's).",
        read_only=True,
        minimum=0,
        maximum=4096,
    ),
]


class SimWorldNode(Node):
    """Planner + people: one request in flight at a time."""

    def __init__(self, **kwargs):
        super().__init__("sim_world_node", **kwargs)
        self._params = declare_parameters(self, NODE_SPECS)
        overrides = dict(
            value_names=tuple(self._params["value_names"]),
            feature_dim=self._params["feature_dim"],
            context_dim=self._params["context_dim"],
        )
        if self._params["n_answers"]:
            overrides["n_answers"] = self._params["n_answers"]
        overrides["send_hints"] = bool(self._params["send_hints"])
        self._scenario = make_scenario(
            self._params["scenario"], self._params["sim_seed"], **overrides
        )
        self._health = NodeHealth(self)
        self._truth_log = None
        if self._params["truth_log"]:
            path = Path(self._params["truth_log"])
            path.parent.mkdir(parents=True, exist_ok=True)
            self._truth_log = open(path, "a", buffering=1)  # noqa: SIM115 (closed on destroy)
        self._current = None  # (CandidateSet, CandidateActions msg, sent time s)
        self._pending_answer = None  # (CandidateSet, index, ActionSelection, due time s)
        self._next_request_s = 0.0
        self._matched_s = None  # when enough candidate subscribers were first matched
        self._joy_release_due = None
        self._compass_version = -1
        self._awaiting_version = None  # (version to exceed, give-up time s)
        self._n_buttons = (
            max(self._params["thumbs_up_button"], self._params["thumbs_down_button"]) + 1
        )

        self._candidates_pub = self.create_publisher(
            CandidateActions, topics.CANDIDATES, STREAM_QOS
        )
        self._raw_feedback_pub = self.create_publisher(
            HumanFeedback, topics.FEEDBACK_RAW, FEEDBACK_QOS
        )
        self._joy_pub = self.create_publisher(Joy, topics.JOY, JOY_QOS)
        self._selection_sub = self.create_subscription(
            ActionSelection, topics.SELECTION, self._on_selection, SELECTION_QOS
        )
        self._compass_sub = self.create_subscription(
            MoralCompass, topics.COMPASS, self._on_compass, STATE_QOS
        )
        self._waiting_for_listener = False
        self._tick_timer = self.create_timer(0.02, self._tick)
        self.get_logger().info(
            f"scenario {self._params['scenario']!r} seed "
            f"{self._params['sim_seed']}: {self._scenario.n_answers} answers"
        )

    def _now_s(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _tick(self) -> None:
        now_s = self._now_s()
        if self._joy_release_due is not None and now_s >= self._joy_release_due:
            self._publish_joy([0] * self._n_buttons)
            self._joy_release_due = None
        if self._pending_answer is not None and now_s >= self._pending_answer[3]:
            channel = (
                self._joy_pub if self._params["answer_via"] == "joy" else self._raw_feedback_pub
            )
            if channel.get_subscription_count() == 0:
                # nobody hears the person yet (the feedback node not discovered): an answer now
                # would be lost, so the person waits, as one would for a listening robot; one
                # report per wait, not one per tick
                if not self._waiting_for_listener:
                    self._health.problem(
                        "answer", "no subscriber on the answer topic yet; waiting"
                    )
                    self._waiting_for_listener = True
                return
            self._waiting_for_listener = False
            self._answer(*self._pending_answer[:3])
            self._pending_answer = None
            self._next_request_s = now_s + self._params["request_period_s"]
        if self._awaiting_version is not None:
            version, give_up_s = self._awaiting_version
            if self._compass_version <= version and now_s < give_up_s:
                return
            if self._compass_version <= version:
                self._health.problem(
                    "compass",
                    "the compass did not update within "
                    f"{self._params['wait_for_update_s']} s of an answer",
                )
            self._awaiting_version = None
        if self._scenario.done or self._pending_answer is not None:
            return
        if (
            self._current is None
            and now_s >= self._next_request_s
            and self._joy_release_due is None
        ):
            if self._matched_s is None:
                if (
                    self._candidates_pub.get_subscription_count()
                    < self._params["min_candidate_subscribers"]
                    or self._compass_version < 0
                ):
                    # not discovered yet: a request now would go nowhere (or unrecorded), and
                    # without the compass version "wait for the update" could not tell
                    return
                self._matched_s = now_s
            if now_s - self._matched_s < self._params["first_request_delay_s"]:
                return
            candidate_set = self._scenario.propose()
            self._current = (candidate_set, self._request_msg(candidate_set), now_s)
            self._candidates_pub.publish(self._current[1])
        elif (
            self._current is not None
            and now_s - self._current[2] > self._params["selection_timeout_s"]
        ):
            self._health.problem(
                "selection",
                f"no selection for {self._current[1].request_id} yet; re-sending the request",
            )
            self._current = (self._current[0], self._current[1], now_s)
            self._candidates_pub.publish(self._current[1])

    def _on_compass(self, msg: MoralCompass) -> None:
        self._compass_version = max(self._compass_version, int(msg.version))

    def _request_msg(self, candidate_set) -> CandidateActions:
        msg = CandidateActions(
            request_id=candidate_set.request_id, context=candidate_set.context.tolist()
        )
        msg.header.stamp = self.get_clock().now().to_msg()
        for i, action_id in enumerate(candidate_set.ids):
            hint = candidate_set.value_hints[i]
            msg.candidates.append(
                CandidateAction(
                    id=action_id,
                    label=candidate_set.labels[i],
                    features=candidate_set.features[i].tolist(),
                    expected_task_reward=float(candidate_set.reward_mean[i]),
                    task_reward_std=float(candidate_set.reward_std[i]),
                    value_hint=[] if np.any(np.isnan(hint)) else hint.tolist(),
                )
            )
        return msg

    def _on_selection(self, msg: ActionSelection) -> None:
        if self._current is None or msg.request_id != self._current[1].request_id:
            return
        candidate_set = self._current[0]
        self._current = None
        if msg.selected_id not in candidate_set.ids:
            self._health.problem(
                "selection",
                f"{msg.request_id}: nothing executable selected"
                + (f" ({msg.reason})" if msg.reason else ""),
            )
            self._next_request_s = self._now_s() + self._params["request_period_s"]
            return
        index = candidate_set.ids.index(msg.selected_id)
        self._pending_answer = (
            candidate_set,
            index,
            msg,
            self._now_s() + self._params["answer_delay_s"],
        )

    def _answer(self, candidate_set, index: int, selection: ActionSelection) -> None:
        person = self._scenario.current_person
        probabilities = self._scenario.approval_probabilities(candidate_set)
        oracle = int(np.argmax(probabilities))
        profile = self._scenario.true_profile()
        response = self._scenario.respond(candidate_set, index)
        self._health.count("answers")
        if response.approved is not None:
            if self._params["wait_for_update_s"] > 0:
                self._awaiting_version = (
                    self._compass_version,
                    self._now_s() + self._params["wait_for_update_s"],
                )
            if self._params["answer_via"] == "joy":
                pressed = [0] * self._n_buttons
                button = "thumbs_up_button" if response.approved else "thumbs_down_button"
                pressed[self._params[button]] = 1
                self._publish_joy(pressed)
                self._joy_release_due = self._now_s() + 0.05
            else:
                feedback = HumanFeedback(
                    request_id=selection.request_id,
                    approved=bool(response.approved),
                    task_reward=float(response.task_reward),
                    source=HumanFeedback.SOURCE_SIM,
                    operator_id=response.operator_id or person.operator_id,
                )
                feedback.action.id = selection.selected_id
                feedback.header.stamp = self.get_clock().now().to_msg()
                self._raw_feedback_pub.publish(feedback)
        if self._truth_log is not None:
            self._truth_log.write(
                json.dumps(
                    {
                        "t": int(candidate_set.t),
                        "request_id": selection.request_id,
                        "selected_index": index,
                        "oracle_index": oracle,
                        "p_approve_selected": float(probabilities[index]),
                        "p_approve_oracle": float(probabilities[oracle]),
                        "p_approve_mean": float(np.mean(probabilities)),
                        "predicted_approval": float(selection.scores[index].predicted_approval),
                        "approved": response.approved,
                        "operator": response.operator_id,
                        "true_profile": profile.tolist(),
                        "compass_version": int(selection.compass_version),
                        "done": self._scenario.done,
                        **{
                            k: v
                            for k, v in dataclasses.asdict(response).items()
                            if k in ("flipped", "skip_reason")
                        },
                    }
                )
                + "\n"
            )

    def _publish_joy(self, buttons: list[int]) -> None:
        joy = Joy(axes=[0.0] * 6, buttons=buttons)
        joy.header.stamp = self.get_clock().now().to_msg()
        self._joy_pub.publish(joy)

    def destroy_node(self) -> None:
        if self._truth_log is not None:
            self._truth_log.close()
        super().destroy_node()


def main(args=None) -> NoReturn:
    """Entry point of ``ros2 run moral_compass_ros sim_world_node``."""
    return run_node(SimWorldNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
