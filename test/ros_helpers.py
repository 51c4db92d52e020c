# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Helpers for tests that use real rclpy over loopback DDS (private contexts, child processes)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import rclpy
import rclpy.node
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor

from core_helpers import REPO_ROOT


@contextlib.contextmanager
def ros_context():
    """A private rclpy context on this process's domain, shut down on exit."""
    context = Context()
    rclpy.init(context=context, domain_id=int(os.environ["ROS_DOMAIN_ID"]))
    try:
        yield context
    finally:
        rclpy.try_shutdown(context=context)


def spin_until(executor: SingleThreadedExecutor, predicate, timeout_s: float) -> bool:
    """Spin ``executor`` until ``predicate()`` is true or ``timeout_s`` passes; return the
    result. The one spin-until of the suite: every helper delegates here."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        executor.spin_once(timeout_sec=0.02)
    return bool(predicate())


def spin_for(executor: SingleThreadedExecutor, seconds: float) -> None:
    """Spin ``executor`` for ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.02)


class Probe:
    """A test's own node and executor in ``context``: publish, collect what arrives, spin.

    Test files subclass it with the topics they need.
    """

    def __init__(self, context, name: str = "probe"):
        self.node = rclpy.node.Node(name, context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)

    def collect(self, msg_type, topic: str, qos, transform=None) -> list:
        """A list that every message on ``topic`` (or ``transform(message)``) is appended to."""
        received: list = []
        self.node.create_subscription(
            msg_type,
            topic,
            lambda m: received.append(m if transform is None else transform(m)),
            qos,
        )
        return received

    def spin_until(self, predicate, timeout_s: float = 30.0) -> bool:
        return spin_until(self.executor, predicate, timeout_s)

    def spin_for(self, seconds: float) -> None:
        spin_for(self.executor, seconds)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


def child_env(**extra: str) -> dict:
    """Environment for a child process: inherits the domain and the loopback-only rule."""
    env = dict(os.environ)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env.update(extra)
    return env


def run_compass_node(state_dir: Path, ros_home: Path) -> subprocess.CompletedProcess:
    """compass_node in a child process on ``state_dir``, run until it exits (a start-up refusal
    ends it with code 2 and one line of reason on stderr)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "moral_compass_ros.nodes.compass_node",
            "--ros-args",
            "-p",
            f"state_dir:={state_dir}",
        ],
        env=child_env(ROS_HOME=str(ros_home)),
        capture_output=True,
        text=True,
        timeout=180,
    )


def start_python(args: list[str], **extra_env: str) -> subprocess.Popen:
    """Start ``python ARGS`` as a child process in its own process group."""
    return subprocess.Popen(
        [sys.executable, *args],
        env=child_env(**extra_env),
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop_process(proc: subprocess.Popen, timeout_s: float = 10.0) -> str:
    """SIGINT a child, wait (then kill), and return what it printed."""
    if proc.poll() is None:
        proc.send_signal(2)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.stdout.read() if proc.stdout else ""
