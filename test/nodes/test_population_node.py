# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""population_node and compass_node's social pull, in-process (private rclpy context)."""

import errno
import math
import os

import numpy as np
import pytest
import rclpy.node
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter

from moral_compass_ros import topics
from moral_compass_ros.conversions import compass_from_msg, compass_to_msg
from moral_compass_ros.core import Compass
from moral_compass_ros.core.population import (
    average_compass,
    distances_to_average,
    kappa_from_nu,
    social_pull,
)
from moral_compass_ros.msg import CandidateAction, HumanFeedback, MoralCompass, PopulationCompass
from moral_compass_ros.core.events import CompassPull
from moral_compass_ros.core.journal import FeedbackJournal, JournalDiskFullError
from moral_compass_ros.core.learner_store import JOURNAL_NAME
from moral_compass_ros.nodes.compass_node import CompassNode
from moral_compass_ros.nodes.population_node import PopulationNode
from moral_compass_ros.parameters import InvalidParameters
from moral_compass_ros.qos import FEEDBACK_QOS, STATE_QOS
from ros_helpers import ros_context, run_compass_node, spin_until

pytestmark = pytest.mark.ros

NAMES = ["care", "fairness", "loyalty"]


def _point_msg(theta, version):
    return compass_to_msg(
        Compass(np.array([theta], dtype=float), np.ones(1)), NAMES, version, 0, ""
    )


def test_population_node_averages_two_robots_and_reports_drift():
    with ros_context() as context:
        node = PopulationNode(
            context=context,
            parameter_overrides=[
                Parameter("robots", value=["robot_1", "robot_2"]),
                Parameter("publish_period_s", value=0.1),
            ],
        )
        probe = rclpy.node.Node("probe", context=context)
        robot_1 = probe.create_publisher(MoralCompass, "/robot_1/compass", STATE_QOS)
        robot_2 = probe.create_publisher(MoralCompass, "/robot_2/compass", STATE_QOS)
        status: list = []
        average: list = []
        probe.create_subscription(
            PopulationCompass, "/" + topics.POPULATION_STATUS, status.append, STATE_QOS
        )
        probe.create_subscription(
            MoralCompass, "/" + topics.POPULATION_COMPASS, average.append, STATE_QOS
        )
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        executor.add_node(probe)
        try:
            robot_1.publish(_point_msg([1.0, 0.0, 0.0], 3))
            robot_2.publish(_point_msg([0.0, 1.0, 0.0], 7))
            assert spin_until(executor, lambda: status and len(status[-1].robots) == 2, 20)
            first = status[-1]
            assert list(first.robots) == ["robot_1", "robot_2"]
            assert list(first.robot_versions) == [3, 7]
            mixture = compass_from_msg(first.average)
            np.testing.assert_allclose(mixture.particles, np.eye(3)[:2], atol=0)
            np.testing.assert_allclose(mixture.weights, [0.5, 0.5], atol=1e-15)
            np.testing.assert_allclose(first.average.mean, [0.5, 0.5, 0.0], atol=1e-15)
            # S_eps from a point mass to the mixture of two points at squared distance 2
            assert first.distances[0] == pytest.approx(first.distances[1], rel=1e-6)
            assert first.distances[0] > 0.1
            assert spin_until(
                executor, lambda: average and average[-1].version == first.version, 10
            )
            # robot_2 moves to robot_1's value: the average drifts towards care
            robot_2.publish(_point_msg([1.0, 0.0, 0.0], 8))
            assert spin_until(executor, lambda: status[-1].robot_versions[1] == 8, 20)
            second = status[-1]
            assert second.version > first.version
            assert second.dt > 0
            np.testing.assert_allclose(
                np.array(second.mean_velocity) * second.dt, [0.5, -0.5, 0.0], atol=1e-12
            )
            assert second.drift_rate > 0
            np.testing.assert_allclose(second.distances, 0.0, atol=1e-8)
            assert second.diversity == pytest.approx(0.0, abs=1e-8)
        finally:
            executor.shutdown()
            probe.destroy_node()
            node.destroy_node()


@pytest.mark.parametrize("cost", ["sqeuclidean", "hellinger"])
def test_population_node_measures_with_the_robots_cost(cost):
    points = ([0.7, 0.2, 0.1], [0.1, 0.3, 0.6])
    with ros_context() as context:
        node = PopulationNode(
            context=context,
            parameter_overrides=[
                Parameter("robots", value=["robot_1", "robot_2"]),
                Parameter("publish_period_s", value=0.1),
                Parameter("cost", value=cost),
            ],
        )
        probe = rclpy.node.Node("probe", context=context)
        status: list = []
        probe.create_subscription(
            PopulationCompass, "/" + topics.POPULATION_STATUS, status.append, STATE_QOS
        )
        publishers = [
            probe.create_publisher(MoralCompass, f"/robot_{i}/compass", STATE_QOS) for i in (1, 2)
        ]
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        executor.add_node(probe)
        try:
            for i, (publisher, point) in enumerate(zip(publishers, points)):
                publisher.publish(_point_msg(point, i + 1))
            assert spin_until(executor, lambda: status and len(status[-1].robots) == 2, 20)
            compasses = [Compass(np.array([p]), np.ones(1)) for p in points]
            expected = distances_to_average(compasses, average_compass(compasses), 0.05, cost)
            np.testing.assert_allclose(status[-1].distances, expected, rtol=1e-9)
        finally:
            executor.shutdown()
            probe.destroy_node()
            node.destroy_node()


