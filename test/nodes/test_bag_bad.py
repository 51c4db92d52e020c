# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Bad bags: each gives a clear error (exit code 2) or a clear warning, never a traceback, and
what can be replayed is replayed (sqlite3 and MCAP)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from moral_compass_ros.bag import BagError, read_bag, typestore
from moral_compass_ros.bag._reader import STORAGE_SUFFIX
from moral_compass_ros.bag._types import msg_directory
from moral_compass_ros.tools import replay as replay_tool
from test_bag_replay import STORAGES, build_session

PLUGINS = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}


def run(argv, capsys):
    code = replay_tool.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def storage_file(bag: Path) -> Path:
    return next(p for p in bag.iterdir() if p.suffix in (".mcap", ".db3"))


def write_messages(writer: Writer, messages) -> None:
    """Write decoded ``BagMessage`` s into an open ``writer`` (one connection per topic)."""
    store = typestore()
    connections = {}
    for message in messages:
        if message.topic not in connections:
            connections[message.topic] = writer.add_connection(
                message.topic, message.msgtype, typestore=store
            )
        writer.write(
            connections[message.topic],
            message.timestamp,
            store.serialize_cdr(message.message, message.msgtype),
        )


def test_truncated_mcap_replays_the_prefix(tmp_path, capsys):
    build_session(tmp_path / "run", "mcap", n_requests=8)
    data = storage_file(tmp_path / "run" / "bag")
    data.write_bytes(data.read_bytes()[: int(data.stat().st_size * 0.6)])
    code, out, err = run([tmp_path / "run" / "bag", "--out", tmp_path / "o"], capsys)
    assert "is cut short or damaged" in err and "messages before the damage" in err
    assert "cut short" in out
    assert code in (0, 1)
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["bag"]["complete"] is False
    assert 0 < metrics["selections"]["replayed"] < 8
    # Versions present in the prefix are still reproduced exactly.
    assert metrics["compass"]["max_abs_mean_diff"] == 0.0


def test_truncated_sqlite3_is_a_clear_error(tmp_path, capsys):
    build_session(tmp_path / "run", "sqlite3", n_requests=3)
    data = storage_file(tmp_path / "run" / "bag")
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    code, _, err = run([tmp_path / "run" / "bag", "--out", tmp_path / "o"], capsys)
    assert code == 2
    assert "cannot read this sqlite3 bag" in err and "damaged or cut short" in err


@pytest.mark.parametrize("storage", STORAGES)
def test_unclosed_bag_without_metadata_is_read(tmp_path, storage, capsys):
    build_session(tmp_path / "run", storage, n_requests=3)
    (tmp_path / "run" / "bag" / "metadata.yaml").unlink()
    code, _, err = run([tmp_path / "run" / "bag", "--out", tmp_path / "o"], capsys)
    assert "has no metadata.yaml (the recording was not closed?)" in err
    assert code == 0
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["selections"]["reproduced_exactly"] is True


@pytest.mark.parametrize("storage", STORAGES)
def test_bag_without_the_package_topics(tmp_path, storage, capsys):
    store = get_typestore(Stores.ROS2_KILTED)
    writer = Writer(tmp_path / "bag", version=9, storage_plugin=PLUGINS[storage])
    writer.open()
    message = store.types["std_msgs/msg/String"](data="hello")
    for i in range(40):  # a robot's bag has many topics; the error stays one short line
        conn = writer.add_connection(f"/chatter_{i:02d}", "std_msgs/msg/String", typestore=store)
        writer.write(conn, 1, store.serialize_cdr(message, "std_msgs/msg/String"))
    writer.close()
    code, _, err = run([tmp_path / "bag", "--out", tmp_path / "o"], capsys)
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("replay: error:")]
    assert len(errors) == 1 and len(errors[0]) < 200, err
    assert (
        "not a moral_compass_ros recording: no planner candidates or feedback (its topics: "
        "/chatter_00, /chatter_01, /chatter_02 and 37 more)" in errors[0]
    )


@pytest.mark.parametrize("storage", STORAGES)
def test_unknown_message_types_are_ignored_with_a_warning(tmp_path, storage, capsys):
    run_dir = tmp_path / "run"
    build_session(run_dir, storage, n_requests=3)
    # Rewrite the bag with one more topic of a type nobody here knows.
    contents = read_bag(run_dir / "bag")
    foreign = get_typestore(Stores.EMPTY)
    foreign.register(get_types_from_msg("int32 x\nstring note", "other_pkg/msg/Thing"))
    shutil.rmtree(run_dir / "bag")
    writer = Writer(run_dir / "bag", version=9, storage_plugin=PLUGINS[storage])
    writer.open()
    thing = writer.add_connection("/thing", "other_pkg/msg/Thing", typestore=foreign)
    writer.write(
        thing,
        1,
        foreign.serialize_cdr(
            foreign.types["other_pkg/msg/Thing"](x=3, note="n"), "other_pkg/msg/Thing"
        ),
    )
    write_messages(writer, contents.messages)
    writer.close()
    code, _, err = run([run_dir / "bag", "--out", tmp_path / "o"], capsys)
    assert (
        "ignored topics of message types this package does not know: /thing "
        "(other_pkg/msg/Thing)" in err
    )
    assert code == 0


