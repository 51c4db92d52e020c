# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The compass markers: counts, positions on the projected simplex, colours and sizes by weight.

Pure message building: no ROS graph.
"""

import itertools

import numpy as np
import pytest
from visualization_msgs.msg import Marker

from moral_compass_ros.msg import ActionScore, ActionSelection, CandidateAction, MoralCompass
from moral_compass_ros.viz import (
    MarkerStyle,
    SimplexProjection,
    build_markers,
    ellipsoid,
    markers_from_msgs,
    projection_basis,
)
from moral_compass_ros.viz.projection import quaternion_to_rotation

NAMES5 = ["care", "fairness", "loyalty", "authority", "sanctity"]


def _cloud(n=50, m=5, seed=0):
    rng = np.random.default_rng(seed)
    particles = rng.dirichlet(np.full(m, 2.0), size=n)
    weights = rng.random(n) ** 2
    return particles, weights / weights.sum()


def _by_ns(array):
    groups = {}
    for marker in array.markers:
        groups.setdefault(marker.ns, []).append(marker)
    return groups


def _xyz(marker):
    p = marker.pose.position
    return np.array([p.x, p.y, p.z])


@pytest.mark.parametrize("m", [2, 3, 4, 5, 6, 8])
def test_projection_basis_is_orthonormal_and_inside_the_simplex_hull(m):
    u = projection_basis(m)
    used = np.linalg.norm(u, axis=0) > 0
    np.testing.assert_allclose(u[:, used].T @ u[:, used], np.eye(int(used.sum())), atol=1e-12)
    np.testing.assert_allclose(u.sum(axis=0), 0.0, atol=1e-12)  # directions in the hull
    assert used.sum() == min(m - 1, 3)


def test_tetrahedron_is_an_isometry_and_the_5_simplex_a_bipyramid():
    tetra = SimplexProjection(4).vertices
    for i, j in itertools.combinations(range(4), 2):
        assert np.linalg.norm(tetra[i] - tetra[j]) == pytest.approx(np.sqrt(2.0))
    bipyramid = SimplexProjection(5).vertices
    np.testing.assert_allclose(bipyramid[:3, 2], 0.0, atol=1e-12)  # equator: values 1-3
    assert bipyramid[3, 2] == pytest.approx(-bipyramid[4, 2]) and bipyramid[3, 2] > 0.5
    for i, j in itertools.combinations(range(3), 2):  # the equator keeps its true edge length
        assert np.linalg.norm(bipyramid[i] - bipyramid[j]) == pytest.approx(np.sqrt(2.0))
    # orthogonal projection never stretches: every projected edge is at most sqrt(2)
    for i, j in itertools.combinations(range(5), 2):
        assert np.linalg.norm(bipyramid[i] - bipyramid[j]) <= np.sqrt(2.0) + 1e-12


def test_projection_is_linear_in_barycentric_coordinates():
    projection = SimplexProjection(5, scale=2.0)
    theta, _ = _cloud(20)
    np.testing.assert_allclose(projection.points(theta), theta @ projection.vertices, atol=1e-12)


@pytest.mark.parametrize("m", [3, 4, 5, 7])
def test_marker_counts(m):
    names = NAMES5[:m] if m <= 5 else [f"v{k}" for k in range(m)]
    particles, weights = _cloud(40, m)
    candidates = [(f"a{k}", np.full(m, 1.0 / m)) for k in range(3)]
    array = build_markers(names, particles, weights, 3, 1.5, 20.0, candidates, "a1", "wave")
    assert array.markers[0].action == Marker.DELETEALL
    groups = _by_ns(type(array)(markers=array.markers[1:]))
    assert len(groups["particles"]) == 40
    assert len(groups["simplex_vertices"][0].points) == m
    assert [label.text for label in groups["vertex_labels"]] == names
    assert len(groups["simplex_edges"][0].points) == 2 * m * (m - 1) // 2
    assert groups["simplex_edges"][0].type == Marker.LINE_LIST
    assert len(groups["candidates"]) == 3
    assert len(groups["mean"]) == len(groups["covariance"]) == len(groups["info"]) == 1
    assert groups["candidate_labels"][0].text == "selected: wave"
    assert all(mk.header.frame_id == "moral_compass" for mk in array.markers)
    ids = [(mk.ns, mk.id) for mk in array.markers[1:]]
    assert len(ids) == len(set(ids)), "every marker needs a unique (ns, id)"


def test_positions_lie_on_the_projected_simplex():
    particles, weights = _cloud(30)
    style = MarkerStyle(scale=1.5)
    array = build_markers(NAMES5, particles, weights, 1, 0.0, 1.0, style=style)
    groups = _by_ns(array)
    projection = SimplexProjection(5, 1.5)
    for marker in groups["particles"]:
        np.testing.assert_allclose(
            _xyz(marker), projection.points(particles[marker.id]), atol=1e-12
        )
    vertices = np.array([[p.x, p.y, p.z] for p in groups["simplex_vertices"][0].points])
    np.testing.assert_allclose(vertices, projection.vertices, atol=1e-12)
    mean = _xyz(groups["mean"][0])
    np.testing.assert_allclose(mean, weights @ projection.points(particles), atol=1e-12)
    for k, label in enumerate(groups["vertex_labels"]):  # labels sit just outside vertex k
        direction = _xyz(label) - projection.vertices[k]
        assert np.dot(direction, projection.vertices[k]) > 0


def test_particles_coloured_and_sized_by_weight():
    particles, weights = _cloud(60)
    groups = _by_ns(build_markers(NAMES5, particles, weights, 1, 0.0, 1.0))
    markers = sorted(groups["particles"], key=lambda mk: weights[mk.id])
    diameters = np.array([mk.scale.x for mk in markers])
    assert np.all(np.diff(diameters) >= -1e-15), "heavier particles must not be smaller"
    assert diameters[-1] == pytest.approx(MarkerStyle().particle_diameter)
    assert diameters[0] < 0.5 * diameters[-1]
    brightness = np.array([mk.color.r + mk.color.g for mk in markers])  # viridis: dark -> yellow
    assert np.all(np.diff(brightness) >= -1e-12)
    heaviest = markers[-1].color
    assert (heaviest.r, heaviest.g, heaviest.b) == pytest.approx((0.993, 0.906, 0.144))


def test_uniform_weights_give_one_size_and_colour():
    particles, _ = _cloud(10)
    groups = _by_ns(build_markers(NAMES5, particles, np.full(10, 0.1), 1, np.log(10), 10.0))
    assert len({round(mk.scale.x, 12) for mk in groups["particles"]}) == 1
    assert len({(mk.color.r, mk.color.g, mk.color.b) for mk in groups["particles"]}) == 1


def test_covariance_ellipsoid_reconstructs_the_projected_covariance():
    particles, weights = _cloud(80)
    sigmas = 2.0
    groups = _by_ns(
        build_markers(
            NAMES5, particles, weights, 1, 0.0, 1.0, style=MarkerStyle(covariance_sigmas=sigmas)
        )
    )
    marker = groups["covariance"][0]
    o = marker.pose.orientation
    rotation = quaternion_to_rotation([o.x, o.y, o.z, o.w])
    radii = np.array([marker.scale.x, marker.scale.y, marker.scale.z]) / (2 * sigmas)
    rebuilt = rotation @ np.diag(radii**2) @ rotation.T
    mean = weights @ particles
    covariance = ((particles - mean) * weights[:, None]).T @ (particles - mean)
    np.testing.assert_allclose(rebuilt, SimplexProjection(5).covariance(covariance), atol=1e-9)
    np.testing.assert_allclose(_xyz(marker), _xyz(groups["mean"][0]))


def test_ellipsoid_of_a_diagonal_covariance():
    quaternion, diameters = ellipsoid(np.diag([4.0, 1.0, 0.25]), sigmas=1.0)
    np.testing.assert_allclose(sorted(diameters), [1.0, 2.0, 4.0])
    assert np.linalg.norm(quaternion) == pytest.approx(1.0)


def test_selected_candidate_is_highlighted_at_its_fingerprint():
    particles, weights = _cloud(10)
    fingerprints = np.eye(5)[:3] * 0.6 + 0.08
    candidates = [(f"a{k}", fingerprints[k]) for k in range(3)]
    groups = _by_ns(build_markers(NAMES5, particles, weights, 1, 0.0, 1.0, candidates, "a2"))
    markers = groups["candidates"]
    projection = SimplexProjection(5)
    for k, marker in enumerate(markers):
        np.testing.assert_allclose(_xyz(marker), projection.points(fingerprints[k]), atol=1e-12)
    selected = [mk for mk in markers if mk.text == "a2"][0]
    others = [mk for mk in markers if mk.text != "a2"]
    assert all(selected.scale.x > mk.scale.x for mk in others)
    assert all((selected.color.r, selected.color.g) != (mk.color.r, mk.color.g) for mk in others)


def test_info_text_names_version_and_entropy():
    particles, weights = _cloud(10)
    groups = _by_ns(build_markers(NAMES5, particles, weights, 42, 2.3456, 7.0))
    assert groups["info"][0].text.startswith("compass v42")
    assert "H = 2.35 nats" in groups["info"][0].text


def test_markers_from_messages():
    particles, weights = _cloud(12)
    msg = MoralCompass(
        value_names=NAMES5,
        particles=particles.reshape(-1).tolist(),
        weights=weights.tolist(),
        version=9,
        entropy=1.0,
    )
    scores = [ActionScore(id=f"a{k}", fingerprint_mean=[0.2] * 5) for k in range(4)]
    scores.append(ActionScore(id="bad", fingerprint_mean=[0.5, 0.5]))  # wrong length: skipped
    selection = ActionSelection(
        selected_id="a0", scores=scores, selected=CandidateAction(id="a0", label="offer help")
    )
    groups = _by_ns(markers_from_msgs(msg, selection, frame_id="base_link"))
    assert len(groups["particles"]) == 12 and len(groups["candidates"]) == 4
    assert groups["candidate_labels"][0].text == "selected: offer help"
    assert groups["particles"][0].header.frame_id == "base_link"
    assert "v9" in groups["info"][0].text


def test_bad_input_is_refused():
    from moral_compass_ros.conversions import InvalidMessage

    with pytest.raises(ValueError, match="particles must have shape"):
        build_markers(NAMES5, np.ones((3, 4)) / 4, np.ones(3) / 3, 1, 0.0, 1.0)
    with pytest.raises(ValueError, match="fingerprint_mean"):
        build_markers(
            NAMES5, np.ones((3, 5)) / 5, np.ones(3) / 3, 1, 0.0, 1.0, [("a", [0.5, 0.5])]
        )
    with pytest.raises(InvalidMessage):
        markers_from_msgs(
            MoralCompass(value_names=NAMES5, particles=[0.2] * 5, weights=[0.5, 0.5])
        )
    with pytest.raises(ValueError, match="M >= 2"):
        projection_basis(1)


def test_shipped_rviz_config_shows_every_marker_namespace_in_the_fixed_frame():
    import yaml

    from moral_compass_ros import topics
    from moral_compass_ros.nodes.visualization_node import NODE_SPECS
    from moral_compass_ros.viz import markers as viz_markers
    from ros_helpers import REPO_ROOT

    config = yaml.safe_load((REPO_ROOT / "config" / "moral_compass.rviz").read_text())
    manager = config["Visualization Manager"]
    frame = {spec.name: spec.default for spec in NODE_SPECS}["frame_id"]
    assert manager["Global Options"]["Fixed Frame"] == frame == "moral_compass"
    display = [d for d in manager["Displays"] if d["Class"] == "rviz_default_plugins/MarkerArray"][
        0
    ]
    assert display["Enabled"] and display["Topic"]["Value"] == "/" + topics.MARKERS
    assert display["Topic"]["Durability Policy"] == "Transient Local"
    namespaces = {v for k, v in vars(viz_markers).items() if k.startswith("NS_")}
    assert set(display["Namespaces"]) == namespaces and all(display["Namespaces"].values())
