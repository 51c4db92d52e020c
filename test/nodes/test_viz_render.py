# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The MarkerArray -> PNG renderer draws exactly what the markers contain."""

import numpy as np
from matplotlib.image import imread
from visualization_msgs.msg import Marker

from moral_compass_ros.msg import ActionScore, ActionSelection, MoralCompass
from moral_compass_ros.viz import build_markers, render_compass_png, render_markers_png

NAMES = ["care", "fairness", "loyalty", "authority", "sanctity"]


def _markers(n=120, m=5, seed=1):
    rng = np.random.default_rng(seed)
    particles = rng.dirichlet(np.full(m, 3.0), size=n)
    weights = rng.random(n) ** 3
    weights /= weights.sum()
    candidates = [(f"a{k}", rng.dirichlet(np.ones(m))) for k in range(4)]
    return build_markers(NAMES[:m], particles, weights, 5, 3.9, 40.0, candidates, "a1", "wave")


def test_png_shows_every_particle_vertex_and_edge(tmp_path):
    path, stats = render_markers_png(_markers(), tmp_path / "compass.png", return_stats=True)
    assert path.exists() and path.stat().st_size > 10_000
    assert stats.points["particles"] == 120
    assert stats.points["simplex_vertices"] == 5
    assert stats.texts["vertex_labels"] == 5 and set(NAMES) <= set(stats.labels)
    assert stats.segments["simplex_edges"] == 10
    assert stats.points["candidates"] == 4 and stats.points["mean"] == 1
    assert stats.ellipsoids["covariance"] == 1
    assert any(label.startswith("compass v5") for label in stats.labels)
    assert not stats.skipped

    image = imread(path)[..., :3]
    assert image.shape[0] >= 800 and image.shape[1] >= 800
    ink = np.any(image < 0.9, axis=-1).mean()  # not white (the 3-D panes are light grey)
    assert 0.02 < ink < 0.9, f"{ink:.3f} of the picture is drawn"
    colours = {tuple(c) for c in (image.reshape(-1, 3) * 31).round().astype(int)}
    assert len(colours) > 100, "a real picture has many colours"
    yellow = (image[..., 0] > 0.85) & (image[..., 1] > 0.8) & (image[..., 2] < 0.35)
    assert yellow.sum() > 10, "the heaviest particles are drawn in viridis yellow"
    red = (image[..., 0] > 0.75) & (image[..., 1] < 0.25) & (image[..., 2] < 0.25)
    assert red.sum() > 10, "the mean is drawn in red"


def test_empty_and_deleted_markers_draw_nothing(tmp_path):
    array = _markers()
    array.markers.append(Marker(action=Marker.DELETEALL))
    path, stats = render_markers_png(array, tmp_path / "empty.png", return_stats=True)
    assert sum(stats.points.values()) == 0 and sum(stats.texts.values()) == 0
    image = imread(path)[..., :3]
    full = imread(render_markers_png(_markers(), tmp_path / "full.png"))[..., :3]
    assert np.any(image < 0.9, axis=-1).mean() < np.any(full < 0.9, axis=-1).mean()


def test_delete_removes_one_marker(tmp_path):
    array = _markers(n=10)
    array.markers.append(Marker(ns="particles", id=3, action=Marker.DELETE))
    _, stats = render_markers_png(array, tmp_path / "x.png", return_stats=True)
    assert stats.points["particles"] == 9


def test_render_compass_png_from_messages(tmp_path):
    rng = np.random.default_rng(2)
    particles = rng.dirichlet(np.ones(4), size=30)
    msg = MoralCompass(
        value_names=NAMES[:4],
        particles=particles.reshape(-1).tolist(),
        weights=[1 / 30] * 30,
        version=2,
    )
    selection = ActionSelection(
        selected_id="b",
        scores=[
            ActionScore(id="a", fingerprint_mean=[0.25] * 4),
            ActionScore(id="b", fingerprint_mean=[0.7, 0.1, 0.1, 0.1]),
        ],
    )
    path, stats = render_compass_png(msg, tmp_path / "c.png", selection, return_stats=True)
    assert stats.points["particles"] == 30 and stats.points["simplex_vertices"] == 4
    assert stats.segments["simplex_edges"] == 6 and stats.points["candidates"] == 2
