# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The compass as an rviz ``MarkerArray``: simplex, particles, mean, covariance, candidates, text.

Pure message building (no node, no ROS graph): :func:`build_markers` takes arrays, and
:func:`markers_from_msgs` takes a ``MoralCompass`` (and optionally an ``ActionSelection``).
Every marker lives in one frame (default ``moral_compass``) and one of the namespaces below,
so rviz can toggle each on its own; the array starts with a ``DELETEALL`` so markers of an
earlier, larger array (more candidates, more particles) disappear.

=====================  ===================  ==================================================
namespace              type                 what
=====================  ===================  ==================================================
``simplex_edges``      LINE_LIST            the M(M−1)/2 edges of the projected simplex
``simplex_vertices``   SPHERE_LIST          the M vertices (one value with weight 1 each)
``vertex_labels``      TEXT_VIEW_FACING     one label per vertex: the value's name (id = k)
``particles``          SPHERE               one per particle (id = i); colour (viridis) and
                                            diameter grow with the weight w_i / max w
``mean``               SPHERE               the weighted mean θ̄
``covariance``         SPHERE               the k-σ ellipsoid of the projected covariance
``candidates``         SPHERE               one per candidate's fingerprint mean (id = index);
                                            the selected one is larger and orange
``candidate_labels``   TEXT_VIEW_FACING     the selected candidate's label
``info``               TEXT_VIEW_FACING     compass version, entropy (nats), ESS
=====================  ===================  ==================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point, Pose, Quaternion, Vector3
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from moral_compass_ros.viz.projection import SimplexProjection, ellipsoid

NS_EDGES = "simplex_edges"
NS_VERTICES = "simplex_vertices"
NS_VERTEX_LABELS = "vertex_labels"
NS_PARTICLES = "particles"
NS_MEAN = "mean"
NS_COVARIANCE = "covariance"
NS_CANDIDATES = "candidates"
NS_CANDIDATE_LABELS = "candidate_labels"
NS_INFO = "info"

#: Colours (RGBA) of the compass markers, shared with the PNG renderer's legend.
MEAN_RGBA = (0.85, 0.1, 0.1, 1.0)
COVARIANCE_RGBA = (0.85, 0.1, 0.1, 0.25)
CANDIDATE_RGBA = (0.2, 0.6, 1.0, 0.8)
SELECTED_RGBA = (1.0, 0.55, 0.0, 1.0)

# viridis at 0, 0.25, 0.5, 0.75, 1 (RGB): low weight = dark purple, high weight = yellow.
_VIRIDIS = np.array(
    [
        [0.267, 0.005, 0.329],
        [0.231, 0.322, 0.545],
        [0.128, 0.567, 0.551],
        [0.369, 0.789, 0.383],
        [0.993, 0.906, 0.144],
    ]
)


@dataclass(frozen=True)
class MarkerStyle:
    """Sizes (metres in rviz, simplex units × ``scale``) and options of the compass markers.

    Attributes
    ----------
    scale : float
        Length of one simplex unit.
    particle_diameter : float
        Diameter of the heaviest particle; a weightless one is ``min_particle_fraction`` of it.
    min_particle_fraction : float
        Smallest particle diameter as a fraction of ``particle_diameter`` (0..1).
    max_particles : int
        Draw at most this many particles (the heaviest); 0 = all.
    covariance_sigmas : float
        The ellipsoid shows this many standard deviations.
    edge_width : float
        Line width of the simplex edges.
    text_height : float
        Height of capital letters of the labels.
    """

    scale: float = 1.0
    particle_diameter: float = 0.04
    min_particle_fraction: float = 0.3
    max_particles: int = 0
    covariance_sigmas: float = 2.0
    edge_width: float = 0.008
    text_height: float = 0.06


def weight_colour(fraction: float, alpha: float = 0.9) -> ColorRGBA:
    """Viridis colour of a weight fraction in [0, 1] (0 = dark purple, 1 = yellow)."""
    f = float(np.clip(fraction, 0.0, 1.0)) * (len(_VIRIDIS) - 1)
    low = int(np.floor(f))
    high = min(low + 1, len(_VIRIDIS) - 1)
    rgb = _VIRIDIS[low] + (f - low) * (_VIRIDIS[high] - _VIRIDIS[low])
    return ColorRGBA(r=float(rgb[0]), g=float(rgb[1]), b=float(rgb[2]), a=float(alpha))


def _rgba(r: float, g: float, b: float, a: float = 1.0) -> ColorRGBA:
    return ColorRGBA(r=float(r), g=float(g), b=float(b), a=float(a))


def _point(xyz) -> Point:
    return Point(x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2]))


def _marker(header: Header, ns: str, marker_id: int, marker_type: int) -> Marker:
    marker = Marker(header=header, ns=ns, id=int(marker_id), type=marker_type, action=Marker.ADD)
    marker.pose.orientation.w = 1.0
    return marker


