# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""population_node: the average compass of a fleet, its drift, and each robot's distance to it.

Subscribes to ``/<robot>/compass`` (latched ``MoralCompass``) of every configured robot
namespace (parameter ``robots``; with ``discover_robots`` it also adds every namespace that
publishes a ``MoralCompass`` on ``<ns>/compass``). Every ``publish_period_s``, when a robot's
compass changed, it publishes (both latched):

* ``population/compass`` (``MoralCompass``): the average compass q̄ = (1/N) Σ q^(i), the mixture
  of the robots' clouds (``doc/design.md`` §8) — what robots with social pull enabled pull towards;
* ``population/status`` (``PopulationCompass``): the average again, per-robot S_ε distances to
  it, the diversity, and the drift of the average since the previous publication.

All mathematics is in :mod:`moral_compass_ros.core.population`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NoReturn

from rclpy.node import Node

from moral_compass_ros import topics
from moral_compass_ros.conversions import (
    InvalidMessage,
    compass_from_msg,
    compass_to_msg,
    population_to_msg,
)
from moral_compass_ros.core import Compass
from moral_compass_ros.core.config import COSTS
from moral_compass_ros.core.population import average_compass, distances_to_average, drift
from moral_compass_ros.diagnostics import NodeHealth
from moral_compass_ros.graph import GraphNode
from moral_compass_ros.msg import MoralCompass, PopulationCompass
from moral_compass_ros.nodes._spin import run_node
from moral_compass_ros.parameters import ParameterSpec, declare_parameters, one_of
from moral_compass_ros.qos import STATE_QOS

#: How GraphRunner starts this node (``ros2 run moral_compass_ros population_node``).
POPULATION_NODE = GraphNode("population_node", "moral_compass_ros.nodes.population_node")

#: Period of the namespace discovery scan (s).
DISCOVERY_PERIOD_S = 2.0


def _check_robots(value) -> str | None:
    names = [str(v).strip("/") for v in value]
    if any(not n for n in names):
        return "robot namespaces must be non-empty"
    if len(set(names)) != len(names):
        return f"duplicate robot namespaces in {list(value)}"
    return None


NODE_SPECS = [
    ParameterSpec(
        "robots",
        ["robot_1", "robot_2"],
        "Namespaces of the robots to average (their compass is <namespace>/<compass_topic>).",
        read_only=True,
        check=_check_robots,
    ),
    ParameterSpec(
        "discover_robots",
        False,
        "Also add every namespace that publishes a "
        "MoralCompass on <namespace>/<compass_topic> (scanned every 2 s).",
        read_only=True,
    ),
    ParameterSpec(
        "compass_topic",
        topics.COMPASS,
        "Compass topic relative to a robot's namespace.",
        read_only=True,
    ),
    ParameterSpec(
        "publish_period_s",
        1.0,
        "Period of the average's publication when a robot's compass changed (s).",
        read_only=True,
        minimum=0.01,
        maximum=3600.0,
    ),
    ParameterSpec(
        "min_robots",
        1,
        "Publish only once at least this many robots sent a compass.",
        minimum=1,
        maximum=100000,
    ),
    ParameterSpec(
        "epsilon",
        0.05,
        "Entropic regularisation ε of S_ε (squared simplex "
        "distance; the simplex's squared diameter is 2).",
        minimum=1e-4,
        maximum=10.0,
    ),
    ParameterSpec(
        "cost",
        "sqeuclidean",
        "Ground cost on Θ of S_ε; set it to the robots' own "
        "`cost` so distances and drift are measured as their compasses are.",
        read_only=True,
        check=one_of(*COSTS),
    ),
    ParameterSpec(
        "stale_after_s",
        0.0,
        "Leave out a robot whose compass is older than this "
        "(s; 0 = never; compasses are latched state, so a quiet robot is not stale by "
        "itself).",
        minimum=0.0,
        maximum=1e6,
    ),
]


@dataclass
class _RobotCompass:
    compass: Compass
    version: int
    value_names: tuple
    applied_events: int
    received_s: float


