# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Crash safety: compass_node SIGKILLed at random points during a feedback stream loses nothing
and applies nothing twice; a torn last journal line is detected and handled.

The acknowledgement design under test: the compass node answers every ``HumanFeedback`` on
``feedback/ack`` with its ``feedback_id`` and a status (APPLIED, DUPLICATE = already applied
earlier, REJECTED + reason). It journals (fsync) an answer *before* applying and acknowledging
it, so an answer is durable iff acknowledged-or-journaled. The sender (this test, like
feedback_node) re-sends an answer under the same id until an APPLIED or DUPLICATE ack arrives
and sends the next one only then (strict order); the node applies each id at most once.

Default: 60 events, 5 kills. ``MC_FULL_RELIABILITY=1``: 1,000 events, 20 kills.
"""

from __future__ import annotations

import random
import time
import warnings

import numpy as np
import pytest
import rclpy.node
from rclpy.parameter import Parameter
import yaml
from rclpy.executors import SingleThreadedExecutor

from moral_compass_ros import topics
from moral_compass_ros.conversions import feedback_from_msg
from moral_compass_ros.core.journal import FeedbackJournal, JournalTornTailWarning
from moral_compass_ros.graph import GRAPH_NODES, GraphRunner, node_parameters
from moral_compass_ros.msg import FeedbackAck, HumanFeedback, MoralCompass
from moral_compass_ros.nodes.compass_node import CompassNode
from moral_compass_ros.parameters import learner_config
from moral_compass_ros.qos import FEEDBACK_QOS, STATE_QOS
from graph_fixture import write_params
from reliability_helpers import (
    SMALL_LEARNER,
    compass_arrays,
    count,
    event_to_msg,
    in_process,
    learner_parameters,
    make_events,
    reference_model,
    node_learner_config,
)
from ros_helpers import REPO_ROOT, ros_context

pytestmark = pytest.mark.ros

N_EVENTS = count(60, 1000)
N_KILLS = count(5, 20)
SNAPSHOT_EVERY = 7  # restarts exercise snapshot + journal tail, not only a replay
RESEND_S = 0.5  # the sender's re-send period for an unacknowledged answer
RESTART_TIMEOUT_S = 120.0  # generous: torch import + DDS discovery on a busy machine
COMPASS_NODE = next(n for n in GRAPH_NODES if n.name == "compass_node")
DONE = (FeedbackAck.STATUS_APPLIED, FeedbackAck.STATUS_DUPLICATE)


def _log_tail(tmp_path) -> str:
    log = tmp_path / "logs" / "compass_node.log"
    return log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"


class _Sender:
    """The test's side: publishes on ``feedback``, hears ``feedback/ack`` and ``compass``."""

    def __init__(self, context):
        self.node = rclpy.node.Node("crash_sender", context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.acks: dict[str, list[int]] = {}
        self.ack_times: list[float] = []
        self.compasses: list[MoralCompass] = []
        self.publisher = self.node.create_publisher(HumanFeedback, topics.FEEDBACK, FEEDBACK_QOS)
        self.node.create_subscription(FeedbackAck, topics.FEEDBACK_ACK, self._on_ack, FEEDBACK_QOS)
        self.node.create_subscription(
            MoralCompass, topics.COMPASS, self.compasses.append, STATE_QOS
        )

    def _on_ack(self, msg: FeedbackAck) -> None:
        self.acks.setdefault(msg.feedback_id, []).append(msg.status)
        self.ack_times.append(time.monotonic())

    def done(self, feedback_id: str) -> bool:
        return any(s in DONE for s in self.acks.get(feedback_id, ()))

    def spin(self, seconds: float = 0.02) -> None:
        self.executor.spin_once(timeout_sec=seconds)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


def test_sigkill_during_a_feedback_stream_loses_nothing_and_applies_nothing_twice(tmp_path):
    params_path = write_params(tmp_path, **SMALL_LEARNER)
    params = yaml.safe_load(params_path.read_text())
    node_parameters(params, "compass_node")["snapshot_every"] = SNAPSHOT_EVERY
    params_path.write_text(yaml.safe_dump(params))
    config = learner_config(params["/**"]["ros__parameters"])

    events = make_events(N_EVENTS, seed=10, context_dim=config.context_dim)
    messages = [event_to_msg(e) for e in events]
    rng = random.Random(20240610)  # seeded: the same kill points every run
    kill_at = dict(
        zip(
            sorted(rng.sample(range(1, N_EVENTS - 1), N_KILLS)),
            (rng.uniform(0.0, 1.2) for _ in range(N_KILLS)),
        )
    )
    # A kill point is a fraction of the recent acknowledgement latency after the first send,
    # so kills land before reception, during journaling/update, and after the ack alike.
    latencies: list[float] = []
    phases = {"not yet journaled": 0, "journaled, not acknowledged": 0, "acknowledged": 0}
    resends, kill_times, started = 0, [], time.monotonic()

    with (
        ros_context() as context,
        GraphRunner(
            [COMPASS_NODE], params_files=[params_path], log_dir=tmp_path / "logs"
        ) as runner,
    ):
        sender = _Sender(context)

        def kill_and_restart():
            runner.kill("compass_node")  # SIGKILL: no clean-up of any kind
            kill_times.append(time.monotonic())
            runner.start_node(COMPASS_NODE)

        try:
            runner.start_node(COMPASS_NODE)
            assert _spin_until(
                sender,
                lambda: sender.compasses and sender.publisher.get_subscription_count() > 0,
                RESTART_TIMEOUT_S,
            ), _log_tail(tmp_path)
            for i, msg in enumerate(messages):
                fid = msg.feedback_id
                first = last = time.monotonic()
                sender.publisher.publish(msg)
                killed_mid = False
                while not sender.done(fid):
                    sender.spin()
                    now = time.monotonic()
                    delay = kill_at.get(i, 0.0) * float(np.median(latencies[-10:] or [0.1]))
                    if i in kill_at and not killed_mid and now - first >= delay:
                        kill_and_restart()
                        killed_mid = True
                    if now - last >= RESEND_S:
                        sender.publisher.publish(msg)  # same id: applied at most once
                        resends += 1
                        last = now
                    assert now - first < RESTART_TIMEOUT_S, (
                        f"event {i} ({fid}) never acknowledged; exited: {runner.dead()}\n"
                        f"{_log_tail(tmp_path)}"
                    )
                if i not in kill_at and (i - 1) not in kill_at:
                    latencies.append(time.monotonic() - first)
                if killed_mid:  # which phase the kill hit: the new node's first answer says
                    first_status = sender.acks[fid][0]
                    phases[
                        "journaled, not acknowledged"
                        if first_status == FeedbackAck.STATUS_DUPLICATE
                        else "not yet journaled"
                    ] += 1
                elif i in kill_at:  # the ack came before the kill point: kill right after it
                    kill_and_restart()
                    phases["acknowledged"] += 1
            assert _spin_until(
                sender, lambda: sender.compasses and sender.compasses[-1].version == N_EVENTS, 60
            ), f"final version {sender.compasses[-1].version}\n{_log_tail(tmp_path)}"
            final = sender.compasses[-1]
            back_s = [
                min((t for t in sender.ack_times if t > k), default=float("nan")) - k
                for k in kill_times
            ]
        finally:
            sender.close()
    stream_s = time.monotonic() - started

    # 0 lost, 0 applied twice: the journal holds every id exactly once, in the sent order.
    journal = FeedbackJournal(tmp_path / "state" / "journal.jsonl", readonly=True)
    journaled = [e.feedback_id for _, e in journal.read()]
    assert journaled == [e.feedback_id for e in events]
    statuses = [s for e in events for s in sender.acks[e.feedback_id]]
    assert all(sender.acks[e.feedback_id].count(FeedbackAck.STATUS_APPLIED) <= 1 for e in events)
    assert FeedbackAck.STATUS_REJECTED not in statuses
    assert final.version == N_EVENTS and final.applied_events == N_EVENTS

    # The final compass equals an uninterrupted run of the same events (same conversion).
    offline = [
        feedback_from_msg(m, config.feature_dim, config.context_dim, len(config.value_names))
        for m in messages
    ]
    reference = reference_model(offline, config)
    particles, weights = compass_arrays(reference)
    m = len(config.value_names)
    np.testing.assert_allclose(np.reshape(final.particles, (-1, m)), particles, rtol=0, atol=1e-9)
    np.testing.assert_allclose(final.weights, weights, rtol=0, atol=1e-9)
    assert reference.version == N_EVENTS
    print(
        f"\nRELIABILITY crash: {N_EVENTS} events, {N_KILLS} SIGKILLs "
        f"(phases {phases}), {resends} re-sends, 0 lost, 0 applied twice, "
        f"max |particle diff| "
        f"{np.max(np.abs(np.reshape(final.particles, (-1, m)) - particles)):.1e}, "
        f"kill-to-next-ack median {np.nanmedian(back_s):.1f} s (max {np.nanmax(back_s):.1f} s), "
        f"ack latency median {np.median(latencies) * 1e3:.0f} ms, stream {stream_s:.0f} s"
    )
    assert sum(phases.values()) == N_KILLS


def _spin_until(sender: _Sender, predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        sender.spin(0.05)
    return bool(predicate())


def test_a_torn_last_journal_line_is_discarded_with_a_warning_and_the_state_is_right(tmp_path):
    """A crash in the middle of a journal write leaves a partial last line: the node starts,
    warns (log + /diagnostics), truncates it, and holds exactly the complete events."""
    state = tmp_path / "state"
    events = make_events(4, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with FeedbackJournal(state / "journal.jsonl") as journal:
            for event in events:
                journal.append(event)
    complete = (state / "journal.jsonl").read_bytes()
    torn = b'{"seq":5,"crc32":12345,"event":{"feedback_id":"ev-torn","act'
    (state / "journal.jsonl").write_bytes(complete + torn)
    params = learner_parameters() + [
        Parameter("state_dir", value=str(state)),
        Parameter("legitimacy_file", value=str(REPO_ROOT / "config" / "legitimacy.yaml")),
    ]
    with in_process(CompassNode, params) as harness:
        assert harness.health.counts["rejected.restore"] == 1
        assert "torn last line 5" in harness.health.last_problem
        status = harness.diagnostic_with("torn last line")
        assert status is not None, harness.diagnostics
        assert harness.node.learner.version == 4
        reference = reference_model(events, node_learner_config())
        for got, want in zip(compass_arrays(harness.node._model), compass_arrays(reference)):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        # the torn bytes are gone and the next answer continues the sequence
        assert (state / "journal.jsonl").read_bytes() == complete
        harness.node._on_feedback(event_to_msg(make_events(1, seed=4, prefix="next")[0]))
        assert harness.node.learner.version == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error", JournalTornTailWarning)  # clean now
        reopened = FeedbackJournal(state / "journal.jsonl", readonly=True)
    assert [s for s, _ in reopened.read()] == [1, 2, 3, 4, 5]
