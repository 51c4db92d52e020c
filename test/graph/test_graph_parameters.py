# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Parameter sections reach their node in every namespace, and the runner's overrides win.

A section keyed by the plain node name matches only the root namespace: rcl skips it on a
robot launched with ``namespace:=robot_1``, without a word. The shipped files key each node's
section ``/**/<name>``; these tests start a real node in a namespace and ask it, over its
parameter service, what it got.
"""

from __future__ import annotations

import pytest
import rclpy.node
import yaml
from rcl_interfaces.msg import ParameterType
from rcl_interfaces.srv import GetParameters
from rclpy.executors import SingleThreadedExecutor

from moral_compass_ros.graph import GRAPH_NODES, GraphRunner, names_node, node_key, node_parameters
from ros_helpers import REPO_ROOT, ros_context, spin_until

pytestmark = pytest.mark.ros

VISUALIZATION = next(node for node in GRAPH_NODES if node.name == "visualization_node")


def _get_parameters(context, fully_qualified_node: str, names: list[str]) -> dict:
    """Ask a running node for parameter values over its ``get_parameters`` service."""
    probe = rclpy.node.Node("parameter_probe", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(probe)
    try:
        client = probe.create_client(GetParameters, f"{fully_qualified_node}/get_parameters")
        assert spin_until(executor, client.service_is_ready, 60.0), (
            f"{fully_qualified_node} never came up"
        )
        future = client.call_async(GetParameters.Request(names=names))
        assert spin_until(executor, future.done, 30.0), "no answer from get_parameters"
        values = {}
        for name, value in zip(names, future.result().values):
            if value.type == ParameterType.PARAMETER_INTEGER:
                values[name] = value.integer_value
            elif value.type == ParameterType.PARAMETER_DOUBLE:
                values[name] = value.double_value
            else:
                values[name] = None
        return values
    finally:
        executor.shutdown()
        probe.destroy_node()


@pytest.mark.parametrize("namespace", ["", "robot_7"])
def test_a_node_reads_its_own_section_in_any_namespace_and_runner_overrides_win(
    tmp_path, namespace
):
    params = yaml.safe_load((REPO_ROOT / "config" / "moral_compass.yaml").read_text())
    section = node_parameters(params, "visualization_node")
    section["max_particles"] = 7  # declared default 0
    section["scale"] = 1.5  # the runner's override below must beat the node's own section
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with (
        ros_context() as context,
        GraphRunner(
            [VISUALIZATION],
            namespace=namespace,
            params_files=[path],
            overrides={"scale": 2.5},
            log_dir=tmp_path / "logs",
        ) as runner,
    ):
        runner.start()
        prefix = f"/{namespace}" if namespace else ""
        values = _get_parameters(
            context, f"{prefix}/visualization_node", ["max_particles", "scale"]
        )
        assert not runner.dead(), runner.dead()
    assert values == {"max_particles": 7, "scale": 2.5}


def test_every_shipped_node_section_matches_every_namespace():
    for path in sorted((REPO_ROOT / "config").glob("*.yaml")):
        document = yaml.safe_load(path.read_text())
        if not isinstance(document, dict):
            continue
        for key, body in document.items():
            if isinstance(body, dict) and "ros__parameters" in body:
                assert key == "/**" or key.startswith("/**/"), f"{path.name}: section {key!r}"


def test_node_parameters_finds_any_spelling_of_a_section_and_adds_a_missing_one():
    for key in ("compass_node", "/compass_node", "/**/compass_node"):
        document = {
            "/**": {"ros__parameters": {"seed": 1}},
            key: {"ros__parameters": {"snapshot_every": 3}},
        }
        assert names_node(key, "compass_node")
        node_parameters(document, "compass_node")["state_dir"] = "/tmp/x"
        assert document[key]["ros__parameters"] == {"snapshot_every": 3, "state_dir": "/tmp/x"}
    document = {"/**": {"ros__parameters": {}}}
    node_parameters(document, "feedback_node")["debounce_s"] = 0.1
    assert document[node_key("feedback_node")] == {"ros__parameters": {"debounce_s": 0.1}}
    assert not names_node("/robot_1/compass_node", "compass_node")
    assert not names_node("/**", "compass_node")