def _at(marker: Marker, xyz) -> Marker:
    marker.pose = Pose(position=_point(xyz), orientation=Quaternion(w=1.0))
    return marker


def build_markers(
    value_names: Sequence[str],
    particles: np.ndarray,
    weights: np.ndarray,
    version: int,
    entropy: float,
    ess: float,
    candidates: Sequence[tuple[str, Sequence[float]]] = (),
    selected_id: str = "",
    selected_label: str = "",
    frame_id: str = "moral_compass",
    stamp: Optional[Time] = None,
    style: MarkerStyle = MarkerStyle(),
) -> MarkerArray:
    """The compass (and the current candidates) as a ``MarkerArray``.

    Parameters
    ----------
    value_names : sequence of str, length M
    particles : ndarray, shape (N, M)
        Particles θ_i on the simplex.
    weights : ndarray, shape (N,)
        Weights w_i (≥ 0, sum 1).
    version : int
        Compass version (shown in the info text).
    entropy : float
        Entropy of the weights (nats).
    ess : float
        Effective sample size.
    candidates : sequence of (id, fingerprint_mean (M,)), optional
        The current candidates' fingerprint means (``ActionScore.fingerprint_mean``).
    selected_id : str
        Id of the selected candidate ("" = none).
    selected_label : str
        Its label, shown next to it.
    frame_id : str
        Frame of every marker.
    stamp : builtin_interfaces.msg.Time, optional
        Header stamp (default zero: "latest" in rviz).
    style : MarkerStyle

    Returns
    -------
    visualization_msgs.msg.MarkerArray
        A ``DELETEALL`` marker, then the markers of the module docstring's table.

    Raises
    ------
    ValueError
        On inconsistent shapes.
    """
    names = [str(n) for n in value_names]
    theta = np.asarray(particles, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    m = len(names)
    if theta.ndim != 2 or theta.shape[1] != m or theta.shape[0] == 0:
        raise ValueError(f"particles must have shape (N, {m}), got {theta.shape}")
    if w.shape != (theta.shape[0],):
        raise ValueError(f"weights must have shape ({theta.shape[0]},), got {w.shape}")
    projection = SimplexProjection(m, style.scale)
    header = Header(frame_id=frame_id, stamp=stamp or Time())
    markers: list[Marker] = [Marker(header=header, action=Marker.DELETEALL)]

    # -- the simplex ---------------------------------------------------------------------
    edges = _marker(header, NS_EDGES, 0, Marker.LINE_LIST)
    edges.scale.x = style.edge_width * style.scale
    edges.color = _rgba(0.55, 0.55, 0.6, 0.9)
    for i, j in projection.edges:
        edges.points += [_point(projection.vertices[i]), _point(projection.vertices[j])]
    markers.append(edges)

    vertices = _marker(header, NS_VERTICES, 0, Marker.SPHERE_LIST)
    vertices.scale = Vector3(
        x=2.0 * style.particle_diameter * style.scale,
        y=2.0 * style.particle_diameter * style.scale,
        z=2.0 * style.particle_diameter * style.scale,
    )
    vertices.color = _rgba(0.35, 0.35, 0.4, 1.0)
    vertices.points = [_point(v) for v in projection.vertices]
    markers.append(vertices)

    centre = np.zeros(3)
    for k, name in enumerate(names):
        label = _at(
            _marker(header, NS_VERTEX_LABELS, k, Marker.TEXT_VIEW_FACING),
            projection.vertices[k] + 0.12 * style.scale * _outward(projection.vertices[k], centre),
        )
        label.text = name
        label.scale.z = style.text_height * style.scale
        label.color = _rgba(0.1, 0.1, 0.1, 1.0)
        markers.append(label)

    # -- the particles, coloured and sized by weight -------------------------------------
    positions = projection.points(theta)
    order = np.argsort(-w, kind="stable")
    if style.max_particles > 0:
        order = order[: style.max_particles]
    w_max = float(w.max()) if w.max() > 0 else 1.0
    for i in order:
        fraction = float(w[i]) / w_max
        diameter = (
            style.particle_diameter
            * style.scale
            * (
                style.min_particle_fraction
                + (1.0 - style.min_particle_fraction) * np.sqrt(fraction)
            )
        )
        particle = _at(_marker(header, NS_PARTICLES, int(i), Marker.SPHERE), positions[i])
        particle.scale = Vector3(x=diameter, y=diameter, z=diameter)
        particle.color = weight_colour(fraction)
        markers.append(particle)

    # -- mean and covariance ellipsoid ---------------------------------------------------
    mean = w @ theta
    centred = theta - mean
    covariance = (centred * w[:, None]).T @ centred
    mean_xyz = projection.points(mean)
    mean_marker = _at(_marker(header, NS_MEAN, 0, Marker.SPHERE), mean_xyz)
    d = 1.6 * style.particle_diameter * style.scale
    mean_marker.scale = Vector3(x=d, y=d, z=d)
    mean_marker.color = _rgba(*MEAN_RGBA)
    markers.append(mean_marker)

    quaternion, diameters = ellipsoid(
        projection.covariance(covariance),
        style.covariance_sigmas,
        min_diameter=0.05 * style.particle_diameter * style.scale,
    )
    cov_marker = _marker(header, NS_COVARIANCE, 0, Marker.SPHERE)
    cov_marker.pose = Pose(
        position=_point(mean_xyz),
        orientation=Quaternion(
            x=float(quaternion[0]),
            y=float(quaternion[1]),
            z=float(quaternion[2]),
            w=float(quaternion[3]),
        ),
    )
    cov_marker.scale = Vector3(x=float(diameters[0]), y=float(diameters[1]), z=float(diameters[2]))
    cov_marker.color = _rgba(*COVARIANCE_RGBA)
    markers.append(cov_marker)

    # -- candidates' fingerprint means, the selected one highlighted ----------------------
    for index, (candidate_id, fingerprint) in enumerate(candidates):
        fingerprint = np.asarray(fingerprint, dtype=np.float64)
        if fingerprint.shape != (m,) or not np.all(np.isfinite(fingerprint)):
            raise ValueError(
                f"candidate {candidate_id!r}: fingerprint_mean must be {m} finite "
                f"values, got shape {fingerprint.shape}"
            )
        xyz = projection.points(fingerprint)
        selected = bool(selected_id) and candidate_id == selected_id
        marker = _at(_marker(header, NS_CANDIDATES, index, Marker.SPHERE), xyz)
        d = (2.2 if selected else 1.2) * style.particle_diameter * style.scale
        marker.scale = Vector3(x=d, y=d, z=d)
        marker.color = _rgba(*(SELECTED_RGBA if selected else CANDIDATE_RGBA))
        marker.text = str(candidate_id)  # not drawn by rviz for spheres; kept for tools
        markers.append(marker)
        if selected:
            label = _at(
                _marker(header, NS_CANDIDATE_LABELS, 0, Marker.TEXT_VIEW_FACING),
                xyz + np.array([0.0, 0.0, 0.08 * style.scale]),
            )
            label.text = f"selected: {selected_label or candidate_id}"
            label.scale.z = 0.8 * style.text_height * style.scale
            label.color = _rgba(0.8, 0.35, 0.0, 1.0)
            markers.append(label)

    # -- text ------------------------------------------------------------------------------
    top = float(projection.vertices[:, 2].max()) if m >= 4 else 0.0
    info = _at(
        _marker(header, NS_INFO, 0, Marker.TEXT_VIEW_FACING), [0.0, 0.0, top + 0.3 * style.scale]
    )
    info.text = f"compass v{int(version)}   H = {float(entropy):.2f} nats   ESS = {float(ess):.0f}"
    info.scale.z = style.text_height * style.scale
    info.color = _rgba(0.1, 0.1, 0.1, 1.0)
    markers.append(info)
    return MarkerArray(markers=markers)


def _outward(point: np.ndarray, centre: np.ndarray) -> np.ndarray:
    direction = np.asarray(point) - centre
    norm = np.linalg.norm(direction)
    return direction / norm if norm > 0 else np.array([0.0, 0.0, 1.0])


def markers_from_msgs(
    compass_msg,
    selection_msg=None,
    frame_id: str = "moral_compass",
    stamp: Optional[Time] = None,
    style: MarkerStyle = MarkerStyle(),
) -> MarkerArray:
    """:func:`build_markers` for a ``MoralCompass`` and (optionally) an ``ActionSelection``.

    The compass is validated with :func:`moral_compass_ros.conversions.compass_from_msg`;
    candidates whose fingerprint mean does not have M finite values are skipped.

    Raises
    ------
    moral_compass_ros.conversions.InvalidMessage
        If the compass message is invalid.
    """
    from moral_compass_ros.conversions import compass_from_msg  # needs the core package

    compass = compass_from_msg(compass_msg)
    particles, weights = compass.to_arrays()
    m = particles.shape[1]
    candidates, selected_id, selected_label = [], "", ""
    if selection_msg is not None:
        for score in selection_msg.scores:
            fingerprint = np.asarray(score.fingerprint_mean, dtype=np.float64)
            if fingerprint.shape == (m,) and np.all(np.isfinite(fingerprint)):
                candidates.append((str(score.id), fingerprint))
        selected_id = str(selection_msg.selected_id)
        selected_label = str(selection_msg.selected.label)
    return build_markers(
        list(compass_msg.value_names),
        particles,
        weights,
        int(compass_msg.version),
        float(compass.entropy),
        float(compass.ess),
        candidates,
        selected_id,
        selected_label,
        frame_id=frame_id,
        stamp=stamp,
        style=style,
    )
