# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""compass_node: holds the moral compass q_t and the learned model, and learns from feedback.

For every ``HumanFeedback`` it validates the event, applies the legitimacy policy (the one
place every input path passes), journals the event durably (fsync) *before* applying it,
applies Step 2 + Step 3 (the core learner), publishes the new compass, model and pluralism
measures (latched, version + 1) and acknowledges the event on ``feedback/ack``. Each feedback id
is applied at most once. On start it restores the newest snapshot and replays the journal tail,
so a restart (or a crash) comes back to exactly the state it had.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from pathlib import Path
from typing import NoReturn

import torch
from rclpy.node import Node
from std_srvs.srv import Trigger

from moral_compass_ros import topics
from moral_compass_ros.conversions import (
    InvalidMessage,
    compass_to_msg,
    feedback_from_msg,
    model_to_msg,
    pluralism_to_msg,
)
from moral_compass_ros.core.compass_state import CompassModel
from moral_compass_ros.core.events import CompassPull
from moral_compass_ros.core.journal import JournalError, SnapshotError
from moral_compass_ros.core.learner_store import LearnerStore
from moral_compass_ros.core.legitimacy import LegitimacyPolicy, PolicyError
from moral_compass_ros.core.sinkhorn import warm_up_solvers
from moral_compass_ros.diagnostics import NodeHealth
from moral_compass_ros.graph import config_file
from moral_compass_ros.msg import (
    FeedbackAck,
    HumanFeedback,
    ModelParameters,
    MoralCompass,
    Pluralism,
)
from moral_compass_ros.nodes._social_pull import attach_social_pull
from moral_compass_ros.nodes._spin import run_node
from moral_compass_ros.nodes._value_cards import ValueCardsPublisher
from moral_compass_ros.parameters import (
    InvalidParameters,
    ParameterSpec,
    declare_parameters,
    learner_config,
    learner_config_check,
    learner_specs,
)
from moral_compass_ros.qos import FEEDBACK_QOS, STATE_QOS

NODE_SPECS = [
    ParameterSpec(
        "state_dir",
        "",
        "Directory of the feedback journal and snapshots; '' = "
        "$ROS_HOME/moral_compass/<node namespace> (default ~/.ros/...).",
        read_only=True,
    ),
    ParameterSpec(
        "snapshot_every",
        25,
        "Write a snapshot after this many applied events "
        "(restart replays at most this many from the journal).",
        minimum=1,
        maximum=100000,
    ),
    ParameterSpec(
        "value_cards_file",
        "",
        "YAML file of the value cards; '' = the package's config/value_cards.yaml.",
        read_only=True,
    ),
    ParameterSpec(
        "legitimacy_file",
        "",
        "YAML legitimacy policy (who may shape the compass, "
        "with what weight); '' = the package's config/legitimacy.yaml.",
        read_only=True,
    ),
    ParameterSpec(
        "torch_threads",
        1,
        "Threads torch uses for the learner's updates, set at "
        "start (0 = torch's default). 1 is steadier on a small shared CPU: 2-thread "
        "OpenMP stalls when another process holds a core.",
        read_only=True,
        minimum=0,
        maximum=256,
    ),
    ParameterSpec(
        "per_operator_models",
        False,
        "Also keep one compass per operator, so "
        "disagreement is measured rather than averaged away (costs one more update "
        "per answer).",
        read_only=True,
    ),
]


def default_state_dir(namespace: str) -> Path:
    """``$ROS_HOME/moral_compass/<namespace>`` (``ROS_HOME`` defaults to ``~/.ros``)."""
    ros_home = Path(os.environ.get("ROS_HOME", Path.home() / ".ros"))
    return ros_home / "moral_compass" / (namespace.strip("/").replace("/", "__") or "root")


