"""``moral-compass bench``: how fast a decision and an update are, against POT and the exp bound.

    moral-compass bench --out FILE.json [--quick] [--threads 1|2] [--repeats N]

writes FILE.json and the figures FILE.png.

Measures in one run (medians and p99 over repeats):

* ``decision_ms_p50/p99`` — Step 1 (:meth:`DynamicValueLearner.score`: alignment = −S_ε,
  information gain, task term, for every candidate) at B = 64, N = 512, K = 64, M = 5, exactly as
  the selector calls it. Each repeat is a re-plan: the candidate features drift a little from
  the previous request (same compass version), so warm starts are what a robot would get.
  ``decision_cold_ms_p50`` is the same with every warm start dropped. ``decision_breakdown_ms``:
  where the median decision's time goes (Dirichlet sampling, forming the kernels, the cross and
  self iterations, the rest), with ``iterations_cross_mean`` and ``cross_ns_per_entry_iteration``.
  ``decision_paced_ms_p50/p99``: the same re-plans with the e2e run's idle time between them
  (``REPLAN_PAUSE_S``), as a selector answering a planner sees them: a decision that starts on
  a core that has just been idle is slower than one back to back.
* ``pot_loop_ms_p50`` — the same alignment values computed with POT one candidate at a time
  (numpy, ``ot.solve(C, a, b, reg=ε, reg_type="KL")``, the full entropic objective — POT's
  ``empirical_sinkhorn_divergence`` returns the linear part, which is a different number),
  same ε and tolerance (``scoring_tol``); OT_ε(q, q) once, OT_ε(β, β) and OT_ε(q, β) per
  candidate; ``speedup_vs_pot``. ``max_abs_diff_vs_pot`` (also relative to max |S_ε|):
  against POT converged to 1e-9 (``pot_reference_tol``), the float64 check of the float32 path;
  ``max_abs_diff_vs_pot_same_tol``: against the timed POT loop (POT's value at a loose
  tolerance is a primal value on a not-quite-feasible plan, first order in its marginal error,
  so that difference is mostly POT's).
* ``decision_pruned_ms_p50/p99`` — the same re-plans with ``prune_candidates`` (same
  selections; ``pruned_solved_fraction`` of the candidates get a Sinkhorn solve, the rest their
  bound), and ``ratio_to_bound_pruned`` against ``exp_bound_pruned_ms``, the exponentials of
  the solved candidates' kernels alone.
* ``exp_bound_ms`` — exp throughput measured now in the decision's precision, times the
  exponentials the kernel-domain algorithm must evaluate (one per kernel entry: B·N·K cross +
  B·K·K self); ``ratio_to_bound``.
* ``update_ms_p50`` — one feedback update (Step 2 + Step 3) at N = 512.
* ``e2e_ms_p50/p99`` — compass_node + action_selector_node started as processes (GraphRunner,
  this process's DDS domain), the compass node restored from a journal of the same answers the
  in-process learner had, so the selector scores the same compass; the bench publishes the
  same re-plans as ``CandidateActions`` and waits for each ``ActionSelection``;
  ``e2e_overhead_ms_p50/p99`` is e2e minus the selector's own compute time, per request.
  ``dds_pingpong_ms_p99`` — round trip to a tiny echo node in a child process, same run;
  ``dds_message_roundtrip_ms_p50/p99`` — the same re-plans answered by that echo node with a
  canned ``ActionSelection`` of the same size (DDS and rclpy's message conversion, no scoring);
  ``dds_serialized_roundtrip_ms_p50/p99`` — the same bytes both ways with no Python message
  object at either end (serialised subscriptions, the canned selection published as bytes):
  DDS alone, at these message sizes.
  ``message_conversion_ms`` — each conversion on one request's way, timed in this process.
  ``rss_mb`` per node from /proc/PID/status.
* ``grid`` — decision and POT-free figures at B ∈ {16, 256} × N ∈ {256, 2048}.

Times are wall-clock on a shared machine; ratios within one run are what count. p99 over the
default 200 repeats lies between the second- and third-largest sample (over 50 it was the
largest, and moved by a millisecond from run to run). Nothing in the test suite asserts a time.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from moral_compass_ros.core import DynamicValueLearner
from moral_compass_ros.core.config import LearnerConfig
from moral_compass_ros.core.events import FeedbackEvent
from moral_compass_ros.tools.cli import description

#: Marginal tolerance of the POT reference that checks the decision's values (float64 check).
REFERENCE_TOL = 1e-9
PING_TOPIC = "bench/ping"
PONG_TOPIC = "bench/pong"
#: The message round trip: CandidateActions in, an ActionSelection of the same size out.
ECHO_CANDIDATES_TOPIC = "bench/candidates"
ECHO_SELECTION_TOPIC = "bench/selection"
#: The same round trip as serialised bytes (no rclpy message objects at either end).
RAW_CANDIDATES_TOPIC = "bench/raw_candidates"
RAW_SELECTION_TOPIC = "bench/raw_selection"


#: Re-plans per decision and e2e measurement (the p99s need a few hundred to be stable).
DEFAULT_REPEATS = 200
#: Idle time between two re-plans in the e2e run and the paced decision (a 50 Hz planner's gap).
REPLAN_PAUSE_S = 0.02


def _pct(values, q) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def shipped_config(**overrides) -> LearnerConfig:
    """The learner config of the shipped ``moral_compass.yaml`` (what the nodes run), overridden."""
    import dataclasses

    import yaml

    from moral_compass_ros.graph import config_file
    shared = yaml.safe_load(config_file().read_text())["/**"]["ros__parameters"]
    names = {f.name for f in dataclasses.fields(LearnerConfig)}
    values = {key: (tuple(v) if isinstance(v, list) else v) for key, v in shared.items() if key in names}
    values.update(overrides)
    return LearnerConfig(**values)


def _progress(text: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


def _learner(n: int, k: int, threads: int, seed: int = 7, updates: int = 3, **overrides) -> DynamicValueLearner:
    """A learner at N particles, K samples, after a few updates (a compass that is not the prior)."""
    cfg = shipped_config(n_particles=n, n_fingerprint_samples=k, seed=seed, **overrides)
    learner = DynamicValueLearner(cfg)
    for event in _warm_events(cfg, seed, updates):
        learner.update(event)
    return learner


def _warm_events(cfg: LearnerConfig, seed: int, updates: int) -> list[FeedbackEvent]:
    """The answers that take a bench learner from the prior to the compass it is measured on."""
    rng = np.random.default_rng(seed)
    return [_event(cfg, rng, f"warm-{i}") for i in range(updates)]


def _event(cfg: LearnerConfig, rng, fid: str) -> FeedbackEvent:
    return FeedbackEvent(feedback_id=fid, action_id=fid, features=rng.normal(size=cfg.feature_dim),
                         context=rng.normal(size=cfg.context_dim), approved=bool(rng.integers(2)))


def _requests(cfg: LearnerConfig, b: int, count: int, seed: int = 11, drift: float = 0.02):
    """``count`` re-plans of B candidates: features and planner rewards drift by ``drift`` per
    request; rewards spread like the simulated planner's (mean 1, std 0.5 across candidates,
    each estimate ±0.5)."""
    rng = np.random.default_rng(seed)
    phi = rng.normal(size=(b, cfg.feature_dim))
    reward = rng.normal(1.0, 0.5, size=b)
    context = rng.normal(size=cfg.context_dim)
    out = []
    for _ in range(count):
        phi = phi + drift * rng.normal(size=phi.shape)
        reward = reward + drift * rng.normal(size=b)
        out.append((phi.copy(), context.copy(), reward.copy(), np.full(b, 0.5)))
    return out


def _reset_warm_start(learner) -> None:
    reset = getattr(learner, "reset_warm_start", None)
    if reset is not None:
        reset()


#: The parts of a decision ``DynamicValueLearner.last_score_info`` times (kernel path).
BREAKDOWN_PARTS = ("sampling_ms", "kernel_ms", "cross_ms", "self_ms")


def measure_decision(learner, b: int, repeats: int, cold: bool = False, solved: list | None = None,
                     breakdown: list | None = None, pause_s: float = 0.0) -> list[float]:
    """Wall-clock ms of ``learner.score`` per re-plan (first call discarded as warm-up);
    ``solved`` collects the fraction of candidates whose S_ε was computed (not pruned),
    ``breakdown`` the ``last_score_info`` of each (where the time went, iterations);
    ``pause_s`` idles that long before each re-plan."""
    times = []
    for i, (phi, s, rm, rs) in enumerate(_requests(learner.config, b, repeats + 1)):
        if cold:
            _reset_warm_start(learner)
        if pause_s:
            time.sleep(pause_s)
        t0 = time.perf_counter()
        scores = learner.score(phi, s, rm, rs)
        if i:
            times.append((time.perf_counter() - t0) * 1e3)
            if solved is not None:
                solved.append(1.0 - float(np.mean(scores.alignment_is_bound)))
            if breakdown is not None:
                breakdown.append(dict(learner.last_score_info))
    return times


def decision_breakdown(times: list[float], infos: list[dict], b: int, n: int, k: int) -> dict:
    """Medians of where a decision's time went, the rest (``other_ms``: fingerprint model,
    likelihoods, information gain, task term, conversions) as total − parts per decision, and
    the iteration cost: ``cross_ns_per_entry_iteration`` = cross time / (mean iterations ·
    B·N·K), one pass over a kernel entry with its two multiply-adds. Empty off the kernel path."""
    if not infos or any(part not in info for info in infos for part in BREAKDOWN_PARTS):
        return {}
    parts = {part: _pct([info[part] for info in infos], 50) for part in BREAKDOWN_PARTS}
    parts["other_ms"] = _pct([t - sum(info[p] for p in BREAKDOWN_PARTS) for t, info in zip(times, infos)], 50)
    iterations = float(np.mean([info["iterations_cross_mean"] for info in infos]))
    per_entry = np.median([info["cross_ms"] / (info["iterations_cross_mean"] * b * n * k) for info in infos])
    return {"decision_breakdown_ms": parts, "iterations_cross_mean": iterations,
            "cross_ns_per_entry_iteration": float(per_entry) * 1e6}


def pot_loop_alignment(learner, phi, s, rm, rs, tol: float) -> tuple[np.ndarray, float]:
    """−S_ε per candidate by POT one candidate at a time (numpy, float64) at marginal tolerance
    ``tol``; returns (alignment, ms)."""
    import ot
    cfg = learner.config
    samples = learner.fingerprint_samples(phi, s)  # the same K samples score() uses
    theta = np.array(learner.compass.particles, dtype=np.float64)
    w = np.array(learner.compass.weights, dtype=np.float64)
    kw = dict(reg=cfg.epsilon, reg_type="KL", max_iter=100000, tol=tol)

    def cost(x, y):
        if cfg.cost == "hellinger":
            x, y = np.sqrt(x), np.sqrt(y)
        return ot.dist(x, y, metric="sqeuclidean")

    t0 = time.perf_counter()
    ot_qq = float(ot.solve(cost(theta, theta), w, w, **kw).value)
    values = []
    for y in samples:
        u = np.full(len(y), 1.0 / len(y))
        ot_qb = float(ot.solve(cost(theta, y), w, u, **kw).value)
        ot_bb = float(ot.solve(cost(y, y), u, u, **kw).value)
        values.append(ot_qb - 0.5 * ot_qq - 0.5 * ot_bb)
    ms = (time.perf_counter() - t0) * 1e3
    return -np.array(values), ms


def exp_throughput_ns(dtype=torch.float64, n: int = 1 << 21, repeats: int = 15) -> float:
    """Median ns per exp of ``torch.exp`` on a large tensor of ``dtype`` (the precision the
    decision ran in; current thread count)."""
    x = -torch.rand(n, dtype=dtype) * 40.0
    out = torch.empty_like(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.exp(x, out=out)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) / n * 1e9


def kernel_exp_count(b: int, n: int, k: int) -> int:
    """Exponentials a kernel-domain S_ε needs: one per entry of exp(−C/ε), cross and self."""
    return b * n * k + b * k * k


def measure_update(learner, repeats: int) -> list[float]:
    rng = np.random.default_rng(99)
    times = []
    for i in range(repeats):
        event = _event(learner.config, rng, f"bench-{i}")
        t0 = time.perf_counter()
        learner.update(event)
        times.append((time.perf_counter() - t0) * 1e3)
    return times


# ---------------------------------------------------------------------------- DDS


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
    scores = [ActionScore(id=c.id, total=-1.0, task_cost=0.5, alignment=-0.02, information_gain=0.01,
                          predicted_approval=0.5, fingerprint_mean=[1.0 / n_values] * n_values)
              for c in request.candidates]
    return ActionSelection(request_id=request.request_id, selected_id=request.candidates[0].id,
                           selected=request.candidates[0], context=request.context, scores=scores,
                           lambda_task=1.0, lambda_align=1.0, lambda_info=0.1, information_mode="avoid",
                           epsilon=0.05, value_cards_hash="0" * 64)


def _candidates_msg(rid: str, phi, context, reward_mean, reward_std):
    """The ``CandidateActions`` of one re-plan from :func:`_requests`, as a planner sends it."""
    from moral_compass_ros.msg import CandidateAction, CandidateActions
    msg = CandidateActions(request_id=rid, context=context.tolist())
    msg.candidates = [CandidateAction(id=f"{rid}-{i}", label=f"a{i}", features=row.tolist(),
                                      expected_task_reward=float(mean), task_reward_std=float(std))
                      for i, (row, mean, std) in enumerate(zip(phi, reward_mean, reward_std))]
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
    selection = selection_to_msg(batch, scores, scores.selected, vetoed, cfg.information_mode, "0" * 64, 1.0)
    raw_selection = serialize_message(selection)
    steps = {
        "candidates_deserialize": lambda: deserialize_message(raw_candidates, CandidateActions),
        "candidates_from_msg": lambda: candidates_from_msg(candidates, cfg.feature_dim, cfg.context_dim,
                                                           len(cfg.value_names)),
        "selection_to_msg": lambda: selection_to_msg(batch, scores, scores.selected, vetoed,
                                                     cfg.information_mode, "0" * 64, 1.0),
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
            raw_canned.append(serialize_message(
                _canned_selection(deserialize_message(request, CandidateActions), n_values)))
        raw_pub.publish(raw_canned[0])

    node.create_subscription(CandidateActions, RAW_CANDIDATES_TOPIC, answer_serialised, STREAM_QOS, raw=True)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        executor.spin()
    except (KeyboardInterrupt, Exception):  # noqa: BLE001 - shutdown on SIGINT
        pass
    finally:
        rclpy.try_shutdown()
    return 0


def measure_dds(b: int, n: int, k: int, repeats: int, threads: int, seed: int = 7, updates: int = 3,
                timeout_s: float = 120.0) -> dict:
    """e2e planner → selection over DDS, DDS ping-pong floor and node RSS, one run.

    The compass node starts from a journal holding the same ``updates`` answers (and seed) as
    the in-process decision's learner, so the selector scores the same compass (checked: every
    selection must carry that compass version).
    """
    from moral_compass_ros.core.learner_store import LearnerStore
    import subprocess

    import rclpy
    import yaml
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.serialization import serialize_message
    from std_msgs.msg import String

    from moral_compass_ros import topics
    from moral_compass_ros.graph import GRAPH_NODES, GraphRunner, config_file, node_parameters
    from moral_compass_ros.msg import ActionSelection, CandidateActions
    from moral_compass_ros.qos import STREAM_QOS

    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    os.environ.setdefault("ROS_DOMAIN_ID", str(os.getpid() % 90 + 5))
    os.environ["OMP_NUM_THREADS"] = str(threads)  # the node processes inherit it
    nodes = [g for g in GRAPH_NODES if g.name in ("compass_node", "action_selector_node")]
    tmp = Path(tempfile.mkdtemp(prefix="mc-bench-"))
    params = yaml.safe_load(config_file().read_text())
    params["/**"]["ros__parameters"].update({"n_particles": n, "n_fingerprint_samples": k, "seed": seed})
    node_parameters(params, "compass_node")["state_dir"] = str(tmp / "state")
    store = LearnerStore(tmp / "state")
    for event in _warm_events(shipped_config(n_particles=n, n_fingerprint_samples=k, seed=seed), seed, updates):
        store.append(event)
    store.close()
    params_path = tmp / "params.yaml"
    params_path.write_text(yaml.safe_dump(params))
    echo = subprocess.Popen([sys.executable, "-m", "moral_compass_ros.tools.bench", "--echo"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    context = Context()
    rclpy.init(context=context, domain_id=int(os.environ["ROS_DOMAIN_ID"]))
    result: dict = {}
    try:
        with GraphRunner(nodes, params_files=[params_path], log_dir=tmp / "logs") as runner:
            runner.start({"action_selector_node": {"torch_threads": threads}})
            node = rclpy.create_node("bench_planner", context=context)
            executor = SingleThreadedExecutor(context=context)
            executor.add_node(node)
            received: dict = {}
            pongs: dict = {}
            compute_ms: dict = {}

            versions: dict = {}  # request id -> compass version it was scored against

            def on_selection(msg):
                received.setdefault(msg.request_id, time.perf_counter())
                compute_ms[msg.request_id] = float(msg.compute_ms)
                versions[msg.request_id] = int(msg.compass_version)

            node.create_subscription(ActionSelection, topics.SELECTION, on_selection, STREAM_QOS)
            node.create_subscription(String, PONG_TOPIC,
                                     lambda m: pongs.setdefault(m.data, time.perf_counter()), 10)
            echoed: dict = {}
            node.create_subscription(ActionSelection, ECHO_SELECTION_TOPIC,
                                     lambda m: echoed.setdefault(m.request_id, time.perf_counter()), STREAM_QOS)
            raw_arrivals: list = []  # the answer to the one request in flight (cleared as each is sent)
            node.create_subscription(ActionSelection, RAW_SELECTION_TOPIC,
                                     lambda m: raw_arrivals.append(time.perf_counter()), STREAM_QOS, raw=True)
            raw_pub = node.create_publisher(CandidateActions, RAW_CANDIDATES_TOPIC, STREAM_QOS)
            cand_pub = node.create_publisher(CandidateActions, topics.CANDIDATES, STREAM_QOS)
            ping_pub = node.create_publisher(String, PING_TOPIC, 10)
            echo_pub = node.create_publisher(CandidateActions, ECHO_CANDIDATES_TOPIC, STREAM_QOS)

            def spin_until(pred, limit):
                deadline = time.monotonic() + limit
                while time.monotonic() < deadline and not pred():
                    executor.spin_once(timeout_sec=0.01)
                return pred()

            # the same re-plans as the in-process decision measurement
            stream = _requests(shipped_config(), b, repeats + 3)

            def request(rid, index):
                return _candidates_msg(rid, *stream[index])

            def paced_round_trips(prefix, publish, arrival, timeout, serialised=False):
                """[(request id, ms)] from publishing re-plans 1 … repeats + 2 (ids ``prefix-i``,
                built before the clock starts; as bytes when ``serialised``) to their answers'
                arrival, ``arrival(id)`` (None until then), REPLAN_PAUSE_S idle before each;
                the first two are warm-up."""
                trips = []
                for i in range(repeats + 2):
                    rid = f"{prefix}-{i}"
                    msg = request(rid, i + 1)
                    if serialised:
                        msg = serialize_message(msg)
                    spin_until(lambda: False, REPLAN_PAUSE_S)  # the answering node idles
                    t0 = time.perf_counter()
                    publish(msg)
                    if spin_until(lambda: arrival(rid) is not None, timeout) and i >= 2:
                        trips.append((rid, (arrival(rid) - t0) * 1e3))
                return trips

            ok = spin_until(lambda: cand_pub.get_subscription_count() > 0
                            and ping_pub.get_subscription_count() > 0
                            and echo_pub.get_subscription_count() > 0, timeout_s)
            if not ok:
                raise RuntimeError("graph or echo node did not come up")
            # until the selector answers on the restored compass (it has finished starting and
            # holds version `updates`; before that it scores its own prior, version 0)
            for attempt in range(int(timeout_s)):
                cand_pub.publish(request(f"probe-{attempt}", 0))
                if spin_until(lambda: versions.get(f"probe-{attempt}") == updates, 1.0):
                    break
            else:
                raise RuntimeError(f"the selector never answered on compass version {updates}")
            trips = paced_round_trips("e2e", cand_pub.publish, received.get, 30.0)
            e2e = [ms for _, ms in trips]
            in_node = [compute_ms[rid] for rid, _ in trips]  # the selector's own compute_ms
            scored = {v for rid, v in versions.items() if rid.startswith("e2e-")}
            if scored != {updates}:
                raise RuntimeError(f"the selector scored compass versions {sorted(scored)}, not {updates} "
                                   "(the journal the compass node started from)")
            ping = []
            for i in range(max(repeats, 50) + 5):
                key = f"p{i}"
                t0 = time.perf_counter()
                ping_pub.publish(String(data=key))
                if spin_until(lambda: key in pongs, 5.0) and i >= 5:
                    ping.append((pongs[key] - t0) * 1e3)
                spin_until(lambda: False, 0.005)
            # the same requests answered by a canned selection: DDS plus rclpy's conversion of
            # these two message types, without the selector's work
            message_trip = [ms for _, ms in paced_round_trips("echo", echo_pub.publish, echoed.get, 5.0)]

            def publish_serialised(raw):
                raw_arrivals.clear()  # an answer that arrives now belongs to this request
                raw_pub.publish(raw)

            serialised_trip = []
            if spin_until(lambda: raw_pub.get_subscription_count() > 0, timeout_s):
                serialised_trip = [ms for _, ms in paced_round_trips(
                    "raw", publish_serialised, lambda _: raw_arrivals[0] if raw_arrivals else None, 5.0,
                    serialised=True)]
            result = {
                "e2e_ms_p50": _pct(e2e, 50), "e2e_ms_p99": _pct(e2e, 99), "e2e_n": len(e2e),
                "e2e_selector_compute_ms_p50": _pct(in_node, 50),
                "e2e_selector_compute_ms_p99": _pct(in_node, 99),
                # what DDS, serialisation and message conversion add to each decision
                "e2e_overhead_ms_p50": _pct(np.subtract(e2e, in_node), 50),
                "e2e_overhead_ms_p99": _pct(np.subtract(e2e, in_node), 99),
                "dds_pingpong_ms_p50": _pct(ping, 50), "dds_pingpong_ms_p99": _pct(ping, 99),
                "dds_message_roundtrip_ms_p50": _pct(message_trip, 50),
                "dds_message_roundtrip_ms_p99": _pct(message_trip, 99),
                "dds_serialized_roundtrip_ms_p50": _pct(serialised_trip, 50),
                "dds_serialized_roundtrip_ms_p99": _pct(serialised_trip, 99),
                "rss_mb": {name: _rss_mb(p.pid) for name, p in runner.processes.items()},
            }
            result["rss_mb"]["bench_echo"] = _rss_mb(echo.pid)
            executor.shutdown()
            node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
        if echo.poll() is None:
            echo.send_signal(2)
            try:
                echo.wait(timeout=10)
            except subprocess.TimeoutExpired:
                echo.kill()
                echo.wait()
    return result


# ---------------------------------------------------------------------------- main


def run(quick: bool, threads: int, repeats: int | None, dds: bool = True, solver: str = "auto",
        grid_sizes: bool = True) -> dict:
    torch.set_num_threads(threads)
    b, n, k = (16, 128, 16) if quick else (64, 512, 64)
    reps = repeats or (5 if quick else DEFAULT_REPEATS)
    warm_updates = 1 if quick else 3
    learner = _learner(n, k, threads, updates=warm_updates)
    learner.score_solver = solver
    out: dict = {"solver": solver, "threads": threads, "quick": quick, "B": b, "N": n, "K": k, "M": learner.value_space.dim,
                 "epsilon": learner.config.epsilon, "tol": learner.config.scoring_tol, "repeats": reps}
    _progress(f"decision B={b} N={n} K={k} x{reps}")
    infos: list = []
    decision = measure_decision(learner, b, reps, breakdown=infos)
    cold = measure_decision(learner, b, max(3, reps // 5), cold=True)
    paced = measure_decision(learner, b, reps, pause_s=REPLAN_PAUSE_S)
    out.update(decision_ms_p50=_pct(decision, 50), decision_ms_p99=_pct(decision, 99),
               decision_cold_ms_p50=_pct(cold, 50), decision_paced_ms_p50=_pct(paced, 50),
               decision_paced_ms_p99=_pct(paced, 99), **decision_breakdown(decision, infos, b, n, k))
    if solver != "pot":  # the same re-plans with prune_candidates: same selections, fewer solves
        pruned, solved = _learner(n, k, threads, updates=warm_updates, prune_candidates=True), []
        pruned_ms = measure_decision(pruned, b, reps, solved=solved)
        out.update(decision_pruned_ms_p50=_pct(pruned_ms, 50), decision_pruned_ms_p99=_pct(pruned_ms, 99),
                   pruned_solved_fraction=float(np.mean(solved)))
    # POT loop on one request, same run, same samples
    phi, s, rm, rs = _requests(learner.config, b, 1, seed=23)[0]
    _reset_warm_start(learner)
    ours = -learner.score(phi, s, rm, rs).divergence  # −S_ε, as the POT loop returns
    precision = learner.last_score_info.get("dtype", "float64")
    _progress("POT loop")
    pot_values, pot_ms = pot_loop_alignment(learner, phi, s, rm, rs, learner.config.scoring_tol)
    scale = max(float(np.max(np.abs(pot_values))), 1e-300)
    diff = float(np.max(np.abs(ours - pot_values)))
    # the float64 check: POT converged far tighter than the decision, as the reference
    tight_values, tight_ms = pot_loop_alignment(learner, phi, s, rm, rs, REFERENCE_TOL)
    tight_diff = float(np.max(np.abs(ours - tight_values)))
    out.update(pot_loop_ms_p50=pot_ms, speedup_vs_pot=pot_ms / out["decision_ms_p50"],
               alignment_scale=scale, precision=precision, pot_reference_tol=REFERENCE_TOL,
               pot_reference_ms=tight_ms, max_abs_diff_vs_pot=tight_diff,
               max_rel_diff_vs_pot=tight_diff / scale, max_abs_diff_vs_pot_same_tol=diff,
               max_rel_diff_vs_pot_same_tol=diff / scale)
    _progress("exp throughput, update")
    ns = exp_throughput_ns(torch.float32 if precision == "float32" else torch.float64)
    n_exp = kernel_exp_count(b, n, k)
    out.update(exp_ns=ns, exp_count=n_exp, exp_bound_ms=ns * n_exp / 1e6,
               ratio_to_bound=out["decision_ms_p50"] / (ns * n_exp / 1e6))
    if "decision_pruned_ms_p50" in out:
        # against the exponentials pruning itself evaluates: the solved candidates' kernels only
        out["exp_bound_pruned_ms"] = out["exp_bound_ms"] * out["pruned_solved_fraction"]
        out["ratio_to_bound_pruned"] = out["decision_pruned_ms_p50"] / out["exp_bound_pruned_ms"]
    upd_learner = _learner(n, k, threads, seed=8, updates=1)
    upd = measure_update(upd_learner, max(3, reps // 5) if not quick else 2)
    out.update(update_ms_p50=_pct(upd, 50), update_ms_p99=_pct(upd, 99))
    grid = []
    updates_by_n: dict = {}
    for gb in (16, 256):
        for gn in (256, 2048):
            if (quick or not grid_sizes) and (gb, gn) != (16, 256):
                continue
            _progress(f"grid B={gb} N={gn}")
            gl = _learner(gn, k, threads, seed=9, updates=1)
            gl.score_solver = solver
            big = gb * gn >= 256 * 2048
            g_reps = 3 if big else max(3, reps // 5)
            dec = measure_decision(gl, gb, g_reps)
            gcold = measure_decision(gl, gb, 1 if big else 3, cold=True)
            if gn not in updates_by_n:  # the update does not depend on B
                updates_by_n[gn] = measure_update(gl, 1 if gn > 512 or quick else 3)
            gupd = updates_by_n[gn]
            bound = ns * kernel_exp_count(gb, gn, k) / 1e6
            grid.append({"B": gb, "N": gn, "decision_ms_p50": _pct(dec, 50), "decision_ms_p99": _pct(dec, 99),
                         "decision_cold_ms_p50": _pct(gcold, 50), "exp_bound_ms": bound,
                         "ratio_to_bound": _pct(dec, 50) / bound, "update_ms_p50": _pct(gupd, 50)})
    out["grid"] = grid
    if dds:
        out["message_conversion_ms"] = measure_message_conversion(learner, b, reps)
        _progress("DDS e2e and ping-pong")
        out.update(measure_dds(b, n, k, reps if not quick else 5, threads, updates=warm_updates))
    return out


def table(out: dict) -> str:
    rows = [
        ("decision p50 / p99 (ms)", f"{out['decision_ms_p50']:.2f} / {out['decision_ms_p99']:.2f}"),
        ("decision cold p50 (ms)", f"{out['decision_cold_ms_p50']:.2f}"),
        ("decision paced p50 / p99", f"{out['decision_paced_ms_p50']:.2f} / {out['decision_paced_ms_p99']:.2f}  "
                                     f"({REPLAN_PAUSE_S * 1e3:.0f} ms idle between re-plans, as in the e2e run)"),
        ("POT loop (ms)", f"{out['pot_loop_ms_p50']:.1f}  (speed-up ×{out['speedup_vs_pot']:.1f}, "
                          f"tol {out['tol']:g})"),
        (f"max |Δ| vs POT @ {out['pot_reference_tol']:g}", f"{out['max_abs_diff_vs_pot']:.2e}  (rel "
                                                           f"{out['max_rel_diff_vs_pot']:.1e}; POT "
                                                           f"{out['pot_reference_ms']:.0f} ms)"),
        (f"max |Δ| vs POT @ {out['tol']:g}", f"{out['max_abs_diff_vs_pot_same_tol']:.2e}  (rel "
                                             f"{out['max_rel_diff_vs_pot_same_tol']:.1e}: POT's own "
                                             "error at that tolerance)"),
        ("exp bound (ms)", f"{out['exp_bound_ms']:.2f}  (decision / bound = {out['ratio_to_bound']:.2f}, "
                           f"{out['exp_ns']:.2f} ns/exp {out['precision']} × {out['exp_count']})"),
        ("update p50 (ms)", f"{out['update_ms_p50']:.1f}"),
    ]
    if "decision_breakdown_ms" in out:
        parts = out["decision_breakdown_ms"]
        rows.insert(2, ("decision parts p50 (ms)", "  ".join(f"{name[:-3]} {value:.2f}" for name, value in parts.items())
                        + f"  ({out['iterations_cross_mean']:.1f} iterations, "
                          f"{out['cross_ns_per_entry_iteration']:.3f} ns/entry/iteration)"))
    if "decision_pruned_ms_p50" in out:
        rows.insert(2, ("pruned p50 / p99 (ms)", f"{out['decision_pruned_ms_p50']:.2f} / "
                        f"{out['decision_pruned_ms_p99']:.2f}  ({100 * out['pruned_solved_fraction']:.0f} % of "
                        f"candidates solved; / its own exp bound {out['exp_bound_pruned_ms']:.2f} ms = "
                        f"{out['ratio_to_bound_pruned']:.1f})"))
    if "e2e_ms_p50" in out:
        rows += [("e2e p50 / p99 (ms)", f"{out['e2e_ms_p50']:.2f} / {out['e2e_ms_p99']:.2f}  (in the "
                                         f"selector {out['e2e_selector_compute_ms_p50']:.2f} / "
                                         f"{out['e2e_selector_compute_ms_p99']:.2f})"),
                 ("DDS ping-pong p99 (ms)", f"{out['dds_pingpong_ms_p99']:.2f}  (e2e budget p99 = "
                  f"{out['dds_pingpong_ms_p99'] + out['decision_ms_p99'] + 1:.2f})"),
                 ("message round trip (ms)", f"{out['dds_message_roundtrip_ms_p50']:.2f} / "
                  f"{out['dds_message_roundtrip_ms_p99']:.2f}  (canned selection; e2e overhead "
                  f"{out['e2e_overhead_ms_p50']:.2f} / {out['e2e_overhead_ms_p99']:.2f})"),
                 ("… as serialised bytes (ms)", f"{out['dds_serialized_roundtrip_ms_p50']:.2f} / "
                  f"{out['dds_serialized_roundtrip_ms_p99']:.2f}  (DDS alone at these sizes)"),
                 ("message conversion (ms)", "  ".join(f"{name} {ms:.2f}" for name, ms
                                                       in out["message_conversion_ms"].items())),
                 ("RSS (MB)", ", ".join(f"{k} {v:.0f}" for k, v in out["rss_mb"].items()))]
    lines = [f"bench ({out['solver']}): B={out['B']} N={out['N']} K={out['K']} M={out['M']} ε={out['epsilon']} "
             f"threads={out['threads']}", ""]
    lines += [f"  {name:26s} {value}" for name, value in rows]
    lines += ["", "  B     N     decision p50  p99     cold p50   exp bound  ratio  update p50"]
    for g in out["grid"]:
        lines.append(f"  {g['B']:<5d} {g['N']:<5d} {g['decision_ms_p50']:9.2f}  {g['decision_ms_p99']:8.2f}  "
                     f"{g['decision_cold_ms_p50']:8.2f}  {g['exp_bound_ms']:9.2f}  {g['ratio_to_bound']:5.2f}  "
                     f"{g['update_ms_p50']:9.1f}")
    return "\n".join(lines)


_PART_LABELS = {"sampling_ms": "Dirichlet sampling", "kernel_ms": "forming kernels (matmul + exp)",
                "cross_ms": "cross iterations", "self_ms": "self iterations", "other_ms": "the rest"}


def _legend_below(ax) -> None:
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)


def plot(out: dict, path: Path) -> None:
    """The figures as a PNG: where a decision's time goes against the exp bound, what an e2e
    request adds to the decision, and how a decision grows with B and N."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_grid = len({(g["B"], g["N"]) for g in out["grid"]}) > 1
    panels = 1 + ("e2e_ms_p50" in out) + has_grid
    fig, axes = plt.subplots(1, panels, figsize=(5.4 * panels, 4.4), squeeze=False)
    axes = list(axes[0])
    ax = axes.pop(0)
    colours = dict(zip(_PART_LABELS, plt.get_cmap("tab10").colors))
    parts = out.get("decision_breakdown_ms") or {"other_ms": out["decision_ms_p50"]}
    bars = [("decision", [(parts[part], colours[part], _PART_LABELS[part])
                          for part in _PART_LABELS if part in parts])]
    if "decision_pruned_ms_p50" in out:
        bars.append(("pruned", [(out["decision_pruned_ms_p50"], "tab:olive", "with prune_candidates")]))
    bars.append(("exp bound", [(out["exp_bound_ms"], "tab:gray", "the exponentials alone")]))
    for row, (_, segments) in enumerate(bars):
        left = 0.0
        for ms, colour, label in segments:
            ax.barh(row, ms, left=left, color=colour, label=label)
            left += ms
        ax.text(left, row, f" {left:.2f} ms", va="center", fontsize=8)
    ax.axvline(3 * out["exp_bound_ms"], color="k", ls="--", lw=1, label="target: 3 × exp bound")
    ax.set_yticks(range(len(bars)), [name for name, _ in bars])
    ax.invert_yaxis()
    ax.set_xlabel("ms (median)")
    ax.set_title(f"Decision, B={out['B']} N={out['N']} K={out['K']}", fontsize=10)
    _legend_below(ax)
    if "e2e_ms_p50" in out:
        ax = axes.pop(0)
        trip = out["dds_message_roundtrip_ms_p50"]
        wire = min(trip, out.get("dds_serialized_roundtrip_ms_p50", trip))
        compute, hot = out["e2e_selector_compute_ms_p50"], out["decision_ms_p50"]
        paced = min(compute, max(hot, out.get("decision_paced_ms_p50", hot)))
        left = 0.0
        for ms, label, colour in ((min(hot, compute), "decision, back to back", "tab:blue"),
                                  (paced - min(hot, compute), "decision after an idle (paced)", "tab:cyan"),
                                  (compute - paced, "rest of the selector's compute", "tab:purple"),
                                  (wire, "DDS round trip of these messages' bytes", "tab:orange"),
                                  (trip - wire, "rclpy's message conversion (round trip)", "tab:red"),
                                  (max(0.0, out["e2e_overhead_ms_p50"] - trip), "rest of the node", "tab:gray")):
            ax.barh(0, ms, left=left, color=colour, label=label)
            left += ms
        ax.barh(1, out["dds_pingpong_ms_p50"], color="tab:green", label="DDS ping-pong")
        budget = out["dds_pingpong_ms_p99"] + out["decision_ms_p99"] + 1.0
        ax.plot([out["e2e_ms_p99"]], [0], "kv", label=f"e2e p99 {out['e2e_ms_p99']:.2f} ms")
        ax.axvline(budget, color="k", ls="--", lw=1, label=f"p99 budget {budget:.2f} ms")
        ax.set_yticks([0, 1], ["e2e", "ping-pong"])
        ax.invert_yaxis()
        ax.set_xlabel("ms (median)")
        ax.set_title("Planner → selection over DDS", fontsize=10)
        _legend_below(ax)
    if has_grid:
        ax = axes.pop(0)
        sizes = sorted({g["N"] for g in out["grid"]})
        for b, marker in ((16, "o"), (256, "s")):
            rows = sorted((g for g in out["grid"] if g["B"] == b), key=lambda g: g["N"])
            ax.loglog([g["N"] for g in rows], [g["decision_ms_p50"] for g in rows], marker + "-", label=f"B={b}")
            ax.loglog([g["N"] for g in rows], [g["exp_bound_ms"] for g in rows], marker + ":", color="gray",
                      label=f"B={b} exp bound")
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.minorticks_off()
        ax.set_xlabel("N particles")
        ax.set_ylabel("decision ms (median)")
        ax.set_title(f"Growth, K={out['K']}", fontsize=10)
        _legend_below(ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """``moral-compass bench``; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--echo"]:
        return echo_main()
    parser = argparse.ArgumentParser(prog="moral-compass bench", description=description(__doc__))
    parser.add_argument("--out", required=True, help="JSON file to write")
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (a test)")
    parser.add_argument("--threads", type=int, choices=(1, 2), default=2, help="torch/OpenMP threads")
    parser.add_argument("--repeats", type=int, default=None, help=f"decision and e2e repeats (default {DEFAULT_REPEATS}; quick 5)")
    parser.add_argument("--solver", choices=("auto", "pot"), default="auto",
                        help="Step 1 solver: auto (kernel domain) or pot (the previous POT path, for before/after)")
    parser.add_argument("--small-grid", action="store_true", help="grid: only B=16, N=256")
    parser.add_argument("--no-dds", action="store_true", help="skip the DDS e2e / ping-pong part")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    out = run(args.quick, args.threads, args.repeats, dds=not args.no_dds, solver=args.solver,
              grid_sizes=not args.small_grid)
    out["bench_seconds"] = time.perf_counter() - started
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2, sort_keys=True))
    figure = Path(args.out).with_suffix(".png")
    plot(out, figure)
    print(table(out))
    print(f"\nwrote {args.out} and {figure} ({out['bench_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
