# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Shared pieces of the reliability, bad-input, load and fuzz tests.

* :data:`FULL` — ``MC_FULL_RELIABILITY=1`` switches every reliability test from its small
  default count to the full count (see :func:`count`).
* :data:`SMALL_LEARNER` — learner sizes that make one update cost ~0.1 s on a busy 2-core
  machine; the behaviour under test does not depend on them.
* :class:`InProcessNode` — one package node in this process with a private rclpy context, a
  probe node beside it, and helpers to call callbacks, spin and read ``/diagnostics``.
* :func:`reference_model` — the offline answer: the same events applied in the same order to a
  fresh :class:`~moral_compass_ros.core.compass_state.CompassModel`.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import rclpy.node
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter

from moral_compass_ros import topics
from moral_compass_ros.core import FeedbackEvent, LearnerConfig
from moral_compass_ros.core.compass_state import CompassModel
from moral_compass_ros.msg import CandidateAction, HumanFeedback
from moral_compass_ros.qos import DIAGNOSTICS_QOS
from ros_helpers import ros_context, spin_for, spin_until

#: ``MC_FULL_RELIABILITY=1``: run the full counts (1,000 events / 20 kills, a
#: 10,000 msg/s flood for 10 s, 2,000 fuzz examples per target, ...).
FULL = os.environ.get("MC_FULL_RELIABILITY", "") not in ("", "0")

#: Learner hyper-parameters of every reliability test (nodes and offline reference alike).
SMALL_LEARNER = {
    "context_dim": 3,
    "n_particles": 32,
    "n_fingerprint_samples": 8,
    "replay_window": 4,
    "gradient_steps": 1,
    "proximal_steps": 1,
}


def count(default: int, full: int) -> int:
    """``full`` when :data:`FULL` is set, else ``default``.

    Parameters
    ----------
    default, full : int

    Returns
    -------
    int
    """
    return full if FULL else default


def node_learner_config(**overrides) -> LearnerConfig:
    """The :class:`LearnerConfig` the node tests start their nodes with: :data:`SMALL_LEARNER`
    (plus ``overrides``); the core tests use ``core_helpers.small_config`` instead."""
    return LearnerConfig(**{**SMALL_LEARNER, **overrides})


def learner_parameters(**overrides) -> list[Parameter]:
    """:data:`SMALL_LEARNER` (plus ``overrides``) as rclpy parameter overrides."""
    return [Parameter(k, value=v) for k, v in {**SMALL_LEARNER, **overrides}.items()]


def make_events(
    n: int,
    seed: int = 0,
    feature_dim: int = 8,
    context_dim: int = 3,
    prefix: str = "ev",
    source: str = HumanFeedback.SOURCE_SIM,
    operator: str = "alice",
) -> list[FeedbackEvent]:
    """``n`` valid, varied feedback events (some with a task reward, some with a value hint).

    Parameters
    ----------
    n : int
    seed : int
        Seed of the ``numpy.random.Generator`` that draws them.
    feature_dim, context_dim : int
        F and C of the learner they are meant for.
    prefix, source, operator : str
        Feedback id prefix (ids are ``f"{prefix}-{i:05d}"``), source and operator id.

    Returns
    -------
    list of FeedbackEvent
    """
    rng = np.random.default_rng(seed)
    events = []
    for i in range(n):
        hint = rng.dirichlet(np.ones(5)) if i % 5 == 3 else np.zeros(0)
        events.append(
            FeedbackEvent(
                feedback_id=f"{prefix}-{i:05d}",
                action_id=f"a{int(rng.integers(0, 6))}",
                features=rng.normal(size=feature_dim),
                context=rng.normal(size=context_dim),
                approved=bool(rng.random() < 0.6),
                task_reward=float(rng.normal()) if i % 4 == 1 else math.nan,
                value_hint=hint,
                weight=1.0,
                operator=operator,
                source=source,
                stamp=float(1_700_000_000 + i),
            )
        )
    return events


def event_to_msg(event: FeedbackEvent, request_id: str = "") -> HumanFeedback:
    """The ``HumanFeedback`` that carries ``event`` (inverse of ``feedback_from_msg``)."""
    from moral_compass_ros.conversions import feedback_to_msg

    action = CandidateAction(
        id=event.action_id,
        label=event.action_id,
        features=event.features.tolist(),
        value_hint=event.value_hint.tolist(),
    )
    return feedback_to_msg(event, action, request_id or f"req-{event.feedback_id}")