class CompassNode(Node):
    """Owns the learning state; the only node that changes the compass."""

    def __init__(self, **kwargs):
        super().__init__("compass_node", **kwargs)
        params = declare_parameters(self, learner_specs() + NODE_SPECS, learner_config_check)
        self._config = learner_config(params)
        if params["torch_threads"] > 0:
            torch.set_num_threads(params["torch_threads"])
        warm_up_solvers()  # compiled now: the first decision or update after launch is not slower
        self._per_operator = params["per_operator_models"]
        self._snapshot_every = params["snapshot_every"]
        self._health = NodeHealth(self)
        self._cards = ValueCardsPublisher(
            self, params["value_cards_file"], self._config.value_names
        )
        policy_file = params["legitimacy_file"] or str(config_file("legitimacy.yaml"))
        try:
            self._policy = LegitimacyPolicy.load(policy_file)
        except PolicyError as error:
            raise InvalidParameters(f"legitimacy_file {policy_file}: {error}") from error
        self._refused_by_policy = 0

        state_dir = Path(params["state_dir"] or default_state_dir(self.get_namespace()))
        try:  # unwritable/locked/corrupt state or a journal that does not fit the config:
            # refuse to start with the reason (exit code 2), never a traceback
            self._store = LearnerStore(state_dir)
            self._model, report = self._store.restore(
                lambda: CompassModel(self._config, self._per_operator),
                lambda state: CompassModel.from_state_dict(
                    self._config, state, self._per_operator
                ),
            )
        except (JournalError, SnapshotError, ValueError) as error:
            raise InvalidParameters(f"state_dir {state_dir}: {error}") from error
        for warning in report.warnings:
            self._health.problem("restore", warning)
        self._since_snapshot = report.replayed
        self.get_logger().info(
            f"compass restored from {state_dir}: version {self._model.version}, "
            f"{report.replayed} journal events replayed after snapshot seq {report.snapshot_seq}; "
            f"legitimacy policy {policy_file}"
        )

        self._compass_pub = self.create_publisher(MoralCompass, topics.COMPASS, STATE_QOS)
        self._model_pub = self.create_publisher(ModelParameters, topics.MODEL, STATE_QOS)
        self._pluralism_pub = self.create_publisher(Pluralism, topics.PLURALISM, STATE_QOS)
        self._ack_pub = self.create_publisher(FeedbackAck, topics.FEEDBACK_ACK, FEEDBACK_QOS)
        self._feedback_sub = self.create_subscription(
            HumanFeedback, topics.FEEDBACK, self._on_feedback, FEEDBACK_QOS
        )
        self._reset_srv = self.create_service(Trigger, topics.RESET_SERVICE, self._on_reset)
        self._snapshot_srv = self.create_service(
            Trigger, topics.SNAPSHOT_SERVICE, self._on_snapshot
        )
        self._cards_srv = self.create_service(
            Trigger, topics.RELOAD_VALUE_CARDS_SERVICE, self._on_reload_cards
        )
        self._publish_state()
        self._social_pull = attach_social_pull(self)  # off unless social_pull_enabled

    @property
    def learner(self):
        """The shared learner (read-only use: tests and in-process tools)."""
        return self._model.learner

    @property
    def health(self) -> NodeHealth:
        """This node's diagnostics (counters, problems, values)."""
        return self._health

    def apply_pull(self, pull: CompassPull) -> bool:
        """Journal a social pull, then apply and publish it, as an answer is; False (with an
        ERROR diagnostic) when it could not be journaled and so was not applied."""
        try:
            self._store.append_pull(pull)  # durable before it is applied
        except JournalError as error:
            self._health.error(f"social pull not applied: {error}")
            return False
        self._health.clear_error()
        self._model.apply_pull(pull)
        self._since_snapshot += 1
        if self._since_snapshot >= self._snapshot_every:
            self._snapshot()
        self._publish_state()
        return True

    def _publish_state(self) -> None:
        stamp = self.get_clock().now().to_msg()
        learner = self._model.learner
        version = learner.version
        compass = compass_to_msg(
            learner.compass,
            self._config.value_names,
            version,
            self._store.applied_events,
            self._cards.hash,
        )
        compass.header.stamp = stamp
        model = model_to_msg(learner.model_parameters(), version)
        model.header.stamp = stamp
        # Model first: the selector scores once it holds both halves of the same version.
        self._model_pub.publish(model)
        self._compass_pub.publish(compass)
        self._publish_pluralism(stamp, version)
        self._health.values.update(
            version=str(version),
            ess=f"{learner.compass.ess:.1f}",
            entropy=f"{learner.compass.entropy:.3f}",
            applied_events=str(self._store.applied_events),
        )

    def _publish_pluralism(self, stamp, version: int) -> None:
        msg = pluralism_to_msg(
            self._model.measures(), len(self._config.value_names), version, self._refused_by_policy
        )
        msg.header.stamp = stamp
        self._pluralism_pub.publish(msg)

    def _ack(self, feedback_id: str, status: int, reason: str = "") -> None:
        ack = FeedbackAck(
            feedback_id=feedback_id,
            status=status,
            reason=reason,
            compass_version=self._model.version,
        )
        ack.header.stamp = self.get_clock().now().to_msg()
        self._ack_pub.publish(ack)

    def _refuse(self, feedback_id: str, kind: str, reason: str) -> None:
        self._health.problem(kind, f"{feedback_id or '<no id>'}: {reason}")
        self._ack(feedback_id, FeedbackAck.STATUS_REJECTED, reason)

    def _refuse_by_policy(self, feedback_id: str, kind: str, reason: str) -> None:
        self._refused_by_policy += 1
        self._refuse(feedback_id, kind, reason)
        self._publish_pluralism(self.get_clock().now().to_msg(), self._model.version)

    def _on_feedback(self, msg: HumanFeedback) -> None:
        self._health.count("feedback.received")
        try:
            event = feedback_from_msg(
                msg,
                self._config.feature_dim,
                self._config.context_dim,
                len(self._config.value_names),
            )
        except (InvalidMessage, ValueError) as error:
            self._refuse(str(msg.feedback_id), "feedback", str(error))
            return
        if self._store.contains(event.feedback_id):
            self.get_logger().debug(
                f"answer {event.feedback_id} already applied: acknowledged again as a duplicate"
            )
            self._health.count("feedback.duplicate")
            self._ack(event.feedback_id, FeedbackAck.STATUS_DUPLICATE, "already applied")
            return
        decision = self._policy.decide(event.source, event.operator)
        if not decision.allowed:
            self._refuse_by_policy(event.feedback_id, "policy", decision.reason)
            return
        event = dataclasses.replace(event, weight=event.weight * decision.weight)
        quorum_problem = self._quorum_problem(event)
        if quorum_problem:
            self._refuse_by_policy(event.feedback_id, "quorum", quorum_problem)
            return
        try:
            self._store.append(event)  # durable before it is applied or acknowledged
        except JournalError as error:
            # Not acknowledged on purpose: the answer is fine, the disk is not. The sender
            # re-sends it until it can be journaled (disk space freed), so nothing is lost.
            self._health.error(
                f"journal write failed, feedback {event.feedback_id} not "
                f"applied (the sender retries): {error}"
            )
            self._health.count("feedback.journal_failed")
            return
        self._health.clear_error()
        result = self._model.update(event)
        if result.applied:
            self.get_logger().info(
                f"applied answer {event.feedback_id}: operator {event.operator or '<none>'} "
                f"thumbs {'up' if event.approved else 'down'} on {event.action_id!r}, "
                f"compass version {self._model.version}"
                + (f" (a correction of {event.corrects})" if event.corrects else "")
            )
        else:
            self._health.problem("update", f"{event.feedback_id}: {result.reason}")
        self._health.count("feedback.applied")
        self._since_snapshot += 1
        if self._since_snapshot >= self._snapshot_every:
            self._snapshot()
        self._publish_state()
        # Journaled either way (a replay rejects it again, deterministically), but the sender
        # is told the truth: a learner that refused the answer did not apply it.
        self._ack(
            event.feedback_id,
            FeedbackAck.STATUS_APPLIED if result.applied else FeedbackAck.STATUS_REJECTED,
            result.reason,
        )

    def _quorum_problem(self, event) -> str:
        """Why a large move lacks a quorum of operators, or '' when it may go ahead."""
        quorum = self._policy.quorum
        if not quorum.enabled:
            return ""
        recent = self._store.journal.recent_events(quorum.window - 1)
        return quorum.refusal(
            {e.operator for _, e in recent} | {event.operator},
            lambda: self._model.preview_move(event),
        )

    def _snapshot(self) -> None:
        try:
            self._store.snapshot(self._model)
            self._since_snapshot = 0
            self.get_logger().debug(f"snapshot at compass version {self._model.version}")
        except JournalError as error:
            self._health.problem("snapshot", str(error))

    def _on_snapshot(self, request, response):
        self._snapshot()
        response.success = self._since_snapshot == 0
        response.message = f"snapshot at version {self._model.version}"
        return response

    def _on_reset(self, request, response):
        archived = self._store.archive(datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f"))
        previous_version = self._model.version
        self._model = CompassModel(self._config, self._per_operator)
        # The version keeps increasing across a reset, so no listener mistakes the prior for
        # an old state it already has.
        learner, version = self._model.learner, previous_version + 1
        learner.load_model_parameters(learner.model_parameters(), version)
        learner.set_compass(learner.compass, version)
        self._snapshot()
        self._publish_state()
        self.get_logger().warning(f"compass reset to the prior; old state archived in {archived}")
        response.success = True
        response.message = f"reset; previous journal archived in {archived}"
        return response

    def _on_reload_cards(self, request, response):
        old_hash = self._cards.hash
        try:
            self._cards.reload()
        except InvalidParameters as error:
            response.success, response.message = False, str(error)
            self._health.problem("value_cards", str(error))
            return response
        self.get_logger().warning(
            f"value cards changed at run time: sha256 {old_hash[:12]}... "
            f"-> {self._cards.hash[:12]}... (revision "
            f"{self._cards.revision})"
        )
        self._publish_state()
        response.success = True
        response.message = (
            f"value cards revision {self._cards.revision}, sha256 {self._cards.hash}"
        )
        return response

    def destroy_node(self) -> None:
        """Close the journal (releasing its single-writer lock), then destroy the node."""
        store = getattr(self, "_store", None)  # None when __init__ failed before it
        if store is not None:
            store.close()
        super().destroy_node()


def main(args=None) -> NoReturn:
    """Entry point of ``ros2 run moral_compass_ros compass_node``."""
    return run_node(CompassNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
