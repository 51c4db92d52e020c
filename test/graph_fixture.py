# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Start the real node graph (separate processes, this worker's DDS domain) for a test."""

from __future__ import annotations

import contextlib
from pathlib import Path

import rclpy.node
import yaml
from rclpy.executors import SingleThreadedExecutor
from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import Joy

from moral_compass_ros import topics
from moral_compass_ros.graph import GRAPH_NODES, GraphRunner, node_parameters
from moral_compass_ros.msg import (
    ActionSelection,
    CandidateAction,
    CandidateActions,
    FeedbackAck,
    HumanFeedback,
    MoralCompass,
)
from moral_compass_ros.qos import DIAGNOSTICS_QOS, FEEDBACK_QOS, JOY_QOS, STATE_QOS, STREAM_QOS
from ros_helpers import REPO_ROOT, ros_context, spin_for, spin_until

# Small sizes keep each update fast; the behaviour under test does not depend on them.
TEST_LEARNER = {"n_particles": 64, "n_fingerprint_samples": 16}


def write_params(tmp_path: Path, **overrides) -> Path:
    """The shipped config with test sizes, a private state dir and ``overrides`` (/** keys)."""
    params = yaml.safe_load((REPO_ROOT / "config" / "moral_compass.yaml").read_text())
    params["/**"]["ros__parameters"].update({**TEST_LEARNER, **overrides})
    node_parameters(params, "compass_node")["state_dir"] = str(tmp_path / "state")
    node_parameters(params, "feedback_node")["debounce_s"] = 0.05
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


class GraphProbe:
    """The test's side of the graph: publishes planner requests, Joy and feedback; records
    selections, feedback, acknowledgements and compasses."""

    def __init__(self, context):
        self.node = rclpy.node.Node("graph_probe", context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.selections: list = []
        self.feedback: list = []
        self.acks: list = []
        self.compasses: list = []
        n = self.node
        self.candidates_pub = n.create_publisher(CandidateActions, topics.CANDIDATES, STREAM_QOS)
        self.joy_pub = n.create_publisher(Joy, topics.JOY, JOY_QOS)
        self.raw_pub = n.create_publisher(HumanFeedback, topics.FEEDBACK_RAW, FEEDBACK_QOS)
        self.feedback_pub = n.create_publisher(HumanFeedback, topics.FEEDBACK, FEEDBACK_QOS)
        n.create_subscription(
            ActionSelection, topics.SELECTION, self.selections.append, STREAM_QOS
        )
        n.create_subscription(HumanFeedback, topics.FEEDBACK, self.feedback.append, FEEDBACK_QOS)
        n.create_subscription(FeedbackAck, topics.FEEDBACK_ACK, self.acks.append, FEEDBACK_QOS)
        n.create_subscription(MoralCompass, topics.COMPASS, self.compasses.append, STATE_QOS)
        self.diagnostics: dict = {}
        n.create_subscription(
            DiagnosticArray, topics.DIAGNOSTICS, self._on_diagnostics, DIAGNOSTICS_QOS
        )

    def _on_diagnostics(self, msg) -> None:
        for status in msg.status:
            self.diagnostics[status.hardware_id] = {kv.key: kv.value for kv in status.values}

    def wait_feedback_node_saw(self, request_id: str, timeout_s: float = 30.0) -> bool:
        """Until feedback_node reports (in /diagnostics) that it holds selection ``request_id``:
        a person presses after the robot acted, and the feedback node hears the selection on
        its own subscription, in parallel with the probe."""
        return self.spin_until(
            lambda: self.diagnostics.get("feedback_node", {}).get("last_selection") == request_id,
            timeout_s,
        )

    def spin_until(self, predicate, timeout_s: float = 60.0) -> bool:
        return spin_until(self.executor, predicate, timeout_s)

    def spin_for(self, seconds: float) -> None:
        spin_for(self.executor, seconds)

    def wait_for_graph(self, timeout_s: float = 90.0) -> None:
        """Until the selector, feedback node and compass node are up and matched."""
        node = self.node
        ok = self.spin_until(
            lambda: (
                self.candidates_pub.get_subscription_count() > 0
                and self.raw_pub.get_subscription_count() > 0
                and self.joy_pub.get_subscription_count() > 0
                and self.feedback_pub.get_subscription_count() > 1
                and "feedback_node"
                in {
                    i.node_name
                    for i in node.get_subscriptions_info_by_topic("/" + topics.SELECTION)
                }
                and node.count_publishers(topics.SELECTION) >= 1
                and self.compasses
            ),
            timeout_s,
        )
        assert ok, "graph did not come up"
        # ... and until the selector holds the compass (it reports the version it scores with)
        assert self.spin_until(
            lambda: "version" in self.diagnostics.get("action_selector_node", {}), timeout_s
        ), "the selector never received the compass"
        self.spin_for(0.5)  # let the nodes' own matches (selector -> feedback node) settle

    def request(
        self,
        request_id: str,
        features=None,
        context=None,
        n: int = 3,
        feature_dim: int = 8,
        context_dim: int = 3,
    ) -> CandidateActions:
        msg = CandidateActions(
            request_id=request_id,
            context=list(context if context is not None else [0.1] * context_dim),
        )
        for i in range(n):
            f = features[i] if features is not None else [0.1 * (i + 1)] * feature_dim
            msg.candidates.append(
                CandidateAction(
                    id=f"{request_id}-a{i}",
                    label=f"action {i}",
                    features=list(f),
                    expected_task_reward=1.0,
                    task_reward_std=0.5,
                )
            )
        self.candidates_pub.publish(msg)
        return msg

    def selection_for(self, request_id: str):
        matches = [s for s in self.selections if s.request_id == request_id]
        return matches[-1] if matches else None

    def press(self, button: int, held_messages: int = 1, n_buttons: int = 12) -> None:
        """Release, press ``button`` and hold it for ``held_messages`` Joy messages, release."""
        self.joy_pub.publish(Joy(axes=[0.0] * 6, buttons=[0] * n_buttons))
        self.spin_for(0.05)
        for _ in range(held_messages):
            buttons = [0] * n_buttons
            buttons[button] = 1
            self.joy_pub.publish(Joy(axes=[0.0] * 6, buttons=buttons))
            self.spin_for(0.05)
        self.joy_pub.publish(Joy(axes=[0.0] * 6, buttons=[0] * n_buttons))

    def latest_version(self) -> int:
        return max((c.version for c in self.compasses), default=-1)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


@contextlib.contextmanager
def running_graph(tmp_path: Path, **overrides):
    """Yield ``(runner, probe)`` with the three graph nodes running in separate processes."""
    params = write_params(tmp_path, **overrides)
    with (
        ros_context() as context,
        GraphRunner(GRAPH_NODES, params_files=[params], log_dir=tmp_path / "logs") as runner,
    ):
        runner.start()
        probe = GraphProbe(context)
        try:
            probe.wait_for_graph()
            yield runner, probe
        finally:
            probe.close()


def node_logs(tmp_path: Path) -> str:
    """Everything the graph nodes logged (for assertion messages)."""
    return "\n".join(
        f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted((tmp_path / "logs").glob("*.log"))
    )
