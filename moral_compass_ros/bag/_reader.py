# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Read a rosbag2 (sqlite3 or MCAP) into messages, robust to damaged, foreign and old bags.

What a person can meet and what happens (never a traceback):

* a path that is not a bag, a sqlite3 file that is damaged: :class:`BagError` with the reason;
* an MCAP file that was cut short (a crash while recording, a partial copy): every message up
  to the damage is read, with a warning; a bag directory without ``metadata.yaml`` (the
  recorder never closed it) is read from its storage file, with a warning;
* a split bag (``ros2 bag record --max-bag-size`` / ``--max-bag-duration``): its storage files
  are read in the order ``metadata.yaml`` lists them; a file-compressed bag
  (``compression_mode: FILE``, zstd) is decompressed to a temporary directory and read;
* a bag whose messages are not serialized as CDR: :class:`BagError` naming the format;
* topics of types this package does not know: listed and ignored;
* a message recorded with an older (or newer) definition of one of the package's types (same
  name, other fields): decoded with the definition stored in the bag, then carried over to the
  current type field by field; fields it lacks get their default, with a warning naming them.
"""

from __future__ import annotations

import sqlite3
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import numpy as np
import yaml
from rosbags.interfaces import Nodetype
from rosbags.rosbag2 import Reader, ReaderError
from rosbags.serde import SerdeError
from rosbags.typesys import Stores, TypesysError, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from moral_compass_ros.bag._types import package_type_names, typestore

MCAP_MAGIC = b"\x89MCAP0\r\n"
SQLITE_MAGIC = b"SQLite format 3\x00"
STORAGE_SUFFIX = {"mcap": ".mcap", "sqlite3": ".db3"}

# Fields added to a message after bags were recorded, and the value an old message means.
# (A HumanFeedback from before the legitimacy policy carried a full answer.)
LEGACY_DEFAULTS = {("moral_compass_ros/msg/HumanFeedback", "weight"): 1.0}

_DECODE_ERRORS = (
    SerdeError,
    ValueError,
    IndexError,
    KeyError,
    TypeError,
    struct.error,
    UnicodeDecodeError,
    AssertionError,
)
_STORAGE_ERRORS = (
    ReaderError,
    sqlite3.Error,
    OSError,
    EOFError,
    struct.error,
    KeyError,
    ValueError,
    IndexError,
)


class BagError(ValueError):
    """A bag that cannot be read at all; the text says why and what to do."""


@dataclass(frozen=True)
class BagMessage:
    """One decoded message of a bag.

    Attributes
    ----------
    topic : str
        Topic as recorded (absolute, e.g. ``/robot_1/selection``).
    msgtype : str
        ``pkg/msg/Type``.
    timestamp : int
        Receive time (ns) the recorder stamped.
    message : object
        The ``rosbags`` message object, always of the *current* definition of ``msgtype``.
    """

    topic: str
    msgtype: str
    timestamp: int
    message: Any


@dataclass
class BagContents:
    """What :func:`read_bag` found.

    Attributes
    ----------
    path : Path
    storage : str
        ``"mcap"`` or ``"sqlite3"``.
    messages : list of BagMessage
        The decoded messages of the requested types, by receive time (recorded order on ties).
    topics : dict
        ``{topic: (msgtype, messages in the bag)}`` of every topic, read or not.
    custom_data : dict
        The bag's ``metadata.yaml`` ``custom_data`` (empty when there is none).
    warnings : list of str
        Everything that was skipped, repaired or guessed, one sentence each.
    complete : bool
        False when the bag was cut short and only a prefix could be read.
    """

    path: Path
    storage: str
    messages: list = field(default_factory=list)
    topics: dict = field(default_factory=dict)
    custom_data: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    complete: bool = True


@dataclass
class _Connection:
    key: Any
    topic: str
    msgtype: str
    msgdef: str = ""
    digest: str = ""
    count: int = 0


def _sniff(path: Path) -> Optional[str]:
    try:
        with path.open("rb") as stream:
            head = stream.read(16)
    except OSError as error:
        raise BagError(f"cannot read {path}: {error.strerror or error}") from error
    if head.startswith(MCAP_MAGIC):
        return "mcap"
    if head.startswith(SQLITE_MAGIC):
        return "sqlite3"
    return None


def _metadata(path: Path) -> dict:
    """The ``rosbag2_bagfile_information`` of a bag directory's ``metadata.yaml``."""
    try:
        document = yaml.safe_load((path / "metadata.yaml").read_text())
        info = document["rosbag2_bagfile_information"]
        info["relative_file_paths"] = [str(p) for p in info["relative_file_paths"]]
        return info
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise BagError(
            f"{path / 'metadata.yaml'}: not rosbag2 metadata ({_reason(error)})"
        ) from error