def _old_feedback_type() -> dict:
    """HumanFeedback as it was before the legitimacy weight existed (same name, no weight and
    no corrects_feedback_id, which came later)."""
    text = (msg_directory() / "HumanFeedback.msg").read_text()
    old_text = "\n".join(
        line
        for line in text.splitlines()
        if not line.startswith(("float64 weight", "string corrects_feedback_id"))
    )
    assert old_text != text
    old = get_typestore(Stores.ROS2_KILTED)
    types = {}
    for path in msg_directory().glob("*.msg"):
        if path.stem != "HumanFeedback":
            types.update(
                get_types_from_msg(path.read_text(), f"moral_compass_ros/msg/{path.stem}")
            )
    types.update(get_types_from_msg(old_text, "moral_compass_ros/msg/HumanFeedback"))
    old.register(types)
    name = "moral_compass_ros/msg/HumanFeedback"

    def serialize(msg):
        action = msg.action
        old_action = old.types["moral_compass_ros/msg/CandidateAction"](
            id=action.id,
            label=action.label,
            features=np.array(action.features),
            expected_task_reward=action.expected_task_reward,
            task_reward_std=action.task_reward_std,
            value_hint=np.array(action.value_hint),
        )
        header = old.types["std_msgs/msg/Header"](
            stamp=old.types["builtin_interfaces/msg/Time"](
                sec=msg.header.stamp.sec, nanosec=msg.header.stamp.nanosec
            ),
            frame_id="",
        )
        value = old.types[name](
            header=header,
            feedback_id=msg.feedback_id,
            request_id=msg.request_id,
            action=old_action,
            context=np.array(msg.context),
            approved=msg.approved,
            task_reward=msg.task_reward,
            responses=np.array(msg.responses),
            source=msg.source,
            operator_id=msg.operator_id,
        )
        return old.serialize_cdr(value, name)

    return {
        "connect": lambda writer, topic: writer.add_connection(topic, name, typestore=old),
        "serialize": serialize,
    }


@pytest.mark.parametrize("storage", STORAGES)
def test_older_message_definition_is_carried_over(tmp_path, storage, capsys):
    truth = build_session(
        tmp_path / "run", storage, n_requests=4, feedback_type=_old_feedback_type()
    )
    contents = read_bag(tmp_path / "run" / "bag")
    feedback = [m.message for m in contents.messages if m.topic == "/feedback"]
    assert feedback and all(f.weight == 1.0 for f in feedback)
    assert not math.isnan(feedback[0].context[0])
    code, _, err = run([tmp_path / "run" / "bag", "--out", tmp_path / "o"], capsys)
    assert (
        "/feedback: moral_compass_ros/msg/HumanFeedback was recorded with another "
        "definition of the type; carried over to the current one (missing fields given "
        "defaults: corrects_feedback_id, weight=1.0)" in err
    )
    # The old answers meant full answers, so the run is still reproduced exactly.
    assert code == 0
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["compass"]["versions_compared"] == len(truth["means"])


@pytest.mark.parametrize("make", ["missing", "text", "empty_dir", "wrong_storage"])
def test_not_a_bag(tmp_path, make, capsys):
    path = tmp_path / "thing"
    argv = []
    if make == "text":
        path = tmp_path / "notes.mcap"
        path.write_text("not a bag")
    elif make == "empty_dir":
        path.mkdir()
    elif make == "wrong_storage":
        build_session(tmp_path / "run", "mcap", n_requests=1)
        path = tmp_path / "run" / "bag"
        argv = ["--storage", "sqlite3"]
    code, _, err = run([path, "--out", tmp_path / "o", *argv], capsys)
    assert code == 2
    expected = {
        "missing": "no such bag",
        "text": "neither an MCAP nor a sqlite3 file",
        "empty_dir": "not a bag (no .mcap or .db3 file in it)",
        "wrong_storage": "is a mcap bag, but --storage sqlite3 was given",
    }[make]
    assert expected in err
    with pytest.raises(BagError):
        read_bag(path, storage=argv[1] if argv else "auto")