class PopulationNode(Node):
    """Averages the compasses of a fleet and publishes the average, its drift and distances."""

    def __init__(self, **kwargs):
        super().__init__("population_node", **kwargs)
        self._params = declare_parameters(self, NODE_SPECS)
        self._health = NodeHealth(self)
        self._latest: dict[str, _RobotCompass] = {}
        self._subscriptions_by_robot: dict = {}
        self._changed = False
        self._version = 0
        self._previous = None  # (Compass, time s) of the last published average
        self._value_names: tuple | None = None
        self._average_pub = self.create_publisher(
            MoralCompass, topics.POPULATION_COMPASS, STATE_QOS
        )
        self._status_pub = self.create_publisher(
            PopulationCompass, topics.POPULATION_STATUS, STATE_QOS
        )
        for robot in self._params["robots"]:
            self._add_robot(str(robot).strip("/"))
        self._publish_timer = self.create_timer(self._params["publish_period_s"], self._publish)
        self._discovery_timer = None
        if self._params["discover_robots"]:
            self._discovery_timer = self.create_timer(DISCOVERY_PERIOD_S, self._discover)
        self.get_logger().info(
            f"averaging the compasses of {sorted(self._subscriptions_by_robot)}"
        )

    @property
    def robots(self) -> list[str]:
        """Namespaces currently subscribed to, in the order used for the average."""
        return sorted(self._subscriptions_by_robot)

    def _topic(self, robot: str) -> str:
        return f"/{robot}/{self._params['compass_topic'].strip('/')}"

    def _add_robot(self, robot: str) -> None:
        if robot in self._subscriptions_by_robot:
            return
        self._subscriptions_by_robot[robot] = self.create_subscription(
            MoralCompass,
            self._topic(robot),
            lambda msg, r=robot: self._on_compass(r, msg),
            STATE_QOS,
        )
        self._health.values["robots"] = str(len(self._subscriptions_by_robot))

    def _discover(self) -> None:
        suffix = "/" + self._params["compass_topic"].strip("/")
        own = self.get_namespace().rstrip("/") + "/" + topics.POPULATION_COMPASS
        for name, types in self.get_topic_names_and_types():
            if (
                name == own
                or not name.endswith(suffix)
                or "moral_compass_ros/msg/MoralCompass" not in types
            ):
                continue
            robot = name[: -len(suffix)].strip("/")
            if robot:
                self._add_robot(robot)

    def _on_compass(self, robot: str, msg: MoralCompass) -> None:
        self._health.count("compass.received")
        try:
            compass = compass_from_msg(msg)
        except InvalidMessage as error:
            self._health.problem("compass", f"{robot}: {error}")
            return
        names = tuple(msg.value_names)
        if self._value_names is not None and names != self._value_names:
            self._health.problem(
                "compass",
                f"{robot}: value names {list(names)} differ from "
                f"the fleet's {list(self._value_names)}; ignored",
            )
            return
        self._value_names = names
        previous = self._latest.get(robot)
        if (
            previous is not None
            and previous.version == int(msg.version)
            and previous.compass.n_particles == compass.n_particles
        ):
            return
        self._latest[robot] = _RobotCompass(
            compass, int(msg.version), names, int(msg.applied_events), time.monotonic()
        )
        self._changed = True

    def _included(self) -> list[str]:
        stale = self._params["stale_after_s"]
        now = time.monotonic()
        return [
            r
            for r in self.robots
            if r in self._latest and (stale <= 0.0 or now - self._latest[r].received_s <= stale)
        ]

    def _publish(self) -> None:
        if not self._changed:
            return
        included = self._included()
        if len(included) < self._params["min_robots"]:
            return
        try:
            self._publish_average(included)
            self._health.clear_error()
        except (ValueError, RuntimeError) as error:
            self._health.error(f"average failed: {error}")

    def _publish_average(self, included: list[str]) -> None:
        self._changed = False
        epsilon = float(self._params["epsilon"])
        compasses = [self._latest[r].compass for r in included]
        average = average_compass(compasses)
        cost = self._params["cost"]
        distances = distances_to_average(compasses, average, epsilon, cost)
        now_s = self.get_clock().now().nanoseconds * 1e-9
        self._version += 1
        estimate = None
        if self._previous is not None and now_s > self._previous[1]:
            estimate = drift(self._previous[0], average, now_s - self._previous[1], epsilon, cost)
        self._previous = (average, now_s)
        applied = sum(self._latest[r].applied_events for r in included)  # fleet-wide total
        average_msg = compass_to_msg(average, self._value_names, self._version, applied, "")
        stamp = self.get_clock().now().to_msg()
        average_msg.header.stamp = stamp
        msg = population_to_msg(
            included,
            [self._latest[r].version for r in included],
            distances,
            [r for r in self.robots if r not in included],
            epsilon,
            self._version,
            average_msg,
            estimate,
        )
        msg.header.stamp = stamp
        self._average_pub.publish(average_msg)
        self._status_pub.publish(msg)
        self._health.count("average.published")
        self._health.values.update(
            version=str(self._version),
            included=str(len(included)),
            diversity=f"{msg.diversity:.4f}",
            drift_rate=f"{msg.drift_rate:.3g}",
        )


def main(args=None) -> NoReturn:
    """Entry point of ``ros2 run moral_compass_ros population_node``."""
    return run_node(PopulationNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
