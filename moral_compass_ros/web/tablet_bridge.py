# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Hooks the tablet page into a ROS node (the feedback node): parameters, topics, threads.

:func:`attach_tablet` declares the ``tablet_*`` parameters on the node and, when
``tablet_enabled`` is true, starts a :class:`~moral_compass_ros.web.server.TabletServer`, feeds
it the latest ``compass`` and ``selection`` and turns every press into a call of the node's own
delivery function **on the node's executor thread** (a guard condition wakes the executor; the
web thread waits for the answer), so the node's state is never touched from two threads.
"""

from __future__ import annotations

import queue
import ssl
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable, Optional

from rclpy.node import Node

from moral_compass_ros import topics
from moral_compass_ros.msg import ActionSelection, MoralCompass
from moral_compass_ros.parameters import InvalidParameters, ParameterSpec, declare_parameters
from moral_compass_ros.qos import SELECTION_QOS, STATE_QOS

PRESS_TIMEOUT_S = 5.0

TABLET_SPECS = [
    ParameterSpec("tablet_enabled", False, "Serve the operator tablet page.", read_only=True),
    ParameterSpec(
        "tablet_host",
        "127.0.0.1",
        "Address the tablet page binds (loopback by "
        "default; 0.0.0.0 = every interface, then set tablet_allowed_hosts and "
        "TLS).",
        read_only=True,
    ),
    ParameterSpec(
        "tablet_port",
        8080,
        "TCP port of the tablet page (0 = ephemeral; the URL is logged).",
        read_only=True,
        minimum=0,
        maximum=65535,
    ),
    ParameterSpec(
        "tablet_operators_file",
        "",
        "YAML of operator ids and scrypt token hashes ('' = the package's config/operators.yaml).",
        read_only=True,
    ),
    ParameterSpec(
        "tablet_allowed_hosts",
        "",
        "Comma-separated extra Host names (e.g. "
        "robot.local) the page answers to besides loopback.",
        read_only=True,
    ),
    ParameterSpec(
        "tablet_session_ttl_s",
        43200.0,
        "A tablet session ends after this long without a request or an open page (s).",
        read_only=True,
        minimum=10.0,
        maximum=604800.0,
    ),
    ParameterSpec(
        "tablet_login_max_failures",
        5,
        "Failed logins allowed per client address and per operator in tablet_login_window_s.",
        read_only=True,
        minimum=1,
        maximum=1000,
    ),
    ParameterSpec(
        "tablet_login_window_s",
        60.0,
        "Window of the login rate limit (s).",
        read_only=True,
        minimum=1.0,
        maximum=86400.0,
    ),
    ParameterSpec(
        "tablet_tls_cert",
        "",
        "PEM certificate: serve HTTPS (with "
        "tablet_tls_key); '' = plain HTTP (fine on loopback only).",
        read_only=True,
    ),
    ParameterSpec("tablet_tls_key", "", "PEM private key of tablet_tls_cert.", read_only=True),
]

# deliver(approved, request_id, operator_id) -> (feedback_id, "") or ("", reason)
DeliverFn = Callable[[bool, str, str], tuple]


class TabletBridge:
    """The running tablet page of a node (see :func:`attach_tablet`)."""

    def __init__(self, node: Node, deliver: DeliverFn, health, params: dict):
        from moral_compass_ros.graph import config_file
        from moral_compass_ros.web.auth import load_operators
        from moral_compass_ros.web.server import TabletServer

        self._node, self._deliver, self._health = node, deliver, health
        operators_file = params["tablet_operators_file"] or str(config_file("operators.yaml"))
        operators = load_operators(operators_file)
        if not operators:
            health.problem(
                "tablet",
                f"no operators in {operators_file}: nobody can log in "
                "(add one with: moral-compass auth new ID)",
            )
        ssl_context = None
        if params["tablet_tls_cert"]:
            ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ssl_context.load_cert_chain(
                params["tablet_tls_cert"], params["tablet_tls_key"] or None
            )
        self._presses: queue.SimpleQueue = queue.SimpleQueue()
        self._wake = node.create_guard_condition(self._drain_presses)
        self.server = TabletServer(
            operators,
            self._on_press,
            host=params["tablet_host"],
            port=params["tablet_port"],
            allowed_hosts=params["tablet_allowed_hosts"].split(","),
            session_ttl_s=params["tablet_session_ttl_s"],
            login_max_failures=params["tablet_login_max_failures"],
            login_window_s=params["tablet_login_window_s"],
            ssl_context=ssl_context,
            logger=node.get_logger(),
        )
        self._compass_sub = node.create_subscription(
            MoralCompass, topics.COMPASS, self._on_compass, STATE_QOS
        )
        self._selection_sub = node.create_subscription(
            ActionSelection, topics.SELECTION, self._on_selection, SELECTION_QOS
        )
        self.url = self.server.start()
        health.values["tablet_url"] = self.url

    # -- ROS -> page -----------------------------------------------------------------------
    def _on_compass(self, msg: MoralCompass) -> None:
        self.server.publish_compass(
            msg.version,
            list(msg.value_names),
            list(msg.mean),
            msg.entropy,
            msg.effective_sample_size,
            msg.applied_events,
        )

    def _on_selection(self, msg: ActionSelection) -> None:
        if not msg.selected_id:
            return  # nothing was executed
        approval = next(
            (s.predicted_approval for s in msg.scores if s.id == msg.selected_id), None
        )
        self.server.publish_selection(
            msg.request_id, msg.selected_id, msg.selected.label, approval, msg.compass_version
        )

    # -- page -> ROS -----------------------------------------------------------------------
    def _on_press(self, verdict: str, request_id: str, operator_id: str):
        """Web thread: hand the press to the executor thread and wait for the outcome."""
        from moral_compass_ros.web.server import PressOutcome

        future: Future = Future()
        self._presses.put((verdict, request_id, operator_id, future))
        self._wake.trigger()
        try:
            return future.result(timeout=PRESS_TIMEOUT_S)
        except FutureTimeout:
            return PressOutcome(False, "", "the robot is busy; press again")

    def _drain_presses(self) -> None:
        """Executor thread: deliver every queued press through the node's delivery path."""
        from moral_compass_ros.web.server import PressOutcome

        while True:
            try:
                verdict, request_id, operator_id, future = self._presses.get_nowait()
            except queue.Empty:
                return
            if future.done():
                continue  # the web side gave up waiting; do not deliver late
            if verdict == "unsure":
                self._health.count("tablet.cant_tell")
                future.set_result(PressOutcome(True, "", "counted; nothing sent"))
                continue
            try:
                feedback_id, reason = self._deliver(verdict == "up", request_id, operator_id)
            except (ValueError, TypeError, KeyError) as error:
                feedback_id, reason = "", f"could not deliver: {error}"
                self._health.problem("tablet", reason)
            if feedback_id:
                self._health.count("tablet.presses")
            if not future.done():
                future.set_result(PressOutcome(bool(feedback_id), feedback_id, reason))

    def stop(self) -> None:
        """Stop the web server."""
        self.server.stop()