def _split_index(file: Path) -> tuple:
    """Sort key of a split bag's files: ``bag_2.mcap`` before ``bag_10.mcap``."""
    stem, _, index = file.stem.rpartition("_")
    return (stem, int(index)) if index.isdigit() else (file.stem, -1)


def locate(path: Path, storage: str = "auto") -> tuple[Path, list[Path], str, list[str]]:
    """Find the storage files of a bag and its storage id.

    Parameters
    ----------
    path : Path
        A bag directory (``metadata.yaml`` + one or more storage files, possibly
        zstd-compressed), or a ``.mcap``/``.db3`` file.
    storage : {"auto", "mcap", "sqlite3"}
        ``auto`` detects it from the metadata or the file's magic bytes; otherwise it must match.

    Returns
    -------
    open_path : Path
        What to hand to ``rosbags`` (the directory when it has ``metadata.yaml``).
    storage_files : list of Path
        In recording order.
    storage : str
    warnings : list of str

    Raises
    ------
    BagError
        No such path, no storage file, an unknown format or serialization, a storage mismatch,
        a split bag without its metadata.
    """
    if storage not in ("auto", "mcap", "sqlite3"):
        raise BagError(f"storage must be auto, mcap or sqlite3, got {storage!r}")
    warnings: list[str] = []
    if not path.exists():
        raise BagError(f"{path}: no such bag (give a bag directory or a .mcap/.db3 file)")
    if path.is_dir() and (path / "metadata.yaml").exists():
        info = _metadata(path)
        formats = {
            topic.get("topic_metadata", {}).get("serialization_format", "cdr")
            for topic in info.get("topics_with_message_count") or []
        } - {"cdr"}
        if formats:
            raise BagError(
                f"{path}: messages serialized as {', '.join(sorted(formats))}; this "
                "package reads CDR, rosbag2's default serialization"
            )
        found = str(info.get("storage_identifier", ""))
        if found not in STORAGE_SUFFIX:
            raise BagError(f"{path}: storage {found!r} (this package reads mcap and sqlite3)")
        files = [path / Path(p).name for p in info["relative_file_paths"]]
        if missing := [p.name for p in files if not p.exists()]:
            raise BagError(
                f"{path}: storage file(s) listed in metadata.yaml are missing: "
                + ", ".join(missing)
            )
        compression = str(info.get("compression_mode") or "").lower()
        if compression in ("file", "message") and info.get("compression_format") != "zstd":
            raise BagError(
                f"{path}: compressed with {info.get('compression_format')!r} "
                "(this package reads zstd, rosbag2's default)"
            )
        if storage != "auto" and storage != found:
            raise BagError(f"{path} is a {found} bag, but --storage {storage} was given")
        if compression != "file":
            for file in files:
                if _sniff(file) != found:
                    raise BagError(f"{file}: not a {found} file (wrong magic bytes)")
        return path, files, found, warnings
    if path.is_dir():
        files = sorted(
            (p for p in path.iterdir() if p.suffix in (".mcap", ".db3")), key=_split_index
        )
        if not files:
            raise BagError(f"{path}: not a bag (no .mcap or .db3 file in it)")
        if len(files) > 1 and any(p.suffix != ".mcap" for p in files):
            raise BagError(
                f"{path}: {len(files)} sqlite3 storage files and no metadata.yaml; "
                "open one file at a time"
            )
        warnings.append(
            f"{path} has no metadata.yaml (the recording was not closed?); "
            f"reading {', '.join(p.name for p in files)} directly"
        )
        open_path = files[0]
    else:
        files, open_path = [path], path
    found = _sniff(files[0])
    if found is None:
        raise BagError(f"{files[0]}: neither an MCAP nor a sqlite3 file (wrong magic bytes)")
    if storage != "auto" and storage != found:
        raise BagError(f"{files[0]} is a {found} bag, but --storage {storage} was given")
    if files[0].suffix != STORAGE_SUFFIX[found]:
        raise BagError(f"{files[0]}: a {found} file must end in {STORAGE_SUFFIX[found]}")
    return open_path, files, found, warnings


