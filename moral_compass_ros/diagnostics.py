# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Per-node health: counters, the last problem, throttled logs and ``/diagnostics`` at 1 Hz."""

from __future__ import annotations

import time
from collections import Counter

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.node import Node

from moral_compass_ros import topics
from moral_compass_ros.qos import DIAGNOSTICS_QOS

PUBLISH_PERIOD_S = 1.0
LOG_THROTTLE_S = 2.0
MAX_THROTTLE_KEYS = 1000
# At most this many log lines per problem kind per LOG_THROTTLE_S window: a flood whose every
# message is distinct (each names its own feedback id) still cannot flood the log.
MAX_LOGS_PER_KIND = 10


class NodeHealth:
    """Counts what a node did and refused, and publishes it as a ``DiagnosticStatus``.

    ``problem(kind, reason)`` is the one way a node reports bad input: it counts the kind, logs
    the reason (each distinct message at most once per 2 s and at most ``MAX_LOGS_PER_KIND``
    lines per kind per 2 s, so a flood cannot flood the log; the rest are counted as
    ``log.suppressed``) and keeps it as the last problem, which turns the status to WARN until
    ``clear_after_s`` passes without a new one.
    """

    def __init__(self, node: Node, clear_after_s: float = 10.0):
        self._node = node
        self._clear_after_s = clear_after_s
        self.counts: Counter = Counter()
        self.values: dict[str, str] = {}
        self.last_problem = ""
        self._last_problem_time = None
        self._error = ""
        self._logged: dict[str, float] = {}
        self._kind_window: dict[str, tuple[float, int]] = {}
        self._publisher = node.create_publisher(
            DiagnosticArray, topics.DIAGNOSTICS, DIAGNOSTICS_QOS
        )
        self._timer = node.create_timer(PUBLISH_PERIOD_S, self.publish)

    def count(self, what: str, n: int = 1) -> None:
        """Count an event of kind ``what``."""
        self.counts[what] += n

    def problem(self, kind: str, reason: str) -> None:
        """Report refused input or a recoverable failure of kind ``kind``."""
        self.counts[f"rejected.{kind}"] += 1
        self.last_problem = f"{kind}: {reason}"
        self._last_problem_time = self._node.get_clock().now()
        if self._should_log(self.last_problem, kind):
            self._node.get_logger().warning(self.last_problem)

    def _should_log(self, text: str, kind: str | None = None) -> bool:
        # Throttle per distinct message: a flood of one bad input logs once per window, while
        # a different reason is still logged at once -- up to MAX_LOGS_PER_KIND per kind.
        now = time.monotonic()
        if now - self._logged.get(text, -LOG_THROTTLE_S) < LOG_THROTTLE_S:
            return False
        if kind is not None:
            start, logged = self._kind_window.get(kind, (now, 0))
            if now - start >= LOG_THROTTLE_S:
                start, logged = now, 0
            if logged >= MAX_LOGS_PER_KIND:
                self.counts["log.suppressed"] += 1
                return False
            self._kind_window[kind] = (start, logged + 1)
        if len(self._logged) >= MAX_THROTTLE_KEYS:
            self._logged.clear()
        self._logged[text] = now
        return True

    def error(self, reason: str) -> None:
        """Set a persistent error (status ERROR) until :meth:`clear_error`."""
        self._error = reason
        if self._should_log(reason):
            self._node.get_logger().error(reason)

    def clear_error(self) -> None:
        """Leave the ERROR state."""
        self._error = ""

    @property
    def current_error(self) -> str:
        """The persistent error in force ("" when none)."""
        return self._error

    def status(self) -> DiagnosticStatus:
        """The current ``DiagnosticStatus`` of the node."""
        level, message = DiagnosticStatus.OK, "ok"
        if self._error:
            level, message = DiagnosticStatus.ERROR, self._error
        elif self._last_problem_time is not None:
            age = (self._node.get_clock().now() - self._last_problem_time).nanoseconds * 1e-9
            if age < self._clear_after_s:
                level, message = DiagnosticStatus.WARN, self.last_problem
        pairs = {**{k: str(v) for k, v in sorted(self.counts.items())}, **self.values}
        if self.last_problem:
            pairs["last_problem"] = self.last_problem
        return DiagnosticStatus(
            level=level,
            name=f"moral_compass_ros: {self._node.get_fully_qualified_name()}",
            message=message,
            hardware_id=self._node.get_name(),
            values=[KeyValue(key=k, value=v) for k, v in pairs.items()],
        )

    def publish(self) -> None:
        """Publish the status now."""
        msg = DiagnosticArray()
        msg.header.stamp = self._node.get_clock().now().to_msg()
        msg.status = [self.status()]
        self._publisher.publish(msg)
