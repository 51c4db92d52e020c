# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Parameters are declared with descriptions, validated at start-up and at run time."""

import subprocess
import sys

import pytest
from rclpy.node import Node
from rclpy.parameter import Parameter
from moral_compass_ros.core import LearnerConfig

from moral_compass_ros.parameters import (
    InvalidParameters,
    ParameterSpec,
    declare_parameters,
    learner_config_check,
    learner_specs,
    one_of,
)
from ros_helpers import REPO_ROOT, child_env, ros_context

SPECS = [
    ParameterSpec("rate_hz", 5.0, "a rate", minimum=0.1, maximum=100.0),
    ParameterSpec("mode", "avoid", "a mode", check=one_of("avoid", "seek")),
    ParameterSpec("fixed", 3, "read-only", read_only=True),
]


def test_declared_parameters_carry_descriptions_and_ranges():
    with ros_context() as context:
        node = Node("p", context=context)
        declare_parameters(node, SPECS + learner_specs(), learner_config_check)
        descriptor = node.describe_parameter("rate_hz")
        assert descriptor.description == "a rate"
        assert descriptor.floating_point_range[0].to_value == 100.0
        assert node.describe_parameter("epsilon").description.startswith("(float)")
        assert node.describe_parameter("value_names").read_only
        node.destroy_node()


@pytest.mark.parametrize(
    "override, reason",
    [
        (Parameter("rate_hz", value=1000.0), "rate_hz"),
        (Parameter("mode", value="bold"), "mode"),
        (Parameter("epsilon", value=-1.0), "epsilon"),
        (Parameter("rate_hz", value="fast"), "rate_hz"),
    ],
)
def test_bad_start_up_values_are_refused_with_the_reason(override, reason):
    with ros_context() as context:
        node = Node("p", context=context, parameter_overrides=[override])
        with pytest.raises(InvalidParameters, match=reason):
            declare_parameters(node, SPECS + learner_specs(), learner_config_check)
        node.destroy_node()


def test_bad_run_time_values_are_refused_and_good_ones_reported():
    changes = []
    with ros_context() as context:
        node = Node("p", context=context)
        values = declare_parameters(
            node, SPECS + learner_specs(), learner_config_check, changes.append
        )
        result = node.set_parameters([Parameter("lambda_info", value=-0.5)])[0]
        assert not result.successful and "lambda_info" in result.reason
        assert node.get_parameter("lambda_info").value == pytest.approx(
            LearnerConfig().lambda_info
        )
        result = node.set_parameters([Parameter("mode", value="seek")])[0]
        assert result.successful
        assert values["mode"] == "seek" and changes == [{"mode": "seek"}]
        assert not node.set_parameters([Parameter("fixed", value=4)])[0].successful
        node.destroy_node()


def test_a_node_with_an_invalid_config_exits_with_code_2_and_says_why(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("/**:\n  ros__parameters:\n    gamma: 1.5\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "moral_compass_ros.nodes.action_selector_node",
            "--ros-args",
            "--params-file",
            str(bad),
        ],
        env=child_env(),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "gamma" in proc.stderr
