# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Social pull for compass_node (``doc/design.md`` §8): pull q^(i) towards the population compass.

``attach_social_pull(node)`` is the one hook ``compass_node`` calls at the end of its
``__init__``. It declares the ``social_pull_*`` parameters and, when ``social_pull_enabled``,
subscribes to the population compass (``/population/compass``, published by population_node).
When a new population compass arrives (at most once per ``social_pull_period_s``) it computes

    q^(i) <- q ∝ q̂^κ (q^(i))^(1-κ),  κ = 2ν/(2ν+1)   (core.population.social_pull)

and hands the result to the compass node (``CompassNode.apply_pull``), which treats it like an
answer: a :class:`~moral_compass_ros.core.events.CompassPull` record in the same journal,
durable before it is applied, then applied (the compass replaced, its version bumped by one),
snapshotted on the same schedule and published. The record holds the pulled compass, so a
restart replays answers and pulls in their journaled order, exactly, in the one restore.
"""

from __future__ import annotations

import time

import numpy as np

from moral_compass_ros.conversions import InvalidMessage, compass_from_msg
from moral_compass_ros.core.events import CompassPull
from moral_compass_ros.core.population import (
    DEFAULT_BANDWIDTH,
    kappa_from_nu,
    social_pull,
)
from moral_compass_ros import topics
from moral_compass_ros.msg import MoralCompass
from moral_compass_ros.parameters import ParameterSpec, declare_parameters
from moral_compass_ros.qos import STATE_QOS

SOCIAL_PULL_SPECS = [
    ParameterSpec(
        "social_pull_enabled",
        False,
        "Pull this robot's compass towards the "
        "population compass when one arrives (``doc/design.md`` §8).",
        read_only=True,
    ),
    ParameterSpec(
        "social_pull_nu",
        1.0,
        "ν ≥ 0 of the social pull: q ∝ q̂^κ q^(1−κ) with "
        "κ = 2ν/(2ν+1) (ν = 0: no pull; ν = 0.5: κ = 0.5; large ν: adopt q̂).",
        minimum=0.0,
        maximum=1e6,
    ),
    ParameterSpec(
        "social_pull_topic",
        "/" + topics.POPULATION_COMPASS,
        "MoralCompass topic "
        "of the population compass (absolute: population_node runs in the root "
        "namespace).",
        read_only=True,
    ),
    ParameterSpec(
        "social_pull_period_s",
        5.0,
        "At most one pull per this many seconds (s).",
        minimum=0.0,
        maximum=1e6,
    ),
    ParameterSpec(
        "social_pull_bandwidth",
        DEFAULT_BANDWIDTH,
        "Kernel bandwidth h of the projection onto the common support (squared simplex distance).",
        minimum=1e-6,
        maximum=10.0,
    ),
]


class SocialPull:
    """The social-pull side of one compass node (created by :func:`attach_social_pull`).

    It computes pulls; the node journals and applies them (``CompassNode.apply_pull``) and
    restores them with its answers, so this class holds no state of its own beyond rate limits.
    """

    def __init__(self, node):
        self._node = node
        self._params = declare_parameters(node, SOCIAL_PULL_SPECS)
        self._last_pull_s = -np.inf
        self._last_population_version = -1
        self.applied = 0
        self._subscription = None
        if self._params["social_pull_enabled"]:
            self._subscription = node.create_subscription(
                MoralCompass, self._params["social_pull_topic"], self._on_population, STATE_QOS
            )
            node.get_logger().info(
                f"social pull on: nu={self._params['social_pull_nu']} "
                f"(kappa={kappa_from_nu(self._params['social_pull_nu']):.3f}) towards "
                f"{self._params['social_pull_topic']}"
            )

    def _on_population(self, msg: MoralCompass) -> None:
        node = self._node
        node.health.count("social_pull.received")
        now = time.monotonic()
        if (
            int(msg.version) == self._last_population_version
            or now - self._last_pull_s < self._params["social_pull_period_s"]
        ):
            return
        compass = node.learner.compass
        try:
            population = compass_from_msg(msg)
            if population.dim != compass.dim:
                raise InvalidMessage(
                    f"population compass has M={population.dim}, this robot M={compass.dim}"
                )
            kappa = kappa_from_nu(self._params["social_pull_nu"])
            result = social_pull(
                compass, population, kappa, bandwidth=self._params["social_pull_bandwidth"]
            )
        except (InvalidMessage, ValueError) as error:
            node.health.problem("social_pull", str(error))
            return
        self._last_population_version = int(msg.version)
        self._last_pull_s = now
        particles, weights = result.compass.to_arrays()
        pull = CompassPull(node.learner.version, int(msg.version), kappa, particles, weights)
        if node.apply_pull(pull):
            self.applied += 1
            node.health.count("social_pull.applied")
            node.health.values["social_pull_kappa"] = f"{kappa:.3f}"


def attach_social_pull(node) -> SocialPull:
    """Declare the social-pull parameters on ``node`` (a CompassNode) and wire the pull.

    Call as the last line of ``CompassNode.__init__``. Journaled pulls are restored with the
    answers whether or not the pull is enabled now, so a restart reproduces the state it had.
    """
    return SocialPull(node)
