# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Record the package's topics into a rosbag2 (MCAP or sqlite3) from inside any rclpy node.

Every topic gets a ``raw=True`` subscription (no deserialisation in the recorder), so each
message is written exactly as it arrived on the wire, stamped with its receive time on the
node's clock, through a ``rosbags`` :class:`~rosbags.rosbag2.Writer` (rosbag2 format version 9,
readable by ``ros2 bag info/play`` and by standard MCAP tools).
"""

from __future__ import annotations

import copy
import os
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosbags.interfaces import (
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from rosbags.rosbag2 import StoragePlugin, Writer, WriterError

from moral_compass_ros import qos as named_qos
from moral_compass_ros import topics
from moral_compass_ros.bag._types import type_name, typestore

STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
# A recorder keeps up to this many unprocessed messages per topic (larger than any publisher's
# depth, so a slow executor turn does not drop a burst).
RECORDER_DEPTH = 1000
# The writer thread flushes buffered messages to disk this often (seconds).
FLUSH_PERIOD_S = 1.0
_STOP = object()


@dataclass(frozen=True)
class RecordedTopic:
    """One topic the recorder subscribes to.

    Attributes
    ----------
    name : str
        Topic name as in :mod:`moral_compass_ros.topics` (relative names resolve in the node's
        namespace), or absolute.
    msg_class : type
        The rclpy message class.
    qos : rclpy.qos.QoSProfile
        The publishers' profile (the recorder matches its reliability and durability).
    """

    name: str
    msg_class: type
    qos: QoSProfile


def package_topics() -> tuple[RecordedTopic, ...]:
    """Every topic of the package (``topics.py``) with its message class and QoS profile."""
    from diagnostic_msgs.msg import DiagnosticArray
    from sensor_msgs.msg import Joy
    from visualization_msgs.msg import MarkerArray

    from moral_compass_ros.msg import (
        ActionSelection,
        CandidateActions,
        FeedbackAck,
        HumanFeedback,
        ModelParameters,
        MoralCompass,
        ValueCards,
    )

    return (
        RecordedTopic(topics.CANDIDATES, CandidateActions, named_qos.STREAM_QOS),
        RecordedTopic(topics.SELECTION, ActionSelection, named_qos.SELECTION_QOS),
        RecordedTopic(topics.COMPASS, MoralCompass, named_qos.STATE_QOS),
        RecordedTopic(topics.MODEL, ModelParameters, named_qos.STATE_QOS),
        RecordedTopic(topics.VALUE_CARDS, ValueCards, named_qos.STATE_QOS),
        RecordedTopic(topics.FEEDBACK, HumanFeedback, named_qos.FEEDBACK_QOS),
        RecordedTopic(topics.FEEDBACK_RAW, HumanFeedback, named_qos.FEEDBACK_QOS),
        RecordedTopic(topics.FEEDBACK_ACK, FeedbackAck, named_qos.FEEDBACK_QOS),
        RecordedTopic(topics.JOY, Joy, named_qos.JOY_QOS),
        RecordedTopic(topics.MARKERS, MarkerArray, named_qos.STATE_QOS),
        RecordedTopic(topics.DIAGNOSTICS, DiagnosticArray, named_qos.DIAGNOSTICS_QOS),
    )


def subscription_qos(profile: QoSProfile) -> QoSProfile:
    """The recorder's profile for a topic published with ``profile``.

    Same reliability and durability (a transient-local subscriber receives the latched value
    of a state topic at once), keep-last with a generous depth so nothing queued is dropped.
    """
    recorder = copy.copy(profile)
    recorder.history = HistoryPolicy.KEEP_LAST
    recorder.depth = max(int(profile.depth), RECORDER_DEPTH)
    return recorder


def _bag_qos(profile: QoSProfile) -> Qos:
    """The ``rosbags`` description of an rclpy profile (stored as the offered QoS, so that
    ``ros2 bag play`` republishes latched topics latched)."""
    zero = QosTime(0, 0)
    durable = profile.durability == DurabilityPolicy.TRANSIENT_LOCAL
    return Qos(
        history=QosHistory.KEEP_ALL
        if profile.history == HistoryPolicy.KEEP_ALL
        else QosHistory.KEEP_LAST,
        depth=int(profile.depth),
        reliability=QosReliability.BEST_EFFORT
        if profile.reliability == ReliabilityPolicy.BEST_EFFORT
        else QosReliability.RELIABLE,
        durability=QosDurability.TRANSIENT_LOCAL if durable else QosDurability.VOLATILE,
        deadline=zero,
        lifespan=zero,
        liveliness=QosLiveliness.AUTOMATIC,
        liveliness_lease_duration=zero,
        avoid_ros_namespace_conventions=False,
    )


TopicSpec = Union[str, RecordedTopic]


class BagRecorder:
    """Records topics into a rosbag2 while ``node`` spins (thread-safe with any executor).

    Parameters
    ----------
    node : rclpy.node.Node
        The node that owns the subscriptions; relative topic names resolve in its namespace.
    path : str or Path
        The bag directory to create (must not exist); it will hold ``metadata.yaml`` and one
        ``.mcap`` or ``.db3`` file.
    storage : {"mcap", "sqlite3"}
        Storage plugin (MCAP by default).
    topics : sequence of str or RecordedTopic, optional
        What to record. ``None``: every topic of the package (:func:`package_topics`,
        including ``/diagnostics``, ``joy`` and the markers). A string names one of those
        topics (as written in :mod:`moral_compass_ros.topics`); a :class:`RecordedTopic` adds
        any other topic.
    custom_data : mapping of str to str, optional
        Stored in the bag's ``metadata.yaml`` (``custom_data``), e.g. the parameters in force.

    Raises
    ------
    ValueError
        Unknown storage or topic name, or ``path`` already exists.

    Notes
    -----
    All subscriptions are made up front, so a topic whose publisher appears late is recorded
    from its first message. Callbacks only queue the serialized bytes with their receive time;
    one writer thread owns the ``rosbags`` writer (sqlite3 connections are bound to the thread
    that made them) and flushes to disk about once a second, so a crash loses at most the last
    second. A topic enters the bag with its first message (as ``ros2 bag record`` does).
    :meth:`close` writes what is queued, finalises the file and writes ``metadata.yaml``.
    """

    def __init__(
        self,
        node: Node,
        path: Union[str, Path],
        storage: str = "mcap",
        topics: Optional[Sequence[TopicSpec]] = None,
        custom_data: Optional[Mapping[str, str]] = None,
    ) -> None:
        if storage not in STORAGES:
            raise ValueError(f"storage must be one of {sorted(STORAGES)}, got {storage!r}")
        self._node = node
        self._path = Path(path)
        if self._path.exists():
            raise ValueError(f"cannot create bag {self._path}: it exists already")
        self._store = typestore()
        self._selected = self._select(topics)
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._counts: dict[str, int] = {}
        self._closed = False
        self._error: Optional[str] = None
        opened = threading.Event()
        self._thread = threading.Thread(
            target=self._write_loop,
            args=(STORAGES[storage], dict(custom_data or {}), opened),
            name=f"bag-writer {self._path.name}",
            daemon=True,
        )
        self._thread.start()
        opened.wait()
        if self._error is not None:
            self._thread.join()
            raise ValueError(f"cannot create bag {self._path}: {self._error}")
        self._subscriptions = []
        for spec in self._selected:
            resolved = node.resolve_topic_name(spec.name)
            self._counts[resolved] = 0
            self._subscriptions.append(
                node.create_subscription(
                    spec.msg_class,
                    resolved,
                    self._callback(resolved, spec),
                    subscription_qos(spec.qos),
                    raw=True,
                )
            )

    @staticmethod
    def _select(requested: Optional[Sequence[TopicSpec]]) -> tuple[RecordedTopic, ...]:
        known = {t.name: t for t in package_topics()}
        if requested is None:
            return tuple(known.values())
        chosen = []
        for item in requested:
            if isinstance(item, RecordedTopic):
                chosen.append(item)
            elif item in known:
                chosen.append(known[item])
            else:
                raise ValueError(
                    f"unknown topic {item!r}: one of {sorted(known)} or a RecordedTopic"
                )
        if not chosen:
            raise ValueError("no topic to record")
        return tuple(chosen)

    def _callback(self, resolved: str, spec: RecordedTopic):
        msgtype = type_name(spec.msg_class)
        offered = _bag_qos(spec.qos)

        def on_message(data: bytes) -> None:
            stamp = self._node.get_clock().now().nanoseconds  # receive time
            with self._lock:
                if self._closed:
                    return
                self._counts[resolved] += 1
                self._queue.put((resolved, msgtype, offered, stamp, bytes(data)))

        return on_message

    def _write_loop(self, plugin: StoragePlugin, custom_data: dict, opened: threading.Event):
        """The writer thread: owns the rosbags Writer from open to close."""
        writer = Writer(self._path, version=9, storage_plugin=plugin)
        try:
            for key, value in custom_data.items():
                writer.set_custom_data(str(key), str(value))
            writer.open()
        except (WriterError, OSError) as error:
            self._error = str(error)
            opened.set()
            return
        if plugin == StoragePlugin.MCAP:
            _store_type_hashes_in_channels(writer.storage)
        opened.set()
        connections: dict[str, object] = {}
        last_flush = time.monotonic()
        while True:
            try:
                item = self._queue.get(timeout=FLUSH_PERIOD_S)
            except queue.Empty:
                item = None
            if item is _STOP:
                break
            if item is not None:
                topic, msgtype, offered, stamp, data = item
                try:
                    connection = connections.get(topic)
                    if connection is None:
                        connection = writer.add_connection(
                            topic, msgtype, typestore=self._store, offered_qos_profiles=[offered]
                        )
                        connections[topic] = connection
                    writer.write(connection, stamp, data)
                except (WriterError, OSError, sqlite3.Error) as error:
                    self._report_write_error(topic, error)
            if time.monotonic() - last_flush >= FLUSH_PERIOD_S:
                _flush(writer)
                last_flush = time.monotonic()
        try:
            writer.close()
            _set_ros_distro(self._path / "metadata.yaml")
        except (WriterError, OSError, sqlite3.Error) as error:
            self._report_write_error("metadata", error)

    def _report_write_error(self, topic: str, error: Exception) -> None:
        if self._error is None:  # log the first failure only; the rest are the same
            self._error = str(error)
            self._node.get_logger().error(f"bag {self._path}: cannot write {topic}: {error}")

    @property
    def path(self) -> Path:
        """The bag directory."""
        return self._path

    @property
    def topics(self) -> tuple[str, ...]:
        """The resolved names of the recorded topics."""
        return tuple(self._counts)

    @property
    def error(self) -> Optional[str]:
        """The first write error, or ``None`` while everything was written."""
        return self._error

    def counts(self) -> dict[str, int]:
        """``{resolved topic: messages received}`` so far."""
        with self._lock:
            return dict(self._counts)

    def close(self, timeout_s: float = 30.0) -> None:
        """Stop recording, write what is queued and finalise the bag (idempotent).

        The subscriptions stay until the node is destroyed (destroying them while another
        thread spins the node is not safe on every distribution); they record nothing more.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join(timeout_s)

    def __enter__(self) -> "BagRecorder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _store_type_hashes_in_channels(storage) -> None:
    """Make an MCAP storage writer of ``rosbags`` store each channel's type hash as rosbag2
    does: ``topic_type_hash`` (RIHS01) in the channel metadata, beside the offered QoS, which is
    all ``rosbags`` writes there. Each channel record is rewritten as it is added, before any
    message of it (``test_bag_record.py`` reads the hashes back)."""
    from rosbags.rosbag2 import storage_mcap

    add_connection = storage.add_connection

    def add_connection_with_type_hash(connection, offered_qos_profiles: str) -> None:
        start = storage.chunk.bio.tell()
        add_connection(connection, offered_qos_profiles)
        entry = BytesIO()
        storage_mcap.write_string(entry, "topic_type_hash")
        storage_mcap.write_string(entry, connection.digest)
        channel = storage.channels[-1]
        storage.channels[-1] = channel._replace(metadata=channel.metadata + entry.getvalue())
        storage.chunk.bio.seek(start)
        storage.chunk.bio.truncate()
        storage_mcap.write_channel(storage.chunk.bio, storage.channels[-1], storage.schemas)

    storage.add_connection = add_connection_with_type_hash


