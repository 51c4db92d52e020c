# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""BagRecorder: every message type from real DDS into a bag and back (sqlite3 and MCAP), the
package topics in a namespace with latched state, and the ``moral-compass record`` CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node

from moral_compass_ros import topics
from moral_compass_ros.bag import BagRecorder, RecordedTopic, read_bag, type_name, typestore
from moral_compass_ros.qos import STREAM_QOS
from moral_compass_ros.tools import record as record_tool
from msg_samples import all_samples
from ros_helpers import ros_context, spin_until, start_python, stop_process

STORAGES = ["sqlite3", "mcap"]


def same_fields(ros_msg, bag_msg, path="msg") -> None:
    """Assert an rclpy message equals a rosbags-decoded one field by field (NaN == NaN)."""
    if hasattr(ros_msg, "get_fields_and_field_types"):
        for name in ros_msg.get_fields_and_field_types():
            same_fields(getattr(ros_msg, name), getattr(bag_msg, name), f"{path}.{name}")
    elif isinstance(ros_msg, str):
        assert ros_msg == bag_msg, path
    elif isinstance(ros_msg, float):
        assert (math.isnan(ros_msg) and math.isnan(bag_msg)) or ros_msg == bag_msg, path
    elif hasattr(ros_msg, "__len__"):
        assert len(ros_msg) == len(bag_msg), path
        for i, (a, b) in enumerate(zip(ros_msg, bag_msg)):
            same_fields(a.item() if isinstance(a, np.generic) else a, b, f"{path}[{i}]")
    else:
        assert ros_msg == bag_msg, path


@pytest.mark.parametrize("storage", STORAGES)
def test_every_message_type_round_trips_through_dds(tmp_path, storage, monkeypatch):
    monkeypatch.setenv("ROS_DISTRO", "jazzy")  # rosbag2 writes $ROS_DISTRO into the metadata
    samples = all_samples()
    specs = [RecordedTopic(f"test/{name}", type(msg), STREAM_QOS) for name, msg in samples.items()]
    with ros_context() as context:
        recorder_node = Node("recorder", namespace="/robot", context=context)
        publisher_node = Node("publisher", namespace="/robot", context=context)
        recorder = BagRecorder(recorder_node, tmp_path / "bag", storage=storage, topics=specs)
        publishers = {
            name: publisher_node.create_publisher(type(msg), f"test/{name}", STREAM_QOS)
            for name, msg in samples.items()
        }
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(recorder_node)
        executor.add_node(publisher_node)
        assert spin_until(
            executor, lambda: all(p.get_subscription_count() for p in publishers.values()), 10
        )
        for name, msg in samples.items():
            publishers[name].publish(msg)
        assert spin_until(executor, lambda: sum(recorder.counts().values()) == len(samples), 10)
        recorder.close()
        executor.shutdown()
    contents = read_bag(tmp_path / "bag", storage=storage)
    assert contents.warnings == [] and contents.complete
    metadata = yaml.safe_load((tmp_path / "bag" / "metadata.yaml").read_text())
    assert metadata["rosbag2_bagfile_information"]["ros_distro"] == "jazzy"
    if storage == "mcap":  # rosbag2 keeps each topic's type hash in the channel metadata
        from mcap.reader import make_reader
        from mcap.records import Channel
        from mcap.stream_reader import StreamReader

        store = typestore()
        with open(tmp_path / "bag" / "bag.mcap", "rb") as stream:
            summary = make_reader(stream).get_summary().channels.values()
        with open(tmp_path / "bag" / "bag.mcap", "rb") as stream:
            in_chunks = [r for r in StreamReader(stream).records if isinstance(r, Channel)]
        for channels in (list(summary), in_chunks):
            assert len({c.topic for c in channels}) == len(samples)
            for channel in channels:
                msgtype = contents.topics[channel.topic][0]
                assert channel.metadata["topic_type_hash"] == store.hash_rihs01(msgtype), channel
                assert "offered_qos_profiles" in channel.metadata
    decoded = {m.topic.rsplit("/", 1)[1]: m for m in contents.messages}
    assert set(decoded) == set(samples)
    for name, msg in samples.items():
        assert decoded[name].msgtype == type_name(type(msg))
        assert decoded[name].topic == f"/robot/test/{name}"
        same_fields(msg, decoded[name].message, name)


