# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""visualization_node: the compass and the current candidates as rviz markers.

Subscribes to ``compass`` (``MoralCompass``, latched) and ``selection`` (``ActionSelection``)
and publishes ``compass/markers`` (``visualization_msgs/MarkerArray``, latched: a late rviz
sees the current picture at once). The markers and the simplex projection are documented in
:mod:`moral_compass_ros.viz`; open them with ``rviz2 -d config/moral_compass.rviz``.
Publication is coalesced: at most ``max_rate_hz`` arrays per second, only after a change.
"""

from __future__ import annotations

from typing import NoReturn

from rclpy.node import Node
from visualization_msgs.msg import MarkerArray

from moral_compass_ros import topics
from moral_compass_ros.conversions import InvalidMessage
from moral_compass_ros.diagnostics import NodeHealth
from moral_compass_ros.msg import ActionSelection, MoralCompass
from moral_compass_ros.nodes._spin import run_node
from moral_compass_ros.parameters import ParameterSpec, declare_parameters
from moral_compass_ros.qos import SELECTION_QOS, STATE_QOS
from moral_compass_ros.viz.markers import MarkerStyle, markers_from_msgs


def _non_empty(value):
    return None if value else "must not be empty"


NODE_SPECS = [
    ParameterSpec(
        "frame_id",
        "moral_compass",
        "Frame of every marker (rviz's Fixed Frame in config/moral_compass.rviz).",
        check=_non_empty,
    ),
    ParameterSpec(
        "scale", 1.0, "Length of one simplex unit in the frame (m).", minimum=1e-3, maximum=1e3
    ),
    ParameterSpec(
        "particle_diameter",
        0.04,
        "Diameter of the heaviest particle (simplex units); lighter ones shrink to 30 %.",
        minimum=1e-4,
        maximum=1.0,
    ),
    ParameterSpec(
        "max_particles",
        0,
        "Draw at most this many particles, the heaviest first (0 = all).",
        minimum=0,
        maximum=1000000,
    ),
    ParameterSpec(
        "covariance_sigmas",
        2.0,
        "The covariance ellipsoid shows this many standard deviations.",
        minimum=0.1,
        maximum=10.0,
    ),
    ParameterSpec(
        "max_rate_hz",
        5.0,
        "Most marker arrays published per second (changes in between are coalesced).",
        minimum=0.1,
        maximum=100.0,
    ),
]


class VisualizationNode(Node):
    """Turns the latest compass and selection into a latched ``MarkerArray``."""

    def __init__(self, **kwargs):
        super().__init__("visualization_node", **kwargs)
        self._params = declare_parameters(self, NODE_SPECS, on_change=self._on_params)
        self._health = NodeHealth(self)
        self._compass: MoralCompass | None = None
        self._selection: ActionSelection | None = None
        self._dirty = False

        self._markers_pub = self.create_publisher(MarkerArray, topics.MARKERS, STATE_QOS)
        self._compass_sub = self.create_subscription(
            MoralCompass, topics.COMPASS, self._on_compass, STATE_QOS
        )
        self._selection_sub = self.create_subscription(
            ActionSelection, topics.SELECTION, self._on_selection, SELECTION_QOS
        )
        self._timer = self.create_timer(1.0 / self._params["max_rate_hz"], self._publish)

    def _style(self) -> MarkerStyle:
        p = self._params
        return MarkerStyle(
            scale=p["scale"],
            particle_diameter=p["particle_diameter"],
            max_particles=p["max_particles"],
            covariance_sigmas=p["covariance_sigmas"],
        )

    def _on_params(self, changed: dict) -> None:
        if "max_rate_hz" in changed:
            self._timer.cancel()
            self.destroy_timer(self._timer)
            self._timer = self.create_timer(1.0 / self._params["max_rate_hz"], self._publish)
        self._dirty = self._compass is not None

    def _on_compass(self, msg: MoralCompass) -> None:
        self._compass = msg
        self._dirty = True
        self._health.values["compass_version"] = str(msg.version)

    def _on_selection(self, msg: ActionSelection) -> None:
        if msg.status == ActionSelection.STATUS_REFUSED:
            return  # keep showing the last decision made
        self._selection = msg
        self._dirty = True

    def _publish(self) -> None:
        if not self._dirty or self._compass is None:
            return
        self._dirty = False
        selection = self._selection
        if (
            selection is not None
            and selection.scores
            and len(selection.scores[0].fingerprint_mean) != len(self._compass.value_names)
        ):
            self._health.problem(
                "selection",
                "fingerprint means do not have one entry per compass value; candidates not drawn",
            )
            selection = None
        try:
            markers = markers_from_msgs(
                self._compass,
                selection,
                frame_id=self._params["frame_id"],
                stamp=self.get_clock().now().to_msg(),
                style=self._style(),
            )
        except (InvalidMessage, ValueError) as error:
            self._health.problem(
                "compass", f"cannot draw compass version {self._compass.version}: {error}"
            )
            return
        self._markers_pub.publish(markers)
        self._health.count("markers.published")


def main(args=None) -> NoReturn:
    """Entry point of ``ros2 run moral_compass_ros visualization_node``."""
    return run_node(VisualizationNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