def test_population_node_refuses_an_unknown_cost():
    with ros_context() as context, pytest.raises(InvalidParameters, match="cost"):
        PopulationNode(context=context, parameter_overrides=[Parameter("cost", value="manhattan")])


def _feedback(i: int) -> HumanFeedback:
    return HumanFeedback(
        feedback_id=f"fb-{i}",
        request_id="r",
        action=CandidateAction(id="a", features=[0.1 * i] * 8),
        context=[0.0] * 3,
        approved=bool(i % 2),
        task_reward=math.nan,
        source=HumanFeedback.SOURCE_SIM,
        operator_id="alice",
        weight=1.0,
    )


def _compass_node(context, tmp_path, enabled=True, nu=1.0):
    policy = tmp_path / "policy.yaml"
    policy.write_text("sources: {'*': {allowed: true}}\noperators: {'*': {allowed: true}}\n")
    return CompassNode(
        context=context,
        parameter_overrides=[
            Parameter("state_dir", value=str(tmp_path / "state")),
            Parameter("legitimacy_file", value=str(policy)),
            Parameter("context_dim", value=3),
            Parameter("n_particles", value=32),
            Parameter("n_fingerprint_samples", value=8),
            Parameter("social_pull_enabled", value=enabled),
            Parameter("social_pull_nu", value=nu),
            Parameter("social_pull_period_s", value=0.0),
        ],
    )


def test_social_pull_applies_the_formula_journals_it_and_survives_a_restart(tmp_path):
    population = Compass(
        np.random.default_rng(0).dirichlet([1, 1, 8, 1, 1], size=48), np.full(48, 1 / 48)
    )
    with ros_context() as context:
        node = _compass_node(context, tmp_path, nu=1.0)
        probe = rclpy.node.Node("probe", context=context)
        feedback = probe.create_publisher(HumanFeedback, topics.FEEDBACK, FEEDBACK_QOS)
        pop_pub = probe.create_publisher(MoralCompass, "/" + topics.POPULATION_COMPASS, STATE_QOS)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        executor.add_node(probe)
        try:
            assert spin_until(
                executor,
                lambda: (
                    feedback.get_subscription_count() > 0 and pop_pub.get_subscription_count() > 0
                ),
                20,
            )
            feedback.publish(_feedback(1))
            assert spin_until(executor, lambda: node.learner.version == 1, 30)
            before = node.learner.compass
            expected = social_pull(before, population, kappa_from_nu(1.0)).compass
            pop_pub.publish(compass_to_msg(population, node._config.value_names, 5, 0, ""))
            assert spin_until(executor, lambda: node.learner.version == 2, 30)
            np.testing.assert_array_equal(node.learner.compass.particles, expected.particles)
            np.testing.assert_array_equal(node.learner.compass.weights, expected.weights)
            feedback.publish(_feedback(2))
            assert spin_until(executor, lambda: node.learner.version == 3, 30)
            final = node.learner.compass
            # one journal: answer, pull, answer, in the order they were applied
            records = FeedbackJournal(tmp_path / "state" / JOURNAL_NAME, readonly=True)
            kinds = [type(r).__name__ for _, r in records.records_after(0)]
            assert kinds == ["FeedbackEvent", "CompassPull", "FeedbackEvent"]
            assert node._store.applied_events == 2  # pulls are not answers
        finally:
            _stop(executor, probe, node)
        _assert_restart_restores(context, tmp_path, 3, final)


def _stop(executor, probe, node):
    executor.shutdown()
    probe.destroy_node()
    node.destroy_node()
    node._store.close()


def _assert_restart_restores(context, tmp_path, version, compass):
    """A compass node restarted on ``tmp_path``'s state is at ``version`` with ``compass``."""
    restarted = _compass_node(context, tmp_path, enabled=False)
    try:
        assert restarted.learner.version == version
        np.testing.assert_allclose(
            restarted.learner.compass.particles, compass.particles, atol=1e-9
        )
        np.testing.assert_allclose(restarted.learner.compass.weights, compass.weights, atol=1e-9)
    finally:
        restarted.destroy_node()
        restarted._store.close()


def _run_to_version(context, tmp_path, n_feedback):
    node = _compass_node(context, tmp_path, enabled=False)
    probe = rclpy.node.Node("probe", context=context)
    feedback = probe.create_publisher(HumanFeedback, topics.FEEDBACK, FEEDBACK_QOS)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    executor.add_node(probe)
    assert spin_until(executor, lambda: feedback.get_subscription_count() > 0, 20)
    return node, probe, feedback, executor