def _rosbags_stream(
    open_path: Path, contents: BagContents, connections: dict
) -> Iterator[tuple[Any, int, bytes]]:
    """Raw messages via ``rosbags`` (sorted by time); fills ``connections`` first."""
    reader = Reader(open_path)
    reader.open()
    try:
        custom = getattr(getattr(reader.storage, "metadata", None), "custom", None)
        contents.custom_data = dict(custom or {})
        for conn in reader.connections:
            connections[conn.id] = _Connection(
                conn.id,
                conn.topic,
                conn.msgtype,
                conn.msgdef.data or "",
                conn.digest or "",
                int(conn.msgcount),
            )
        yield from ((conn.id, stamp, data) for conn, stamp, data in reader.messages())
    finally:
        reader.close()


def _mcap_stream(
    storage_file: Path, contents: BagContents, connections: dict
) -> Iterator[tuple[Any, int, bytes]]:
    """Raw messages of an MCAP file read front to back (works on a file cut short); the
    connections are keyed ``(file name, channel id)``, unique across a split bag's files."""
    from mcap.records import Channel, Message, Schema
    from mcap.stream_reader import StreamReader

    schemas: dict[int, Any] = {}
    with storage_file.open("rb") as stream:
        for record in StreamReader(stream).records:
            if isinstance(record, Schema):
                schemas[record.id] = record
            elif isinstance(record, Channel):
                schema = schemas.get(record.schema_id)
                key = (storage_file.name, record.id)
                connections[key] = _Connection(
                    key,
                    record.topic,
                    schema.name if schema else "",
                    schema.data.decode("utf-8", "replace") if schema else "",
                    "",
                    0,
                )
            elif (
                isinstance(record, Message)
                and (storage_file.name, record.channel_id) in connections
            ):
                key = (storage_file.name, record.channel_id)
                connections[key].count += 1
                yield key, int(record.log_time), bytes(record.data)


class _Decoder:
    """Decodes one connection's bytes into the current definition of its type."""

    def __init__(self, conn: _Connection, store: Typestore, warnings: list[str]):
        self.conn = conn
        self.store = store
        self.bag_store: Optional[Typestore] = None
        self.missing: set[str] = set()
        self.dropped: set[str] = set()
        self.failures = 0
        self.first_failure = ""
        current = store.hash_rihs01(conn.msgtype)
        bag_hash = conn.digest
        if conn.msgdef:
            try:
                bag_store = get_typestore(Stores.EMPTY)
                bag_store.register(get_types_from_msg(conn.msgdef, conn.msgtype))
                bag_hash = bag_store.hash_rihs01(conn.msgtype)
                if bag_hash != current:
                    self.bag_store = bag_store
            except (TypesysError, KeyError, ValueError) as error:
                warnings.append(
                    f"{conn.topic}: the bag's definition of {conn.msgtype} cannot "
                    f"be parsed ({error}); decoding with the current one"
                )
        elif bag_hash and bag_hash != current:
            warnings.append(
                f"{conn.topic}: {conn.msgtype} was recorded with another definition "
                "(type hash differs) and the bag does not store it; decoding with "
                "the current one may fail"
            )

    def decode(self, data: bytes) -> Any:
        """The message, or ``None`` when it cannot be decoded (counted)."""
        try:
            if self.bag_store is None:
                return deserialize_cdr(self.store, data, self.conn.msgtype)
            old = deserialize_cdr(self.bag_store, data, self.conn.msgtype)
            return self._carry(old, self.conn.msgtype, "")
        except _DECODE_ERRORS as error:
            self.failures += 1
            if not self.first_failure:
                self.first_failure = f"{type(error).__name__}: {error}"
            return None

    def _carry(self, old: Any, msgtype: str, prefix: str) -> Any:
        """``old`` (bag definition) as an instance of the current definition of ``msgtype``."""
        _, fields = self.store.fielddefs[msgtype]
        names = {name for name, _ in fields}
        old_names = {name for name, _ in self.bag_store.fielddefs.get(msgtype, ((), ()))[1]}
        self.dropped.update(f"{prefix}{name}" for name in old_names - names)
        kwargs = {}
        for name, desc in fields:
            if name in old_names:
                kwargs[name] = self._carry_value(getattr(old, name), desc, f"{prefix}{name}.")
            else:
                self.missing.add(f"{prefix}{name}")
                kwargs[name] = LEGACY_DEFAULTS.get((msgtype, name), _default(self.store, desc))
        return self.store.types[msgtype](**kwargs)

    def _carry_value(self, value: Any, desc: tuple, prefix: str) -> Any:
        kind, detail = desc
        if kind == Nodetype.NAME:
            return self._carry(value, detail, prefix)
        if kind in (Nodetype.ARRAY, Nodetype.SEQUENCE) and detail[0][0] == Nodetype.NAME:
            return [self._carry(v, detail[0][1], prefix) for v in value]
        return value