def _set_ros_distro(metadata: Path) -> None:
    """Write the distribution into ``metadata.yaml`` as rosbag2 does (``$ROS_DISTRO``, empty
    when unset); rosbags writes its own name there."""
    text = metadata.read_text()
    distro = os.environ.get("ROS_DISTRO", "")
    staged = metadata.with_suffix(".yaml.tmp")
    staged.write_text(text.replace("  ros_distro: rosbags\n", f"  ros_distro: '{distro}'\n", 1))
    os.replace(staged, metadata)


def _flush(writer: Writer) -> None:
    """Push what the storage buffered to disk (a crash then loses at most a flush period).

    Reaches into the ``rosbags`` storage writers (sqlite3 connection, MCAP pending chunk);
    each step is skipped when the attribute is absent, so a newer ``rosbags`` only loses the
    early flush, never the recording.
    """
    storage = writer.storage
    connection = getattr(storage, "conn", None)  # sqlite3
    if connection is not None:
        connection.commit()
    chunk = getattr(storage, "chunk", None)  # mcap (rosbags 0.11): buffers up to 1 MiB chunks
    if chunk is not None and hasattr(storage, "close_chunk") and chunk.bio.tell():
        storage.close_chunk()  # many small chunks are valid MCAP; a crash keeps them all
    stream = getattr(storage, "bio", None)
    if stream is not None and hasattr(stream, "flush"):
        stream.flush()


def describe_counts(counts: Mapping[str, int], width: Optional[int] = None) -> str:
    """A one-line summary ``topic n | topic n ...`` of :meth:`BagRecorder.counts`."""
    parts = [f"{name} {count}" for name, count in counts.items()]
    line = f"{sum(counts.values())} msgs | " + " | ".join(parts)
    if width is not None and len(line) > width:
        line = line[: max(0, width - 1)] + "…"
    return line