@pytest.mark.parametrize("storage", STORAGES)
def test_package_topics_in_a_namespace_with_latched_state(tmp_path, storage):
    """A compass published before the recorder started is still recorded (transient local);
    a publisher that appears after the recorder is recorded from its first message."""
    samples = all_samples()
    from moral_compass_ros.bag import package_topics

    qos = {t.name: t.qos for t in package_topics()}
    with ros_context() as context:
        publisher_node = Node("publisher", namespace="/robot_1", context=context)
        compass_pub = publisher_node.create_publisher(
            type(samples["MoralCompass"]), topics.COMPASS, qos[topics.COMPASS]
        )
        compass_pub.publish(samples["MoralCompass"])
        recorder_node = Node("recorder", namespace="/robot_1", context=context)
        recorder = BagRecorder(recorder_node, tmp_path / "bag", storage=storage)
        assert "/robot_1/planner/candidates" in recorder.topics
        assert "/diagnostics" in recorder.topics
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(recorder_node)
        executor.add_node(publisher_node)
        assert spin_until(executor, lambda: recorder.counts()["/robot_1/compass"] == 1, 10)
        late = publisher_node.create_publisher(
            type(samples["HumanFeedback"]), topics.FEEDBACK, qos[topics.FEEDBACK]
        )
        assert spin_until(executor, lambda: late.get_subscription_count() > 0, 10)
        late.publish(samples["HumanFeedback"])
        assert spin_until(executor, lambda: recorder.counts()["/robot_1/feedback"] == 1, 10)
        recorder.close()
        recorder.close()  # idempotent
        executor.shutdown()
    contents = read_bag(tmp_path / "bag")
    assert contents.storage == storage
    assert set(contents.topics) == {"/robot_1/compass", "/robot_1/feedback"}
    by_topic = {m.topic: m.message for m in contents.messages}
    same_fields(samples["MoralCompass"], by_topic["/robot_1/compass"])
    same_fields(samples["HumanFeedback"], by_topic["/robot_1/feedback"])


def test_recorder_refuses_bad_arguments(tmp_path):
    with ros_context() as context:
        node = Node("recorder", context=context)
        with pytest.raises(ValueError, match="storage must be one of"):
            BagRecorder(node, tmp_path / "a", storage="rosbag1")
        with pytest.raises(ValueError, match="unknown topic 'nope'"):
            BagRecorder(node, tmp_path / "b", topics=["nope"])
        (tmp_path / "c").mkdir()
        with pytest.raises(ValueError, match="exists already"):
            BagRecorder(node, tmp_path / "c")
        node.destroy_node()


def test_record_cli_help_and_errors(tmp_path, capsys):
    assert record_tool.main(["--help"]) == 0
    assert "usage: moral-compass record" in capsys.readouterr().out
    assert record_tool.main(["--storage", "zip"]) == 2
    (tmp_path / "exists").mkdir()
    assert record_tool.main(["--out", str(tmp_path / "exists")]) == 2
    assert "exists already" in capsys.readouterr().err
    assert record_tool.main(["--duration", "-1"]) == 2


def test_record_cli_records_until_sigint(tmp_path):
    """The CLI in a child process records a publisher of this process, stops on Ctrl-C."""
    samples = all_samples()
    params = tmp_path / "params.yaml"
    params.write_text("/**:\n  ros__parameters:\n    feature_dim: 3\n")
    proc = start_python(
        [
            "-m",
            "moral_compass_ros.tools.record",
            "--out",
            str(tmp_path / "bag"),
            "--namespace",
            "robot_2",
            "--storage",
            "sqlite3",
            "--params",
            str(params),
        ]
    )
    try:
        with ros_context() as context:
            node = Node("planner", namespace="/robot_2", context=context)
            pub = node.create_publisher(
                type(samples["CandidateActions"]), topics.CANDIDATES, STREAM_QOS
            )
            executor = SingleThreadedExecutor(context=context)
            executor.add_node(node)
            assert spin_until(executor, lambda: pub.get_subscription_count() > 0, 20)
            for _ in range(3):
                pub.publish(samples["CandidateActions"])
            spin_until(executor, lambda: False, 3.0)  # let the child write them
            executor.shutdown()
    finally:
        output = stop_process(proc, 40)  # one SIGINT, as Ctrl-C
    assert proc.returncode == 0, output
    assert "record: wrote" in output and "/robot_2/planner/candidates 3" in output
    contents = read_bag(tmp_path / "bag")
    assert contents.custom_data["moral_compass_ros.params"] == params.read_text()
    assert [m.topic for m in contents.messages] == ["/robot_2/planner/candidates"] * 3
    same_fields(samples["CandidateActions"], contents.messages[0].message)