def _pull(compass: Compass, version_before: int) -> CompassPull:
    particles, weights = compass.to_arrays()
    return CompassPull(version_before, 1, 0.5, particles, weights)


def test_a_pull_journaled_but_not_snapshotted_is_replayed_in_order(tmp_path):
    """A pull journaled between answers and never snapshotted: the restart (one restore of the
    journal) replays it between the right answers."""
    population = Compass(
        np.random.default_rng(1).dirichlet([8, 1, 1, 1, 1], size=40), np.full(40, 1 / 40)
    )
    with ros_context() as context:
        node, probe, feedback, executor = _run_to_version(context, tmp_path, 0)
        try:
            feedback.publish(_feedback(1))
            assert spin_until(executor, lambda: node.learner.version == 1, 30)
            pulled = social_pull(node.learner.compass, population, 0.5).compass
            assert node.apply_pull(_pull(pulled, node.learner.version))
            feedback.publish(_feedback(2))
            assert spin_until(executor, lambda: node.learner.version == 3, 30)
            expected = node.learner.compass
            assert node._since_snapshot > 0  # nothing snapshotted: the restart replays all
        finally:
            _stop(executor, probe, node)
        _assert_restart_restores(context, tmp_path, 3, expected)


def test_social_pull_is_off_by_default(tmp_path):
    with ros_context() as context:
        policy = tmp_path / "policy.yaml"
        policy.write_text("sources: {'*': {allowed: true}}\noperators: {'*': {allowed: true}}\n")
        node = CompassNode(
            context=context,
            parameter_overrides=[
                Parameter("state_dir", value=str(tmp_path / "state")),
                Parameter("legitimacy_file", value=str(policy)),
                Parameter("context_dim", value=3),
                Parameter("n_particles", value=16),
            ],
        )
        try:
            assert node.get_parameter("social_pull_enabled").value is False
            assert node._social_pull._subscription is None
            assert node.count_publishers("/" + topics.POPULATION_COMPASS) == 0
        finally:
            node.destroy_node()
            node._store.close()


def test_a_torn_pull_line_is_dropped_and_the_rest_replayed(tmp_path):
    path = tmp_path / JOURNAL_NAME
    c = Compass(np.eye(3)[:1], np.ones(1))
    with FeedbackJournal(path) as journal:
        journal.append_pull(_pull(c, 0))
        journal.append_pull(_pull(c, 1))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20])  # the second pull's line cut short
    with pytest.warns(RuntimeWarning, match="torn last line 2"):
        reopened = FeedbackJournal(path)
    assert [type(r).__name__ for _, r in reopened.records_after(0)] == ["CompassPull"]
    assert len(reopened) == 0  # pulls are not answers
    reopened.close()


def test_a_corrupt_middle_pull_line_stops_the_node_with_exit_code_2(tmp_path):
    state = tmp_path / "state"
    c = Compass(np.eye(5)[:1], np.ones(1))
    with FeedbackJournal(state / JOURNAL_NAME) as journal:
        for version in (0, 1, 2):
            journal.append_pull(_pull(c, version))
    lines = (state / JOURNAL_NAME).read_bytes().split(b"\n")
    lines[1] = lines[1].replace(b'"kappa":0.5', b'"kappa":0.25', 1)  # CRC no longer matches
    (state / JOURNAL_NAME).write_bytes(b"\n".join(lines))
    before = (state / JOURNAL_NAME).read_bytes()
    # social pull off: the journal is still restored, so still checked
    proc = run_compass_node(state, tmp_path / "ros_home")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "corrupt at line 2" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert (state / JOURNAL_NAME).read_bytes() == before  # left for a person to inspect


def test_a_failed_pull_write_is_rolled_back_and_not_applied(tmp_path, monkeypatch):
    with ros_context() as context:
        node = _compass_node(context, tmp_path, enabled=False)
        try:
            path = tmp_path / "state" / JOURNAL_NAME
            before, version = path.read_bytes(), node.learner.version
            real_pwrite = os.pwrite

            def half_then_full_disk(fd, data, offset):
                if len(data) > 8:
                    return real_pwrite(fd, bytes(data[: len(data) // 2]), offset)
                raise OSError(errno.ENOSPC, "No space left on device")

            monkeypatch.setattr(os, "pwrite", half_then_full_disk)
            pulled = Compass(np.eye(5)[:1], np.ones(1))
            assert node.apply_pull(_pull(pulled, version)) is False
            monkeypatch.undo()
            assert path.read_bytes() == before  # the half line was rolled back
            assert node.learner.version == version  # and nothing was applied
            assert "social pull not applied" in node.health.current_error
            with pytest.raises(JournalDiskFullError, match="NOT journaled"):
                monkeypatch.setattr(os, "pwrite", half_then_full_disk)
                node._store.append_pull(_pull(pulled, version))
            monkeypatch.undo()
            assert oct(path.stat().st_mode & 0o777) == "0o600"
        finally:
            node.destroy_node()
            node._store.close()
