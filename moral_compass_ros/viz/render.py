# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Draw ``visualization_msgs`` markers to a PNG with matplotlib (Agg), as rviz would show them.

rviz2 cannot run on machines without a display; this renderer draws *the same messages* the
visualisation node publishes (it reads only the markers, never the compass), so the picture in
a report is what an operator sees in rviz. Supported marker types: SPHERE (small ones as dots
sized in data units, large or non-uniform ones as wire-frame ellipsoids with their orientation),
CUBE, SPHERE_LIST / CUBE_LIST / POINTS (per-point colours honoured), LINE_LIST, LINE_STRIP,
ARROW (as a line) and TEXT_VIEW_FACING; actions ADD/MODIFY, DELETE and DELETEALL are applied in
order. Marker poses are applied to list points (position + orientation).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Union

import numpy as np
from visualization_msgs.msg import Marker, MarkerArray

from moral_compass_ros.viz.markers import (
    _VIRIDIS,
    CANDIDATE_RGBA,
    COVARIANCE_RGBA,
    MEAN_RGBA,
    NS_CANDIDATE_LABELS,
    NS_CANDIDATES,
    NS_COVARIANCE,
    NS_INFO,
    NS_MEAN,
    NS_PARTICLES,
    SELECTED_RGBA,
)
from moral_compass_ros.viz.projection import quaternion_to_rotation

# A sphere whose largest diameter exceeds this fraction of the scene's extent, or whose axes
# differ by more than ANISOTROPY, is drawn as a wire-frame ellipsoid rather than a dot.
LARGE_SPHERE_FRACTION = 0.08
ANISOTROPY = 1.15


@dataclass
class RenderStats:
    """What :func:`render_markers_png` drew, counted per namespace.

    Attributes
    ----------
    points : Counter
        Dots drawn (spheres, cubes, list points) per namespace.
    segments : Counter
        Line segments drawn per namespace.
    texts : Counter
        Text labels drawn per namespace.
    ellipsoids : Counter
        Wire-frame ellipsoids drawn per namespace.
    skipped : Counter
        Markers of unsupported types, per type number.
    labels : list of str
        Every text drawn, in order.
    """

    points: Counter = field(default_factory=Counter)
    segments: Counter = field(default_factory=Counter)
    texts: Counter = field(default_factory=Counter)
    ellipsoids: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    labels: list = field(default_factory=list)


def _colour(c) -> tuple:
    return (float(c.r), float(c.g), float(c.b), float(c.a))


def _pose(marker: Marker) -> tuple[np.ndarray, np.ndarray]:
    p, q = marker.pose.position, marker.pose.orientation
    quat = np.array([q.x, q.y, q.z, q.w], dtype=np.float64)
    rotation = np.eye(3) if np.linalg.norm(quat) == 0 else quaternion_to_rotation(quat)
    return np.array([p.x, p.y, p.z], dtype=np.float64), rotation


def _list_points(marker: Marker) -> np.ndarray:
    origin, rotation = _pose(marker)
    pts = np.array([[p.x, p.y, p.z] for p in marker.points], dtype=np.float64).reshape(-1, 3)
    return pts @ rotation.T + origin


def _live_markers(markers: Iterable[Marker]) -> list[Marker]:
    """Apply ADD/MODIFY/DELETE/DELETEALL in order; return the markers left, in insertion order."""
    live: dict[tuple[str, int], Marker] = {}
    for marker in markers:
        if marker.action == Marker.DELETEALL:
            if marker.ns:
                live = {k: v for k, v in live.items() if k[0] != marker.ns}
            else:
                live.clear()
        elif marker.action == Marker.DELETE:
            live.pop((marker.ns, marker.id), None)
        else:
            live[(marker.ns, marker.id)] = marker
    return list(live.values())


def _extent(markers: list[Marker]) -> tuple[np.ndarray, np.ndarray]:
    pts = []
    for marker in markers:
        if marker.points:
            pts.append(_list_points(marker))
        else:
            pts.append(_pose(marker)[0][None, :])
    if not pts:
        return np.zeros(3) - 1.0, np.zeros(3) + 1.0
    allpts = np.vstack(pts)
    return allpts.min(axis=0), allpts.max(axis=0)


