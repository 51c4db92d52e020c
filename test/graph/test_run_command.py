# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``moral-compass run``: the robot graph without ``ros2 launch``, its tablet URL on the console,
and the launch file's rule that the exit of a required node stops the graph."""

import signal
import subprocess
import urllib.request

import pytest
import rclpy.node
from rclpy.executors import SingleThreadedExecutor

from moral_compass_ros import topics
from moral_compass_ros.msg import MoralCompass
from moral_compass_ros.qos import STATE_QOS
from moral_compass_ros.tools.run import TABLET_URL
from moral_compass_ros.web.auth import hash_token
from ros_helpers import ros_context, spin_until, start_python

pytestmark = pytest.mark.ros


def _start(tmp_path, *args: str) -> subprocess.Popen:
    return start_python(
        ["-m", "moral_compass_ros.tools.cli", "run", *args],
        ROS_HOME=str(tmp_path / "ros_home"),
        PYTHONUNBUFFERED="1",
    )


def _read_until(proc: subprocess.Popen, marker: str, lines: list[str]) -> bool:
    for line in proc.stdout:
        lines.append(line)
        if marker in line:
            return True
    return False


def test_run_starts_the_graph_and_prints_the_tablet_url(tmp_path):
    operators = tmp_path / "operators.yaml"
    operators.write_text(
        f'operators:\n  - id: alice\n    token_hash: "{hash_token("a-long-enough-token")}"\n'
    )
    proc = _start(
        tmp_path,
        "--namespace",
        "run_test",
        "--tablet",
        "--tablet-port",
        "0",
        "--tablet-operators",
        str(operators),
    )
    lines: list[str] = []
    try:
        assert _read_until(proc, "run: tablet page: ", lines), "".join(lines)
        url = TABLET_URL.search(lines[-1]).group(1)
        with urllib.request.urlopen(url + "login", timeout=30) as response:
            assert response.status == 200
        with ros_context() as context:
            probe = rclpy.node.Node("run_probe", context=context)
            compasses = []
            probe.create_subscription(
                MoralCompass, f"/run_test/{topics.COMPASS}", compasses.append, STATE_QOS
            )
            executor = SingleThreadedExecutor(context=context)
            executor.add_node(probe)
            assert spin_until(executor, lambda: compasses, 60), "".join(lines)
            probe.destroy_node()
        proc.send_signal(signal.SIGINT)
        lines.append(proc.communicate(timeout=60)[0])
    finally:
        if proc.poll() is None:  # SIGTERM: the command stops its nodes; SIGKILL orphans them
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    output = "".join(lines)
    assert proc.returncode == 0, output
    assert "[compass_node] [INFO]" in output and "compass restored" in output, output
    assert "Traceback" not in output, output


def test_the_exit_of_a_required_node_stops_the_graph(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("/**/compass_node:\n  ros__parameters:\n    n_particles: -1\n")
    proc = _start(tmp_path, "--params", str(params))
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 1, output
    assert "run: required node compass_node exited with code 2; stopping the graph" in output
    assert "n_particles" in output  # the node's own reason, on the same console


@pytest.mark.parametrize(
    "args, message",
    [
        (["--params", "/nonexistent.yaml"], "parameter file /nonexistent.yaml does not exist"),
        (["--tablet-port", "0"], "--tablet-port and --tablet-operators need --tablet"),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(tmp_path, args, message):
    proc = _start(tmp_path, *args)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 2 and message in output, output
