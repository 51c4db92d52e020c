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
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor

REPO_ROOT = Path(__file__).resolve().parents[1]


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
    result."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        executor.spin_once(timeout_sec=0.05)
    return bool(predicate())


def child_env(**extra: str) -> dict:
    """Environment for a child process: inherits the domain and the loopback-only rule."""
    env = dict(os.environ)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env.update(extra)
    return env


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
