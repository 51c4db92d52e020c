# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The DDS measurements of ``moral-compass bench``: planner → selection across processes and its
floors."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from moral_compass_ros.tools.bench._decision import (
    REPLAN_PAUSE_S,
    _pct,
    _requests,
    _warm_events,
    shipped_config,
)

PING_TOPIC = "bench/ping"


PONG_TOPIC = "bench/pong"

#: The message round trip: CandidateActions in, an ActionSelection of the same size out.
ECHO_CANDIDATES_TOPIC = "bench/candidates"


ECHO_SELECTION_TOPIC = "bench/selection"

#: The same round trip as serialised bytes (no rclpy message objects at either end).
RAW_CANDIDATES_TOPIC = "bench/raw_candidates"


RAW_SELECTION_TOPIC = "bench/raw_selection"


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def _canned_selection(request, n_values: int):
    """An ``ActionSelection`` of the size and shape the selector answers ``request`` with: one
    ``ActionScore`` per candidate (fingerprint means of length ``n_values``), the first
    candidate copied as the selected one."""
    from moral_compass_ros.msg import ActionScore, ActionSelection

    scores = [
        ActionScore(
            id=c.id,
            total=-1.0,
            task_cost=0.5,
            alignment=-0.02,
            information_gain=0.01,
            predicted_approval=0.5,
            fingerprint_mean=[1.0 / n_values] * n_values,
        )
        for c in request.candidates
    ]
    return ActionSelection(
        request_id=request.request_id,
        selected_id=request.candidates[0].id,
        selected=request.candidates[0],
        context=request.context,
        scores=scores,
        lambda_task=1.0,
        lambda_align=1.0,
        lambda_info=0.1,
        information_mode="avoid",
        epsilon=0.05,
        value_cards_hash="0" * 64,
    )


def _candidates_msg(rid: str, phi, context, reward_mean, reward_std):
    """The ``CandidateActions`` of one re-plan from :func:`_requests`, as a planner sends it."""
    from moral_compass_ros.msg import CandidateAction, CandidateActions

    msg = CandidateActions(request_id=rid, context=context.tolist())
    msg.candidates = [
        CandidateAction(
            id=f"{rid}-{i}",
            label=f"a{i}",
            features=row.tolist(),
            expected_task_reward=float(mean),
            task_reward_std=float(std),
        )
        for i, (row, mean, std) in enumerate(zip(phi, reward_mean, reward_std))
    ]
    return msg


def measure_message_conversion(learner, b: int, repeats: int) -> dict:
    """Median ms of each message conversion a request goes through, in this process, on one
    re-plan: rclpy deserialising the ``CandidateActions`` (as the selector's subscription
    does), ``candidates_from_msg``, ``selection_to_msg``, serialising the ``ActionSelection``
    and deserialising it (as the planner's subscription does)."""
    from rclpy.serialization import deserialize_message, serialize_message

    from moral_compass_ros.conversions import candidates_from_msg, selection_to_msg
    from moral_compass_ros.msg import ActionSelection, CandidateActions

    cfg = learner.config
    request = _requests(cfg, b, 1, seed=31)[0]
    raw_candidates = serialize_message(_candidates_msg("conversion", *request))
    candidates = deserialize_message(raw_candidates, CandidateActions)
    batch = candidates_from_msg(candidates, cfg.feature_dim, cfg.context_dim, len(cfg.value_names))
    scores = learner.score(*request)
    vetoed = np.zeros(b, dtype=bool)
    selection = selection_to_msg(
        batch, scores, scores.selected, vetoed, cfg.information_mode, "0" * 64, 1.0
    )
    raw_selection = serialize_message(selection)
    steps = {
        "candidates_deserialize": lambda: deserialize_message(raw_candidates, CandidateActions),
        "candidates_from_msg": lambda: candidates_from_msg(
            candidates, cfg.feature_dim, cfg.context_dim, len(cfg.value_names)
        ),
        "selection_to_msg": lambda: selection_to_msg(
            batch, scores, scores.selected, vetoed, cfg.information_mode, "0" * 64, 1.0
        ),
        "selection_serialize": lambda: serialize_message(selection),
        "selection_deserialize": lambda: deserialize_message(raw_selection, ActionSelection),
    }
    out = {}
    for name, step in steps.items():
        times = []
        for _ in range(repeats + 1):
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1e3)
        out[name] = _pct(times[1:], 50)
    return out