def draw_markers(ax, markers: Union[MarkerArray, Iterable[Marker]]) -> RenderStats:
    """Draw markers on a matplotlib 3-D axes; return what was drawn.

    Parameters
    ----------
    ax : mpl_toolkits.mplot3d.axes3d.Axes3D
    markers : MarkerArray or iterable of Marker

    Returns
    -------
    RenderStats
    """
    items = markers.markers if isinstance(markers, MarkerArray) else list(markers)
    live = _live_markers(items)
    stats = RenderStats()
    low, high = _extent(live)
    span = float(np.max(high - low)) or 1.0
    # Matplotlib sizes dots in points; convert a data-unit diameter with the axes' size.
    fig = ax.get_figure()
    points_per_unit = 0.55 * min(fig.get_size_inches()) * 72.0 / span

    for marker in live:
        ns, colour = marker.ns, _colour(marker.color)
        origin, rotation = _pose(marker)
        scale = np.array([marker.scale.x, marker.scale.y, marker.scale.z], dtype=np.float64)
        if marker.type in (Marker.SPHERE, Marker.CUBE):
            large = scale.max() > LARGE_SPHERE_FRACTION * span
            anisotropic = scale.max() > ANISOTROPY * max(scale.min(), 1e-12)
            if marker.type == Marker.SPHERE and (large or anisotropic):
                _ellipsoid(ax, origin, rotation, scale / 2.0, colour)
                stats.ellipsoids[ns] += 1
            else:
                size = (max(scale.max(), 1e-6) * points_per_unit) ** 2
                ax.scatter(
                    *origin,
                    s=size,
                    color=[colour],
                    depthshade=False,
                    marker="o" if marker.type == Marker.SPHERE else "s",
                    edgecolors="none",
                )
                stats.points[ns] += 1
        elif marker.type in (Marker.SPHERE_LIST, Marker.CUBE_LIST, Marker.POINTS):
            pts = _list_points(marker)
            if len(pts) == 0:
                continue
            colours = (
                [_colour(c) for c in marker.colors]
                if len(marker.colors) == len(pts)
                else [colour] * len(pts)
            )
            size = (
                max(scale[0] if marker.type == Marker.POINTS else scale.max(), 1e-6)
                * points_per_unit
            ) ** 2
            ax.scatter(
                pts[:, 0],
                pts[:, 1],
                pts[:, 2],
                s=size,
                c=colours,
                depthshade=False,
                marker="s" if marker.type == Marker.CUBE_LIST else "o",
                edgecolors="none",
            )
            stats.points[ns] += len(pts)
        elif marker.type in (Marker.LINE_LIST, Marker.LINE_STRIP, Marker.ARROW):
            pts = _list_points(marker)
            if marker.type == Marker.ARROW and len(pts) == 0:
                pts = np.vstack([origin, origin + rotation[:, 0] * scale[0]])
            if marker.type == Marker.LINE_LIST:
                pairs = [(pts[k], pts[k + 1]) for k in range(0, len(pts) - 1, 2)]
            else:
                pairs = [(pts[k], pts[k + 1]) for k in range(len(pts) - 1)]
            width = max(
                0.8, (scale[0] if marker.type != Marker.ARROW else scale[1]) * points_per_unit
            )
            for a, b in pairs:
                ax.plot(*zip(a, b), color=colour, linewidth=width)
            stats.segments[ns] += len(pairs)
        elif marker.type == Marker.TEXT_VIEW_FACING:
            fontsize = float(np.clip(marker.scale.z * points_per_unit, 6.0, 16.0))
            ax.text(
                *origin, marker.text, color=colour, fontsize=fontsize, ha="center", va="center"
            )
            stats.texts[ns] += 1
            stats.labels.append(marker.text)
        else:
            stats.skipped[int(marker.type)] += 1
    centre = (low + high) / 2.0
    half = span / 2.0 * 1.1
    ax.set_xlim(centre[0] - half, centre[0] + half)
    ax.set_ylim(centre[1] - half, centre[1] + half)
    ax.set_zlim(centre[2] - half, centre[2] + half)
    ax.set_box_aspect((1, 1, 1))
    return stats


