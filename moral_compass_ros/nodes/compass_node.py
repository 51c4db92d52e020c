"""compass_node: holds the moral compass q_t and the learned model, and learns from feedback.

For every ``HumanFeedback`` it validates the event, journals it durably (fsync) *before*
applying it, applies Step 2 + Step 3 (the core learner), publishes the new compass and model
(latched, version + 1) and acknowledges the event on ``feedback/ack``. Each feedback id is
applied at most once. On start it restores the newest snapshot and replays the journal tail, so
a restart (or a crash) comes back to exactly the state it had.
"""
from __future__ import annotations

import os
from pathlib import Path

from rclpy.node import Node
from std_srvs.srv import Trigger

from moral_compass_ros import topics
from moral_compass_ros.conversions import (
    InvalidMessage,
    compass_to_msg,
    feedback_from_msg,
    model_to_msg,
)
from moral_compass_ros.core import DynamicValueLearner
from moral_compass_ros.core.journal import JournalError
from moral_compass_ros.core.learner_store import LearnerStore
from moral_compass_ros.diagnostics import NodeHealth
from moral_compass_ros.msg import FeedbackAck, HumanFeedback, ModelParameters, MoralCompass
from moral_compass_ros.nodes._spin import run_node
from moral_compass_ros.nodes._value_cards import ValueCardsPublisher
from moral_compass_ros.parameters import (
    ParameterSpec,
    declare_parameters,
    learner_config,
    learner_config_check,
    learner_specs,
)
from moral_compass_ros.qos import FEEDBACK_QOS, STATE_QOS

NODE_SPECS = [
    ParameterSpec("state_dir", "", "Directory of the feedback journal and snapshots; '' = "
                  "$ROS_HOME/moral_compass/<node namespace> (default ~/.ros/...).",
                  read_only=True),
    ParameterSpec("snapshot_every", 25, "Write a snapshot after this many applied events "
                  "(restart replays at most this many from the journal).", minimum=1,
                  maximum=100000),
    ParameterSpec("value_cards_file", "", "YAML file of the value cards; '' = the package's "
                  "config/value_cards.yaml.", read_only=True),
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
        self._snapshot_every = params["snapshot_every"]
        self._health = NodeHealth(self)
        self._cards = ValueCardsPublisher(self, params["value_cards_file"], self._config.value_names)

        state_dir = Path(params["state_dir"] or default_state_dir(self.get_namespace()))
        self._store = LearnerStore(state_dir)
        self._learner, report = self._store.restore(self._config, DynamicValueLearner)
        for warning in report.warnings:
            self._health.problem("restore", warning)
        self._since_snapshot = report.replayed
        self.get_logger().info(
            f"compass restored from {state_dir}: version {self._learner.version}, "
            f"{report.replayed} journal events replayed after snapshot seq {report.snapshot_seq}")

        self._compass_pub = self.create_publisher(MoralCompass, topics.COMPASS, STATE_QOS)
        self._model_pub = self.create_publisher(ModelParameters, topics.MODEL, STATE_QOS)
        self._ack_pub = self.create_publisher(FeedbackAck, topics.FEEDBACK_ACK, FEEDBACK_QOS)
        self._feedback_sub = self.create_subscription(
            HumanFeedback, topics.FEEDBACK, self._on_feedback, FEEDBACK_QOS)
        self._reset_srv = self.create_service(Trigger, topics.RESET_SERVICE, self._on_reset)
        self._snapshot_srv = self.create_service(Trigger, topics.SNAPSHOT_SERVICE,
                                                 self._on_snapshot)
        self._publish_state()

    @property
    def learner(self) -> DynamicValueLearner:
        """The learner (read-only use: tests and in-process tools)."""
        return self._learner

    def _publish_state(self) -> None:
        stamp = self.get_clock().now().to_msg()
        version = self._learner.version
        compass = compass_to_msg(self._learner.compass, self._config.value_names, version,
                                 self._store.applied_events, self._cards.hash)
        compass.header.stamp = stamp
        model = model_to_msg(self._learner.model_parameters(), version)
        model.header.stamp = stamp
        # Model first: the selector scores once it holds both halves of the same version.
        self._model_pub.publish(model)
        self._compass_pub.publish(compass)
        compass_now = self._learner.compass
        self._health.values.update(version=str(version), ess=f"{compass_now.ess:.1f}",
                                   entropy=f"{compass_now.entropy:.3f}",
                                   applied_events=str(self._store.applied_events))

    def _ack(self, feedback_id: str, status: int, reason: str = "") -> None:
        ack = FeedbackAck(feedback_id=feedback_id, status=status, reason=reason,
                          compass_version=self._learner.version)
        ack.header.stamp = self.get_clock().now().to_msg()
        self._ack_pub.publish(ack)

    def _on_feedback(self, msg: HumanFeedback) -> None:
        self._health.count("feedback.received")
        try:
            event = feedback_from_msg(msg, self._config.feature_dim, self._config.context_dim,
                                      len(self._config.value_names))
        except (InvalidMessage, ValueError) as error:
            self._health.problem("feedback", f"{msg.feedback_id or '<no id>'}: {error}")
            self._ack(str(msg.feedback_id), FeedbackAck.STATUS_REJECTED, str(error))
            return
        if self._store.contains(event.feedback_id):
            self._health.count("feedback.duplicate")
            self._ack(event.feedback_id, FeedbackAck.STATUS_DUPLICATE, "already applied")
            return
        try:
            self._store.append(event)  # durable before it is applied or acknowledged
        except JournalError as error:
            self._health.error(f"journal write failed, feedback not applied: {error}")
            self._ack(event.feedback_id, FeedbackAck.STATUS_REJECTED, f"journal: {error}")
            return
        self._health.clear_error()
        result = self._learner.update(event)
        if not result.applied:
            self._health.problem("update", f"{event.feedback_id}: {result.reason}")
        self._health.count("feedback.applied")
        self._since_snapshot += 1
        if self._since_snapshot >= self._snapshot_every:
            self._snapshot()
        self._publish_state()
        self._ack(event.feedback_id, FeedbackAck.STATUS_APPLIED, result.reason)

    def _snapshot(self) -> None:
        try:
            self._store.snapshot(self._learner)
            self._since_snapshot = 0
        except JournalError as error:
            self._health.problem("snapshot", str(error))

    def _on_snapshot(self, request, response):
        self._snapshot()
        response.success = self._since_snapshot == 0
        response.message = f"snapshot at version {self._learner.version}"
        return response

    def _on_reset(self, request, response):
        archived = self._store.archive()
        previous_version = self._learner.version
        self._learner = DynamicValueLearner(self._config)
        # The version keeps increasing across a reset, so no listener mistakes the prior for
        # an old state it already has.
        version = previous_version + 1
        self._learner.load_model_parameters(self._learner.model_parameters(), version)
        self._learner.set_compass(self._learner.compass, version)
        self._snapshot()
        self._publish_state()
        self.get_logger().warning(f"compass reset to the prior; old state archived in {archived}")
        response.success = True
        response.message = f"reset; previous journal archived in {archived}"
        return response


def main(args=None) -> int:
    """Entry point of ``ros2 run moral_compass_ros compass_node``."""
    return run_node(CompassNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
