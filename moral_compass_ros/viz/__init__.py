# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Seeing the compass: the simplex projection, rviz markers and a PNG renderer of them.

* :mod:`.projection` (numpy only): the documented 3-D projection of the value simplex.
* :mod:`.markers`: a ``MoralCompass`` (+ ``ActionSelection``) as a ``MarkerArray``.
* :mod:`.render`: the same ``MarkerArray`` drawn to a PNG with matplotlib (rviz cannot run
  on a machine without a display).
"""

from moral_compass_ros.viz.markers import (
    MarkerStyle,
    build_markers,
    markers_from_msgs,
    weight_colour,
)
from moral_compass_ros.viz.projection import SimplexProjection, ellipsoid, projection_basis
from moral_compass_ros.viz.render import RenderStats, draw_markers, render_markers_png

__all__ = [
    "MarkerStyle",
    "RenderStats",
    "SimplexProjection",
    "build_markers",
    "draw_markers",
    "ellipsoid",
    "markers_from_msgs",
    "projection_basis",
    "render_compass_png",
    "render_markers_png",
    "weight_colour",
]


def render_compass_png(
    compass_msg, path, selection_msg=None, style: MarkerStyle = MarkerStyle(), **render_kwargs
):
    """Build the markers of a ``MoralCompass`` (+ optional ``ActionSelection``) and render them.

    The demo report's "what rviz shows" figure: :func:`markers_from_msgs` then
    :func:`render_markers_png` (keyword arguments go to the latter).
    """
    markers = markers_from_msgs(compass_msg, selection_msg, style=style)
    return render_markers_png(markers, path, **render_kwargs)