def deserialize_cdr(store: Typestore, data: bytes, msgtype: str) -> Any:
    """Decode one CDR message, tolerating the alignment padding Fast-CDR appends.

    ``Typestore.deserialize_cdr`` refuses more than 3 bytes after the last field, but
    ``rclpy.serialization.serialize_message`` (Fast-CDR) can leave more unused bytes after the
    message (measured: 4 to 8 and more, e.g. after an empty trailing sequence), and other
    writers may too. Trailing bytes are ignored here, as the ROS 2 deserialisers do; a wrong
    definition is caught by the type-hash check of :class:`_Decoder` instead.

    Raises
    ------
    SerdeError
        Not CDR, or the data ends inside the message.
    """
    if len(data) < 4 or data[0] != 0 or data[1] not in (0, 1):
        raise SerdeError("invalid or unsupported CDR encapsulation")
    msgdef = store.get_msgdef(msgtype)
    decode = msgdef.deserialize_cdr_le if data[1] else msgdef.deserialize_cdr_be
    try:
        message, position = decode(memoryview(data)[4:], 0, msgdef.cls, store)
    except (struct.error, UnicodeDecodeError, ValueError) as error:
        raise SerdeError(f"could not deserialize {msgtype}: {error}") from error
    if position + 4 > len(data):
        raise SerdeError(f"the data ends inside a {msgtype}")
    return message


def _default(store: Typestore, desc: tuple) -> Any:
    """The default value (ROS semantics) of a field described by ``desc``."""
    kind, detail = desc
    if kind == Nodetype.BASE:
        base = detail[0]
        if base == "string":
            return ""
        if base == "bool":
            return False
        if base.startswith("float"):
            return 0.0
        return 0
    if kind == Nodetype.NAME:
        _, fields = store.fielddefs[detail]
        return store.types[detail](**{name: _default(store, d) for name, d in fields})
    inner, count = detail
    if kind == Nodetype.ARRAY:
        if inner[0] == Nodetype.BASE and inner[1][0] not in ("string", "bool"):
            return np.zeros(
                count, dtype=np.float64 if inner[1][0].startswith("float") else np.int64
            )
        return [_default(store, inner) for _ in range(count)]
    return np.zeros(0) if inner[0] == Nodetype.BASE and inner[1][0] != "string" else []