def _ellipsoid(ax, centre, rotation, radii, colour) -> None:
    u, v = np.meshgrid(np.linspace(0, 2 * np.pi, 24), np.linspace(0, np.pi, 12))
    unit = np.stack([np.cos(u) * np.sin(v), np.sin(u) * np.sin(v), np.cos(v)], axis=-1)
    xyz = (unit * radii) @ rotation.T + centre
    ax.plot_wireframe(
        xyz[..., 0],
        xyz[..., 1],
        xyz[..., 2],
        color=colour[:3],
        alpha=max(0.35, colour[3]),
        linewidth=0.6,
    )


def _legend(fig, stats: RenderStats) -> None:
    """What the colours mean, for the namespaces that were drawn, below the axes."""
    from matplotlib.lines import Line2D

    entries = [
        (NS_PARTICLES, _VIRIDIS[3], "particles (colour and size: weight, dark = light)"),
        (NS_MEAN, MEAN_RGBA, "compass mean"),
        (NS_COVARIANCE, COVARIANCE_RGBA[:3] + (0.6,), "covariance ellipsoid"),
        (NS_CANDIDATES, CANDIDATE_RGBA, "candidate actions' fingerprints"),
        (NS_CANDIDATES, SELECTED_RGBA, "the selected action's fingerprint"),
    ]
    handles = [
        Line2D([], [], ls="", marker="o", ms=8, color=colour, label=label)
        for ns, colour, label in entries
        if stats.points[ns] or stats.ellipsoids[ns]
    ]
    if handles:
        fig.legend(
            handles=handles,
            loc="lower center",
            ncol=2,
            fontsize=8,
            frameon=False,
            bbox_to_anchor=(0.5, 0.0),
        )


def render_markers_png(
    markers: Union[MarkerArray, Iterable[Marker]],
    path: Union[str, Path],
    view: tuple[float, float] = (22.0, -60.0),
    size_px: int = 900,
    title: str = "",
    return_stats: bool = False,
    caption_namespaces: tuple = (NS_INFO, NS_CANDIDATE_LABELS),
    legend: bool = True,
):
    """Render markers to a PNG file (matplotlib Agg, 3-D axes, no display needed).

    Parameters
    ----------
    markers : MarkerArray or iterable of Marker
        What the visualisation node published (e.g. from ``markers_from_msgs``).
    path : str or Path
        Output PNG (parent directories are created).
    view : (float, float)
        Camera elevation and azimuth in degrees (matplotlib's ``view_init``).
    size_px : int
        Width and height of the image in pixels.
    title : str
        Optional title above the plot.
    return_stats : bool
        Also return the :class:`RenderStats`.
    caption_namespaces : tuple of str
        Text markers of these namespaces are written as a caption above the plot instead of
        in 3-D, where they would overlap the vertex labels (rviz places them in the scene).
    legend : bool
        Explain the marker colours below the plot.

    Returns
    -------
    Path, or (Path, RenderStats) when ``return_stats``
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dpi = 100
    fig = Figure(figsize=(size_px / dpi, size_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(projection="3d")
    items = _live_markers(markers.markers if isinstance(markers, MarkerArray) else markers)
    captions = [
        mk for mk in items if mk.ns in caption_namespaces and mk.type == Marker.TEXT_VIEW_FACING
    ]
    caption_ids = {id(mk) for mk in captions}
    stats = draw_markers(ax, [mk for mk in items if id(mk) not in caption_ids])
    for mk in captions:
        stats.texts[mk.ns] += 1
        stats.labels.append(mk.text)
    ax.view_init(elev=view[0], azim=view[1])
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_zlabel("z")
    caption = "\n".join([title] * bool(title) + [mk.text for mk in captions])
    if caption:
        fig.text(0.5, 0.97, caption, ha="center", va="top", fontsize=11)
    if legend:
        _legend(fig, stats)
    fig.subplots_adjust(left=0.0, right=1.0, bottom=0.1, top=0.9)
    fig.savefig(path, dpi=dpi)
    return (path, stats) if return_stats else path