def echo_main() -> int:
    """Child process: echo ``bench/ping`` strings back on ``bench/pong``, and answer each
    ``CandidateActions`` on ``bench/candidates`` with a canned ``ActionSelection`` of the same
    size on ``bench/selection`` (the message round trip without any scoring); the same on the
    ``bench/raw_*`` topics as serialised bytes, the canned answer serialised once."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.serialization import deserialize_message, serialize_message
    from std_msgs.msg import String

    from moral_compass_ros.msg import ActionSelection, CandidateActions
    from moral_compass_ros.qos import SELECTION_QOS, STREAM_QOS

    rclpy.init(domain_id=int(os.environ["ROS_DOMAIN_ID"]))
    node = rclpy.create_node("bench_echo")
    pub = node.create_publisher(String, PONG_TOPIC, 10)
    node.create_subscription(String, PING_TOPIC, pub.publish, 10)
    selection_pub = node.create_publisher(ActionSelection, ECHO_SELECTION_TOPIC, SELECTION_QOS)
    canned: dict = {}
    n_values = len(shipped_config().value_names)

    def answer(request) -> None:
        selection = canned.get(len(request.candidates))
        if selection is None:
            selection = canned[len(request.candidates)] = _canned_selection(request, n_values)
        selection.request_id = request.request_id
        selection_pub.publish(selection)

    node.create_subscription(CandidateActions, ECHO_CANDIDATES_TOPIC, answer, STREAM_QOS)
    raw_pub = node.create_publisher(ActionSelection, RAW_SELECTION_TOPIC, SELECTION_QOS)
    raw_canned: list = []

    def answer_serialised(request: bytes) -> None:
        if not raw_canned:  # built once, from the first request; every request has the same B
            raw_canned.append(
                serialize_message(
                    _canned_selection(deserialize_message(request, CandidateActions), n_values)
                )
            )
        raw_pub.publish(raw_canned[0])

    node.create_subscription(
        CandidateActions, RAW_CANDIDATES_TOPIC, answer_serialised, STREAM_QOS, raw=True
    )
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, Exception):  # noqa: BLE001 - shutdown on SIGINT
        pass
    finally:
        rclpy.try_shutdown()
    return 0


class _PlannerProbe:
    """The bench's planner: publishes re-plans, pings and raw bytes, and notes when each answer
    arrives (selections, pongs, echoed and raw selections), in its own node and executor."""

    def __init__(self, context, stream: list, repeats: int):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from std_msgs.msg import String

        from moral_compass_ros import topics
        from moral_compass_ros.msg import ActionSelection, CandidateActions
        from moral_compass_ros.qos import STREAM_QOS

        self.node = node = rclpy.create_node("bench_planner", context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(node)
        self.stream, self.repeats = stream, repeats
        self.received: dict = {}  # request id -> arrival time of its selection
        self.compute_ms: dict = {}  # request id -> the selector's own compute time
        self.versions: dict = {}  # request id -> compass version it was scored against
        self.pongs: dict = {}
        self.echoed: dict = {}
        self.raw_arrivals: list = []  # the answer to the one raw request in flight
        node.create_subscription(ActionSelection, topics.SELECTION, self._on_selection, STREAM_QOS)
        node.create_subscription(String, PONG_TOPIC, self._note(self.pongs, "data"), 10)
        node.create_subscription(
            ActionSelection,
            ECHO_SELECTION_TOPIC,
            self._note(self.echoed, "request_id"),
            STREAM_QOS,
        )
        node.create_subscription(
            ActionSelection,
            RAW_SELECTION_TOPIC,
            lambda _: self.raw_arrivals.append(time.perf_counter()),
            STREAM_QOS,
            raw=True,
        )
        self.candidates = node.create_publisher(CandidateActions, topics.CANDIDATES, STREAM_QOS)
        self.raw = node.create_publisher(CandidateActions, RAW_CANDIDATES_TOPIC, STREAM_QOS)
        self.ping_pub = node.create_publisher(String, PING_TOPIC, 10)
        self.echo = node.create_publisher(CandidateActions, ECHO_CANDIDATES_TOPIC, STREAM_QOS)
        self._string = String

    @staticmethod
    def _note(table: dict, key: str):
        return lambda msg: table.setdefault(getattr(msg, key), time.perf_counter())

    def _on_selection(self, msg) -> None:
        self.received.setdefault(msg.request_id, time.perf_counter())
        self.compute_ms[msg.request_id] = float(msg.compute_ms)
        self.versions[msg.request_id] = int(msg.compass_version)

    def spin_until(self, predicate, limit: float) -> bool:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and not predicate():
            self.executor.spin_once(timeout_sec=0.01)
        return predicate()

    def request(self, rid: str, index: int):
        return _candidates_msg(rid, *self.stream[index])

    def paced_round_trips(self, prefix, publish, arrival, timeout, serialised=False) -> list:
        """[(request id, ms)] from publishing re-plans 1 … repeats + 2 (ids ``prefix-i``, built
        before the clock starts; as bytes when ``serialised``) to their answers' arrival,
        ``arrival(id)`` (None until then), REPLAN_PAUSE_S idle before each; the first two are
        warm-up."""
        from rclpy.serialization import serialize_message

        trips = []
        for i in range(self.repeats + 2):
            rid = f"{prefix}-{i}"
            msg = self.request(rid, i + 1)
            if serialised:
                msg = serialize_message(msg)
            self.spin_until(lambda: False, REPLAN_PAUSE_S)  # the answering node idles
            t0 = time.perf_counter()
            publish(msg)
            if self.spin_until(lambda: arrival(rid) is not None, timeout) and i >= 2:
                trips.append((rid, (arrival(rid) - t0) * 1e3))
        return trips

    def ping(self, count: int) -> list:
        """Round trips (ms) of a short string to the echo node; the first five are warm-up."""
        times = []
        for i in range(count + 5):
            key = f"p{i}"
            t0 = time.perf_counter()
            self.ping_pub.publish(self._string(data=key))
            if self.spin_until(lambda: key in self.pongs, 5.0) and i >= 5:
                times.append((self.pongs[key] - t0) * 1e3)
            self.spin_until(lambda: False, 0.005)
        return times

    def publish_raw(self, raw: bytes) -> None:
        self.raw_arrivals.clear()  # an answer that arrives now belongs to this request
        self.raw.publish(raw)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


def _state_with_answers(tmp: Path, n: int, k: int, seed: int, updates: int) -> Path:
    """A params file whose compass node restores a journal of ``updates`` answers (the same the
    in-process learner had), so the selector scores the same compass; returns its path."""
    import yaml

    from moral_compass_ros.core.learner_store import LearnerStore
    from moral_compass_ros.graph import config_file, node_parameters

    params = yaml.safe_load(config_file().read_text())
    params["/**"]["ros__parameters"].update(
        {"n_particles": n, "n_fingerprint_samples": k, "seed": seed}
    )
    node_parameters(params, "compass_node")["state_dir"] = str(tmp / "state")
    store = LearnerStore(tmp / "state")
    config = shipped_config(n_particles=n, n_fingerprint_samples=k, seed=seed)
    for event in _warm_events(config, seed, updates):
        store.append(event)
    store.close()
    path = tmp / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def _stop(process) -> None:
    import subprocess

    if process.poll() is None:
        process.send_signal(2)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure_dds(
    b: int,
    n: int,
    k: int,
    repeats: int,
    threads: int,
    seed: int = 7,
    updates: int = 3,
    timeout_s: float = 120.0,
) -> dict:
    """e2e planner → selection over DDS, DDS ping-pong floor and node RSS, one run.

    The compass node starts from a journal holding the same ``updates`` answers (and seed) as
    the in-process decision's learner, so the selector scores the same compass (checked: every
    selection must carry that compass version).
    """
    import subprocess

    import rclpy
    from rclpy.context import Context

    from moral_compass_ros.graph import GRAPH_NODES, GraphRunner

    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.setdefault("ROS_DOMAIN_ID", str(os.getpid() % 90 + 5))
    os.environ["OMP_NUM_THREADS"] = str(threads)  # the node processes inherit it
    nodes = [g for g in GRAPH_NODES if g.name in ("compass_node", "action_selector_node")]
    tmp = Path(tempfile.mkdtemp(prefix="mc-bench-"))
    params_path = _state_with_answers(tmp, n, k, seed, updates)
    echo = subprocess.Popen(
        [sys.executable, "-m", "moral_compass_ros.tools.bench", "--echo"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    context = Context()
    rclpy.init(context=context, domain_id=int(os.environ["ROS_DOMAIN_ID"]))
    try:
        with GraphRunner(nodes, params_files=[params_path], log_dir=tmp / "logs") as runner:
            runner.start({"action_selector_node": {"torch_threads": threads}})
            # the same re-plans as the in-process decision measurement
            probe = _PlannerProbe(context, _requests(shipped_config(), b, repeats + 3), repeats)
            try:
                result = _measure(probe, updates, repeats, timeout_s)
                result["rss_mb"] = {name: _rss_mb(p.pid) for name, p in runner.processes.items()}
                result["rss_mb"]["bench_echo"] = _rss_mb(echo.pid)
            finally:
                probe.close()
    finally:
        rclpy.try_shutdown(context=context)
        _stop(echo)
    return result


def _measure(probe: _PlannerProbe, updates: int, repeats: int, timeout_s: float) -> dict:
    """The round trips of one run: planner → selection, ping-pong, echoed and raw messages."""
    up = probe.spin_until(
        lambda: all(
            pub.get_subscription_count() > 0
            for pub in (probe.candidates, probe.ping_pub, probe.echo)
        ),
        timeout_s,
    )
    if not up:
        raise RuntimeError("graph or echo node did not come up")
    # until the selector answers on the restored compass (it has finished starting and holds
    # version `updates`; before that it scores its own prior, version 0)
    for attempt in range(int(timeout_s)):
        probe.candidates.publish(probe.request(f"probe-{attempt}", 0))
        if probe.spin_until(lambda: probe.versions.get(f"probe-{attempt}") == updates, 1.0):
            break
    else:
        raise RuntimeError(f"the selector never answered on compass version {updates}")
    trips = probe.paced_round_trips("e2e", probe.candidates.publish, probe.received.get, 30.0)
    e2e = [ms for _, ms in trips]
    in_node = [probe.compute_ms[rid] for rid, _ in trips]  # the selector's own compute_ms
    scored = {v for rid, v in probe.versions.items() if rid.startswith("e2e-")}
    if scored != {updates}:
        raise RuntimeError(
            f"the selector scored compass versions {sorted(scored)}, not {updates} "
            "(the journal the compass node started from)"
        )
    ping = probe.ping(max(repeats, 50))
    # the same requests answered by a canned selection: DDS plus rclpy's conversion of these two
    # message types, without the selector's work
    message_trip = [
        ms for _, ms in probe.paced_round_trips("echo", probe.echo.publish, probe.echoed.get, 5.0)
    ]
    serialised_trip = []
    if probe.spin_until(lambda: probe.raw.get_subscription_count() > 0, timeout_s):
        serialised_trip = [
            ms
            for _, ms in probe.paced_round_trips(
                "raw",
                probe.publish_raw,
                lambda _: probe.raw_arrivals[0] if probe.raw_arrivals else None,
                5.0,
                serialised=True,
            )
        ]
    overhead = np.subtract(e2e, in_node)  # what DDS, serialisation and conversion add
    return {
        "e2e_ms_p50": _pct(e2e, 50),
        "e2e_ms_p99": _pct(e2e, 99),
        "e2e_n": len(e2e),
        "e2e_selector_compute_ms_p50": _pct(in_node, 50),
        "e2e_selector_compute_ms_p99": _pct(in_node, 99),
        "e2e_overhead_ms_p50": _pct(overhead, 50),
        "e2e_overhead_ms_p99": _pct(overhead, 99),
        "dds_pingpong_ms_p50": _pct(ping, 50),
        "dds_pingpong_ms_p99": _pct(ping, 99),
        "dds_message_roundtrip_ms_p50": _pct(message_trip, 50),
        "dds_message_roundtrip_ms_p99": _pct(message_trip, 99),
        "dds_serialized_roundtrip_ms_p50": _pct(serialised_trip, 50),
        "dds_serialized_roundtrip_ms_p99": _pct(serialised_trip, 99),
    }