def read_bag(
    path: Path | str,
    storage: str = "auto",
    msgtypes: Optional[set] = None,
    progress: Optional[Callable[[int, int], None]] = None,
) -> BagContents:
    """Read the messages of ``msgtypes`` from a bag.

    Parameters
    ----------
    path : Path or str
        Bag directory or ``.mcap``/``.db3`` file.
    storage : {"auto", "mcap", "sqlite3"}
    msgtypes : set of str, optional
        Types to decode (default: every type of the package). Others are only counted.
    progress : callable, optional
        ``progress(done, total)`` while reading (``total`` 0 when unknown).

    Returns
    -------
    BagContents

    Raises
    ------
    BagError
        When nothing can be read (see the module docstring).
    """
    path = Path(path)
    open_path, storage_files, found, warnings = locate(path, storage)
    storage_file = storage_files[0]
    contents = BagContents(path=path, storage=found, warnings=warnings)
    store = typestore()
    wanted = set(msgtypes) if msgtypes is not None else set(package_type_names())
    connections: dict[Any, _Connection] = {}
    decoders: dict[Any, Optional[_Decoder]] = {}
    raw: list[tuple[int, int, Any, bytes]] = []

    def collect(stream: Iterator[tuple[Any, int, bytes]]) -> None:
        total = 0
        for key, stamp, data in stream:
            if key not in decoders:
                conn = connections[key]
                decoders[key] = (
                    _Decoder(conn, store, contents.warnings)
                    if conn.msgtype in wanted and conn.msgtype in store.fielddefs
                    else None
                )
            if decoders[key] is not None:
                raw.append((stamp, len(raw), key, data))
            total += 1
            if progress is not None and total % 200 == 0:
                progress(total, 0)

    try:
        if len(storage_files) > 1 and open_path.is_file():
            # a split MCAP bag whose recording was not closed: read front to back below
            raise ReaderError("a split bag without metadata.yaml")
        collect(_rosbags_stream(open_path, contents, connections))
    except _STORAGE_ERRORS as error:
        reason = _reason(error)
        if found != "mcap":
            if raw:
                contents.complete = False
                contents.warnings.append(
                    f"{storage_file.name} is damaged ({reason}); read the "
                    f"{len(raw)} messages before the damage"
                )
            else:
                raise BagError(
                    f"{storage_file}: cannot read this sqlite3 bag ({reason}); it "
                    "is damaged or cut short"
                ) from error
        else:
            connections.clear()
            decoders.clear()
            raw.clear()
            contents.complete = False
            try:
                for file in storage_files:  # in recording order: damage ends the prefix
                    collect(_mcap_stream(file, contents, connections))
            except Exception as stream_error:  # noqa: BLE001 - any damage ends the prefix here
                reason = f"{reason}; then {_reason(stream_error)}"
            if not connections:
                raise BagError(
                    f"{storage_file}: cannot read this MCAP bag ({reason}); it is "
                    "damaged before its first message"
                ) from error
            contents.warnings.append(
                f"{storage_file.name} is cut short or damaged ({reason}); "
                f"read the {len(raw)} messages before the damage"
            )

    for conn in connections.values():  # a split bag's files each have their connections
        contents.topics[conn.topic] = (
            conn.msgtype,
            contents.topics.get(conn.topic, ("", 0))[1] + conn.count,
        )
    unknown = sorted(
        {(c.topic, c.msgtype) for c in connections.values() if c.msgtype not in store.fielddefs}
    )
    if unknown:
        contents.warnings.append(
            "ignored topics of message types this package does not know: "
            + ", ".join(f"{t} ({m})" for t, m in unknown)
        )

    raw.sort(key=lambda item: (item[0], item[1]))
    for done, (stamp, _, key, data) in enumerate(raw, 1):
        decoder = decoders[key]
        message = decoder.decode(data)
        if message is not None:
            contents.messages.append(
                BagMessage(decoder.conn.topic, decoder.conn.msgtype, int(stamp), message)
            )
        if progress is not None and done % 200 == 0:
            progress(done, len(raw))
    for decoder in {id(d): d for d in decoders.values() if d is not None}.values():
        conn = decoder.conn
        if decoder.bag_store is not None:
            detail = []
            if decoder.missing:
                detail.append(
                    "missing fields given defaults: "
                    + ", ".join(
                        f"{m}={LEGACY_DEFAULTS[(conn.msgtype, m)]!r}"
                        if (conn.msgtype, m) in LEGACY_DEFAULTS
                        else m
                        for m in sorted(decoder.missing)
                    )
                )
            if decoder.dropped:
                detail.append(
                    "fields no longer in the type dropped: " + ", ".join(sorted(decoder.dropped))
                )
            contents.warnings.append(
                f"{conn.topic}: {conn.msgtype} was recorded with another "
                "definition of the type; carried over to the current one"
                + (f" ({'; '.join(detail)})" if detail else "")
            )
        if decoder.failures:
            contents.warnings.append(
                f"{conn.topic}: {decoder.failures} message(s) of "
                f"{conn.msgtype} could not be decoded and were skipped "
                f"(first: {decoder.first_failure})"
            )
    return contents


def _reason(error: BaseException) -> str:
    text = str(error).strip().rstrip(".")
    return text or type(error).__name__