def reference_model(
    events: Iterable[FeedbackEvent], config: LearnerConfig, per_operator: bool = False
) -> CompassModel:
    """An uninterrupted run: ``events`` applied in order to a fresh :class:`CompassModel`."""
    model = CompassModel(config, per_operator)
    for event in events:
        model.update(event)
    return model


def compass_arrays(model_or_learner) -> tuple[np.ndarray, np.ndarray]:
    """``(particles (N, M), weights (N,))`` of a :class:`CompassModel` or learner."""
    learner = getattr(model_or_learner, "learner", model_or_learner)
    particles, weights = learner.compass.to_arrays()
    return np.array(particles), np.array(weights)


def wait_until(predicate: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout_s`` passes (never asserts on time itself)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())


class InProcessNode:
    """A package node in this process (private context) plus a probe that hears its output.

    Parameters
    ----------
    factory : callable
        The node class (``CompassNode``, ``FeedbackNode``, ...); called with ``context`` and
        ``parameter_overrides``.
    context : rclpy.context.Context
    parameters : sequence of rclpy.parameter.Parameter

    Attributes
    ----------
    node, probe : rclpy.node.Node
    executor : SingleThreadedExecutor
    diagnostics : list of DiagnosticStatus
        Every status the node published on ``/diagnostics`` (its own name only).
    """

    def __init__(self, factory, context, parameters: Sequence[Parameter] = ()):
        self.context = context
        self.node = factory(context=context, parameter_overrides=list(parameters))
        self.probe = rclpy.node.Node("bad_input_probe", context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.executor.add_node(self.probe)
        self.diagnostics: list[DiagnosticStatus] = []
        self.probe.create_subscription(
            DiagnosticArray, topics.DIAGNOSTICS, self._on_diag, DIAGNOSTICS_QOS
        )

    def _on_diag(self, msg: DiagnosticArray) -> None:
        name = self.node.get_fully_qualified_name()
        self.diagnostics += [s for s in msg.status if s.name.endswith(name)]

    @property
    def health(self):
        """The node's :class:`~moral_compass_ros.diagnostics.NodeHealth`."""
        return self.node._health

    def spin_for(self, seconds: float) -> None:
        """Spin the node and the probe for ``seconds``."""
        spin_for(self.executor, seconds)

    def spin_until(self, predicate: Callable[[], bool], timeout_s: float = 30.0) -> bool:
        """Spin until ``predicate()`` holds or ``timeout_s`` passes; return it."""
        return spin_until(self.executor, predicate, timeout_s)

    def diagnostic_with(
        self,
        text: str,
        levels=(DiagnosticStatus.WARN, DiagnosticStatus.ERROR),
        timeout_s: float = 20.0,
    ):
        """The first published status at one of ``levels`` whose message or values contain
        ``text`` (spins up to ``timeout_s``; None when none came)."""

        def find():
            for status in self.diagnostics:
                blob = (
                    status.message + " " + " ".join(f"{kv.key}={kv.value}" for kv in status.values)
                )
                if status.level in levels and text in blob:
                    return status
            return None

        self.diagnostics.clear()
        self.health.publish()  # what the node's 1 Hz timer does, now rather than in <= 1 s
        self.spin_until(lambda: find() is not None, timeout_s)
        return find()

    def close(self) -> None:
        """Destroy both nodes and the executor."""
        self.executor.shutdown()
        self.probe.destroy_node()
        self.node.destroy_node()


def in_process(factory, parameters: Sequence[Parameter] = ()):
    """Context manager: ``with in_process(CompassNode, params) as harness: ...``."""
    import contextlib

    @contextlib.contextmanager
    def manager():
        with ros_context() as context:
            harness = InProcessNode(factory, context, parameters)
            try:
                yield harness
            finally:
                harness.close()

    return manager()


def allow_all_policy(path: Path, forbidden: Sequence[str] = ("visitor",)) -> Path:
    """Write a legitimacy policy admitting every source and operator but ``forbidden``."""
    lines = ["sources: {'*': {allowed: true}}", "operators:", "  '*': {allowed: true}"]
    lines += [f"  {name!r}: {{allowed: false}}" for name in forbidden]
    path.write_text("\n".join(lines) + "\n")
    return path