def _resplit(bag: Path, storage: str) -> None:
    """Rewrite ``bag`` as ``ros2 bag record --max-bag-size`` leaves it: two storage files
    (bag_0, bag_1, split at the middle message) and one metadata.yaml listing both."""
    contents = read_bag(bag)
    shutil.rmtree(bag)
    halves = (
        contents.messages[: len(contents.messages) // 2],
        contents.messages[len(contents.messages) // 2 :],
    )
    infos = []
    for index, half in enumerate(halves):
        part = bag.parent / f"part{index}"
        writer = Writer(part, version=9, storage_plugin=PLUGINS[storage])
        writer.open()
        write_messages(writer, half)
        writer.close()
        infos.append(yaml.safe_load((part / "metadata.yaml").read_text()))
        bag.mkdir(exist_ok=True)
        suffix = STORAGE_SUFFIX[storage]
        (part / f"part{index}{suffix}").rename(bag / f"bag_{index}{suffix}")
        shutil.rmtree(part)
    merged = infos[0]
    info = merged["rosbag2_bagfile_information"]
    info["relative_file_paths"] = [
        f"bag_0{STORAGE_SUFFIX[storage]}",
        f"bag_1{STORAGE_SUFFIX[storage]}",
    ]
    counts = {}
    for other in infos:
        for topic in other["rosbag2_bagfile_information"]["topics_with_message_count"]:
            name = topic["topic_metadata"]["name"]
            if name in counts:
                counts[name]["message_count"] += topic["message_count"]
            else:
                counts[name] = topic
    info["topics_with_message_count"] = list(counts.values())
    info["message_count"] = sum(t["message_count"] for t in counts.values())
    info["files"] = [
        {
            "path": p,
            "message_count": 0,
            "starting_time": info["starting_time"],
            "duration": info["duration"],
        }
        for p in info["relative_file_paths"]
    ]
    (bag / "metadata.yaml").write_text(yaml.safe_dump(merged))


def _compress_files(bag: Path) -> None:
    """Rewrite ``bag`` as ``ros2 bag record --compression-mode file`` leaves it (zstd)."""
    import zstandard

    metadata = bag / "metadata.yaml"
    document = yaml.safe_load(metadata.read_text())
    info = document["rosbag2_bagfile_information"]
    compressed = []
    for name in info["relative_file_paths"]:
        data = (bag / name).read_bytes()
        (bag / f"{name}.zstd").write_bytes(zstandard.ZstdCompressor().compress(data))
        (bag / name).unlink()
        compressed.append(f"{name}.zstd")
    info.update(relative_file_paths=compressed, compression_format="zstd", compression_mode="FILE")
    metadata.write_text(yaml.safe_dump(document))


@pytest.mark.parametrize("storage", STORAGES)
@pytest.mark.parametrize("layout", ["split", "split+compressed", "compressed"])
def test_split_and_file_compressed_bags_replay_exactly(tmp_path, storage, layout, capsys):
    truth = build_session(tmp_path / "run", storage, n_requests=6)
    bag = tmp_path / "run" / "bag"
    whole = read_bag(bag)
    if "split" in layout:
        _resplit(bag, storage)
    if "compressed" in layout:
        _compress_files(bag)
    contents = read_bag(bag)
    assert contents.complete and contents.warnings == []
    assert [(m.topic, m.timestamp) for m in contents.messages] == [
        (m.topic, m.timestamp) for m in whole.messages
    ]
    code, out, err = run([bag, "--out", tmp_path / "o"], capsys)
    assert code == 0, err
    metrics = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert metrics["selections"]["reproduced_exactly"] is True
    assert metrics["selections"]["compared_with_recorded"] == len(truth["selections"])


@pytest.mark.parametrize("storage", STORAGES)
def test_a_bag_that_is_not_cdr_names_its_serialization(tmp_path, storage, capsys):
    build_session(tmp_path / "run", storage, n_requests=2)
    metadata = tmp_path / "run" / "bag" / "metadata.yaml"
    document = yaml.safe_load(metadata.read_text())
    for topic in document["rosbag2_bagfile_information"]["topics_with_message_count"]:
        topic["topic_metadata"]["serialization_format"] = "json"
    metadata.write_text(yaml.safe_dump(document))
    code, _, err = run([tmp_path / "run" / "bag", "--out", tmp_path / "o"], capsys)
    assert code == 2
    assert "messages serialized as json; this package reads CDR" in err
    assert "cut short" not in err and "damaged" not in err


def test_a_replay_with_nothing_recorded_to_compare_says_so_and_exits_0(tmp_path, capsys):
    build_session(tmp_path / "run", "mcap", n_requests=3)
    bag = tmp_path / "run" / "bag"
    contents = read_bag(bag)
    shutil.rmtree(bag)
    writer = Writer(bag, version=9, storage_plugin=PLUGINS["mcap"])
    writer.open()
    write_messages(
        writer,
        [
            m
            for m in contents.messages  # no compass versions were recorded
            if m.topic not in ("/compass", "/compass/model")
        ],
    )
    writer.close()
    code, out, err = run([bag, "--out", tmp_path / "o"], capsys)
    assert code == 0, err
    assert "reproduced exactly: nothing recorded to compare" in out
    assert "reproduced exactly: no\n" not in out