def attach_tablet(node: Node, deliver: DeliverFn, health) -> Optional[TabletBridge]:
    """Declare the ``tablet_*`` parameters; start the tablet page if ``tablet_enabled``.

    Parameters
    ----------
    node : rclpy.node.Node
        The node that owns the feedback path (its executor runs ``deliver``).
    deliver : callable (approved, request_id, operator_id) -> (feedback_id, reason)
        Turns one press into exactly one ``HumanFeedback`` (source ``tablet``); returns the
        feedback id, or ``""`` and the reason it was refused.
    health : moral_compass_ros.diagnostics.NodeHealth
        Counts presses and "can't tell" answers, reports problems.

    Returns
    -------
    TabletBridge or None
        ``None`` when the tablet is disabled.

    Raises
    ------
    moral_compass_ros.parameters.InvalidParameters
        If the operators file is missing or holds a plain token, the TLS files cannot be
        read, or the address cannot be bound (the node then exits with code 2).
    """
    params = declare_parameters(node, TABLET_SPECS)
    if not params["tablet_enabled"]:
        return None
    from moral_compass_ros.web.auth import OperatorsFileError

    try:
        return TabletBridge(node, deliver, health, params)
    except (OperatorsFileError, OSError, ssl.SSLError) as error:
        raise InvalidParameters(f"tablet: {error}") from error
