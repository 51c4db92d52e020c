# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Outputs of a replay: the output bag (replayed ``selection`` and ``compass``) and the plots."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from rosbags.rosbag2 import StoragePlugin, Writer

from moral_compass_ros import topics
from moral_compass_ros.bag._reader import deserialize_cdr
from moral_compass_ros.bag._recorder import _bag_qos
from moral_compass_ros.bag._replay import ReplayResult
from moral_compass_ros.bag._types import typestore

OUTPUT_TOPICS = {
    "selection": (topics.SELECTION, "moral_compass_ros/msg/ActionSelection"),
    "compass": (topics.COMPASS, "moral_compass_ros/msg/MoralCompass"),
}


def write_output_bag(result: ReplayResult, path: Path) -> int:
    """Write the replayed selections and compass versions as one MCAP file.

    Parameters
    ----------
    result : ReplayResult
    path : Path
        The ``.mcap`` file to write (replaced if it exists). A single MCAP file is a bag for
        ``ros2 bag info/play`` (Jazzy and later), ``moral-compass replay`` and MCAP tools.

    Returns
    -------
    int
        Messages written.
    """
    from rclpy.serialization import serialize_message

    from moral_compass_ros import qos

    profiles = {"selection": qos.STREAM_QOS, "compass": qos.STATE_QOS}
    path.parent.mkdir(parents=True, exist_ok=True)
    store = typestore()
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".replay-") as tmp:
        bag_dir = Path(tmp) / "replay"
        writer = Writer(bag_dir, version=9, storage_plugin=StoragePlugin.MCAP)
        writer.open()
        connections = {}
        for role, (name, msgtype) in OUTPUT_TOPICS.items():
            topic = f"{result.namespace}/{name}"
            connections[role] = writer.add_connection(
                topic, msgtype, typestore=store, offered_qos_profiles=[_bag_qos(profiles[role])]
            )
        count = 0
        for role, stamp, message in sorted(result.output, key=lambda item: item[1]):
            msgtype = OUTPUT_TOPICS[role][1]
            # Re-encode with rosbags: exact CDR length (rclpy leaves unused bytes after the
            # message, which strict readers such as rosbags' AnyReader refuse).
            data = store.serialize_cdr(
                deserialize_cdr(store, serialize_message(message), msgtype), msgtype
            )
            writer.write(connections[role], int(stamp), bytes(data))
            count += 1
        writer.close()
        if path.exists():
            path.unlink()
        shutil.move(str(bag_dir / "replay.mcap"), path)
    return count


def write_plots(document: dict, result: ReplayResult, out_dir: Path) -> list[Path]:
    """Three PNGs: compass mean per version, approval reliability diagram, agreement.

    Parameters
    ----------
    document : dict
        The metrics document (:func:`~moral_compass_ros.bag.metrics`).
    result : ReplayResult
    out_dir : Path

    Returns
    -------
    list of Path
        The files written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    written = []
    names = list(result.value_names)

    # 1. compass mean per version, replayed (lines) and recorded (markers)
    fig, ax = plt.subplots(figsize=(7, 4))
    versions = sorted(result.compass_means)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if versions:
        means = np.array([result.compass_means[v] for v in versions])
        for j, name in enumerate(names):
            ax.plot(versions, means[:, j], color=colors[j % len(colors)], label=name)
    recorded = sorted(result.recorded_means)
    if recorded:
        rmeans = np.array([result.recorded_means[v] for v in recorded])
        for j in range(min(len(names), rmeans.shape[1])):
            ax.plot(
                recorded,
                rmeans[:, j],
                linestyle="none",
                marker="o",
                markersize=3,
                markerfacecolor="none",
                color=colors[j % len(colors)],
            )
    ax.set_xlabel("compass version")
    ax.set_ylabel("compass mean (simplex weight)")
    ax.set_title("Compass mean: replayed (lines) vs recorded (circles)")
    if names:
        ax.legend(fontsize=8, ncol=min(len(names), 5), loc="upper center")
    fig.tight_layout()
    written.append(out_dir / "compass_mean.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)

    # 2. reliability diagram of predicted approval
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    for key, style in (("replayed", "-o"), ("recorded", "--s")):
        quality = document["approval_prediction"][key]
        bins = quality.get("reliability") or []
        if bins:
            ax.plot(
                [b["mean_predicted"] for b in bins],
                [b["observed"] for b in bins],
                style,
                label=f"{key} (Brier {quality['brier']:.3f}, ECE {quality['ece']:.3f}, "
                f"n={quality['n']})",
            )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted approval")
    ax.set_ylabel("observed approval rate")
    ax.set_title("Approval prediction reliability")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    written.append(out_dir / "reliability.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)

    # 3. agreement of replayed vs recorded selections along the run
    fig, ax = plt.subplots(figsize=(7, 3))
    compared = [r for r in result.requests if r.recorded_selected is not None]
    if compared:
        same = np.array([r.replayed_selected == r.recorded_selected for r in compared], float)
        ax.plot(
            np.arange(1, len(same) + 1),
            np.cumsum(same) / np.arange(1, len(same) + 1),
            label="cumulative agreement",
        )
        misses = np.flatnonzero(same == 0)
        if misses.size:
            ax.plot(
                misses + 1,
                np.zeros(misses.size),
                "x",
                color="tab:red",
                label="different selection",
            )
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("request (recorded order)")
    ax.set_ylabel("agreement")
    agreement = document["selections"]["agreement"]
    ax.set_title(
        "Replayed vs recorded selections"
        + (f": {agreement:.1%} agree" if agreement is not None else "")
    )
    if compared:
        ax.legend(fontsize=8, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no recorded selections to compare", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    written.append(out_dir / "agreement.png")
    fig.savefig(written[-1], dpi=110)
    plt.close(fig)
    return written
