# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Deterministic offline replay: re-run the selector and the compass on a recorded session.

The replay holds two learners, as the robot does: the *compass* learner (compass_node: applies
every ``HumanFeedback``) and a *scorer* replica (action_selector_node: loads the compass and the
model of one version and scores ``CandidateActions`` against it). Both are built from the same
parameters the nodes were started with, through the same core and the same conversions.

Causal order
------------
A recorded ``ActionSelection`` names the compass version it was scored against. Receive times
alone do not fix that order (an answer can reach the compass node just before or just after a
request reaches the selector), so each request with a recorded selection is scored against the
learner state whose version equals the recorded ``compass_version``: answers are applied, in
their recorded order, until the compass reaches that version. A request without a recorded
selection is scored after every answer received before it. With the recorded parameters this
reproduces every selection and every compass version exactly.

With changed parameters ("what if"), the position of each request in the answer stream stays
the recorded one (counted in valid, new answers, which does not depend on the parameters) and
the metrics report agreement with the recorded run instead of exactness.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

import numpy as np
import yaml

from moral_compass_ros import topics
from moral_compass_ros.bag._reader import BagContents, BagError, BagMessage
from moral_compass_ros.core import DynamicValueLearner, FingerprintLibrary, LearnerConfig
from moral_compass_ros.graph import names_node
from moral_compass_ros.metrics import approval_quality

PKG = "moral_compass_ros/msg/"
ROLES = {  # role -> (topic name in topics.py, message type)
    "candidates": (topics.CANDIDATES, PKG + "CandidateActions"),
    "selection": (topics.SELECTION, PKG + "ActionSelection"),
    "feedback": (topics.FEEDBACK, PKG + "HumanFeedback"),
    "compass": (topics.COMPASS, PKG + "MoralCompass"),
    "model": (topics.MODEL, PKG + "ModelParameters"),
    "ack": (topics.FEEDBACK_ACK, PKG + "FeedbackAck"),
}
SELECTOR_FIELDS = ("veto_ids", "veto_label_substrings", "fingerprint_library")
EXACT_TOLERANCE = 1e-12


class ParameterError(ValueError):
    """Parameters that cannot configure a replay (bad file, unknown key, invalid value)."""


@dataclass(frozen=True)
class ReplayParameters:
    """Everything that configures a replay.

    Attributes
    ----------
    compass : LearnerConfig
        The compass node's learner configuration (applies the answers).
    selector : LearnerConfig
        The action selector's learner configuration (scores the requests).
    veto_ids : tuple of str
    veto_label_substrings : tuple of str
    fingerprint_library : str
        The selector's fingerprint library file ("" = none).
    source : str
        Where the parameters came from (for the report).
    overrides : dict
        The "what if" changes (empty for a faithful replay).
    """

    compass: LearnerConfig
    selector: LearnerConfig
    veto_ids: tuple = ()
    veto_label_substrings: tuple = ()
    fingerprint_library: str = ""
    source: str = ""
    overrides: dict = field(default_factory=dict)


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` → ``(key, value)`` with the value read as YAML (``0.5``, ``seek``, ``[a]``).

    Raises
    ------
    ParameterError
        When ``text`` has no ``=`` or an empty key.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ParameterError(f"--set expects key=value, got {text!r}")
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        parsed = value
    return key.strip(), parsed


def _sections(document: Any, source: str) -> dict:
    if not isinstance(document, dict):
        raise ParameterError(
            f"{source}: not a ROS parameters file (expected a mapping of node "
            "names to ros__parameters)"
        )
    sections = {}
    for node, body in document.items():
        if isinstance(body, dict) and isinstance(body.get("ros__parameters"), dict):
            sections[str(node)] = body["ros__parameters"]
    if not sections:
        raise ParameterError(f"{source}: no ros__parameters section found")
    return sections


def build_parameters(
    document: Any, source: str, overrides: Optional[Mapping[str, Any]] = None
) -> ReplayParameters:
    """The :class:`ReplayParameters` of a ROS parameters document plus "what if" overrides.

    Parameters
    ----------
    document : dict
        Parsed YAML with ``<node>: ros__parameters:`` sections (``/**`` applies to every node;
        a node's own section may be keyed ``name``, ``/name`` or ``/**/name``).
    source : str
        Named in error messages and in the report.
    overrides : mapping, optional
        ``{field: value}`` applied to both learners (learner fields) or to the selector
        (``veto_ids``, ``veto_label_substrings``).

    Raises
    ------
    ParameterError
        Unknown override key, or a configuration the core refuses (with its reason).
    """
    sections = _sections(document, source)
    names = {f.name for f in dataclasses.fields(LearnerConfig)}
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - names - set(SELECTOR_FIELDS))
    if unknown:
        raise ParameterError(
            f"unknown parameter(s) {unknown}; known: {sorted(names | set(SELECTOR_FIELDS))}"
        )

    def merged(node: str) -> dict:  # the /** section, then the node's own, as rcl applies them
        values = dict(sections.get("/**", {}))
        for key, section in sections.items():
            if names_node(key, node):
                values.update(section)
        return values

    def config(values: dict, who: str) -> LearnerConfig:
        kwargs = {
            k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in names
        }
        kwargs.update(
            {
                k: (tuple(v) if isinstance(v, list) else v)
                for k, v in overrides.items()
                if k in names
            }
        )
        try:
            return LearnerConfig(**kwargs)
        except (TypeError, ValueError) as error:
            raise ParameterError(f"{source}: invalid {who} parameters: {error}") from error

    selector_values = merged("action_selector_node")
    selector_values.update({k: v for k, v in overrides.items() if k in SELECTOR_FIELDS})

    def strings(key: str) -> tuple:
        value = selector_values.get(key, [])
        value = [value] if isinstance(value, str) else list(value or [])
        return tuple(str(v) for v in value if str(v))

    return ReplayParameters(
        compass=config(merged("compass_node"), "compass_node"),
        selector=config(selector_values, "action_selector_node"),
        veto_ids=strings("veto_ids"),
        veto_label_substrings=strings("veto_label_substrings"),
        fingerprint_library=str(selector_values.get("fingerprint_library", "") or ""),
        source=source,
        overrides=overrides,
    )


def find_parameters(
    bag_path: Path, explicit: Optional[Path], custom_data: Mapping[str, str], default: Path
) -> tuple[Any, str]:
    """Choose the parameters of a replay and say which.

    Order: ``explicit`` (``--params``); the YAML stored in the bag's ``custom_data``
    (``moral_compass_ros.params``, written by ``moral-compass record --params``);
    ``params.yaml`` beside the bag (the demo writes ``runs/<ts>/params.yaml``); ``default``.

    Returns
    -------
    document : dict
        The parsed YAML.
    source : str
        A sentence naming where it came from.

    Raises
    ------
    ParameterError
        An unreadable or invalid YAML file.
    """

    def load(path: Path) -> Any:
        try:
            return yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise ParameterError(f"cannot read {path}: {error.strerror or error}") from error
        except yaml.YAMLError as error:
            raise ParameterError(f"{path} is not valid YAML: {error}") from error

    if explicit is not None:
        return load(explicit), f"{explicit} (--params)"
    stored = custom_data.get(PARAMS_KEY)
    if stored:
        try:
            return yaml.safe_load(stored), "the parameters stored in the bag's metadata"
        except yaml.YAMLError as error:
            raise ParameterError(
                f"the parameters stored in the bag are not valid YAML: {error}"
            ) from error
    bag_dir = bag_path if bag_path.is_dir() else bag_path.parent
    beside = bag_dir.parent / "params.yaml"
    if beside.exists():
        return load(beside), f"{beside} (beside the bag)"
    return load(default), f"{default} (package default; no params.yaml beside the bag)"


PARAMS_KEY = "moral_compass_ros.params"


# ====================================================================== bag -> roles
def _namespace_of(topic: str, name: str) -> Optional[str]:
    if topic == "/" + name:
        return ""
    if topic.endswith("/" + name):
        return topic[: -len(name) - 1]
    return None


def split_roles(contents: BagContents, namespace: Optional[str] = None) -> tuple[dict, str]:
    """Group the bag's messages by role (candidates, selection, feedback, ...).

    Parameters
    ----------
    contents : BagContents
    namespace : str, optional
        The robot namespace to replay (``/robot_1``); needed only when the bag holds several.

    Returns
    -------
    roles : dict
        ``{role: [BagMessage, ...]}`` in receive order.
    namespace : str

    Raises
    ------
    BagError
        No candidates and no feedback of the package in the bag, or several namespaces.
    """
    found: dict[str, set] = collections.defaultdict(set)
    for topic, (msgtype, _) in contents.topics.items():
        for role, (name, expected) in ROLES.items():
            ns = _namespace_of(topic, name)
            if ns is not None and msgtype == expected:
                found[ns].add(role)
    if namespace is not None:
        namespace = "/" + namespace.strip("/") if namespace.strip("/") else ""
    usable = sorted(ns for ns, roles in found.items() if roles & {"candidates", "feedback"})
    if not usable:
        names = sorted(contents.topics)
        listed = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        raise BagError(
            "not a moral_compass_ros recording: no planner candidates or feedback "
            f"(its topics: {listed or 'none'})"
        )
    if namespace is None:
        if len(usable) > 1:
            raise BagError(
                "the bag holds several robots; choose one with --namespace: "
                + ", ".join(ns or "/" for ns in usable)
            )
        namespace = usable[0]
    elif namespace not in usable:
        raise BagError(
            f"namespace {namespace or '/'} has no candidates or feedback in the bag; "
            f"it has: {', '.join(ns or '/' for ns in usable)}"
        )
    wanted = {f"{namespace}/{name}": role for role, (name, _) in ROLES.items()}
    roles: dict[str, list] = {role: [] for role in ROLES}
    for message in contents.messages:
        role = wanted.get(message.topic)
        if role is not None and message.msgtype == ROLES[role][1]:
            roles[role].append(message)
    return roles, namespace


# ====================================================================== results
@dataclass
class RequestOutcome:
    """One replayed request and what the recording says about it."""

    request_id: str
    timestamp: int
    replayed_selected: str
    replayed_version: int
    recorded_selected: Optional[str] = None
    recorded_version: Optional[int] = None
    max_total_diff: float = math.nan
    predicted: dict = field(default_factory=dict)  # candidate id -> replayed ŷ
    recorded_predicted: dict = field(default_factory=dict)


@dataclass
class ReplayResult:
    """Everything a replay produced (see :func:`metrics` for the summary).

    Attributes
    ----------
    requests : list of RequestOutcome
    compass_means : dict
        ``{version: mean (list, length M)}`` of the replayed compass.
    recorded_means : dict
        ``{version: mean}`` of the recorded ``MoralCompass`` messages.
    recorded_particles, replayed_particles : dict
        ``{version: (particles, weights)}`` for the exactness check.
    answers : list of dict
        ``{feedback_id, approved, predicted, recorded_predicted, version}`` per applied answer.
    output : list of tuple
        ``(role, timestamp ns, rclpy message)`` for the output bag.
    warnings : list of str
    skipped : dict
        ``{reason: count}`` of messages that could not be used.
    value_names : tuple
    exact : bool
        True for a faithful replay (no overrides).
    """

    requests: list = field(default_factory=list)
    compass_means: dict = field(default_factory=dict)
    recorded_means: dict = field(default_factory=dict)
    recorded_particles: dict = field(default_factory=dict)
    replayed_particles: dict = field(default_factory=dict)
    answers: list = field(default_factory=list)
    output: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    skipped: dict = field(default_factory=lambda: collections.Counter())
    value_names: tuple = ()
    exact: bool = True
    namespace: str = ""
    start_version: int = 0


class _Replayer:
    def __init__(self, params: ReplayParameters, result: ReplayResult, cards_hash: str):
        from moral_compass_ros import conversions

        self.conv = conversions
        self.params = params
        self.result = result
        self.cards_hash = cards_hash
        self.learner = DynamicValueLearner(params.compass)
        self.library = None
        if params.fingerprint_library:
            try:
                self.library = FingerprintLibrary.load(
                    params.fingerprint_library, params.selector.value_names
                )
            except ValueError as error:
                raise ParameterError(f"the selector's {error}") from None
        self.scorer: Optional[DynamicValueLearner] = None
        self.scorer_version = -1
        self.causal = 0  # position in the answer stream, in recorded versions
        self.applied_events = 0
        self.seen_ids: set[str] = set()
        cfg = params.compass
        self.dims = (cfg.feature_dim, cfg.context_dim, len(cfg.value_names))

    # ------------------------------------------------------------------ start state
    def seed_from_recording(self, compass_msg: Any, model_msg: Any) -> None:
        """Start from a recorded compass and model (a recording that began mid-session)."""
        version = int(compass_msg.version)
        self.learner.load_model_parameters(self.conv.model_from_msg(model_msg), version)
        self.learner.set_compass(self.conv.compass_from_msg(compass_msg), version)
        self.causal = version
        self.applied_events = int(compass_msg.applied_events)

    def record_compass(self, timestamp: int) -> None:
        version = self.learner.version
        compass = self.learner.compass
        self.result.compass_means.setdefault(version, compass.mean.tolist())
        particles, weights = compass.to_arrays()
        self.result.replayed_particles.setdefault(version, (particles.copy(), weights.copy()))
        msg = self.conv.compass_to_msg(
            compass, self.params.compass.value_names, version, self.applied_events, self.cards_hash
        )
        _stamp(msg, timestamp)
        self.result.output.append(("compass", timestamp, msg))

    # ------------------------------------------------------------------ answers
    def apply(self, message: BagMessage, predictions: dict) -> None:
        """Apply one recorded answer (as compass_node does); advance the causal position."""
        try:
            event = self.conv.feedback_from_msg(message.message, *self.dims)
        except ValueError as error:  # InvalidMessage is a ValueError
            self.result.skipped[f"feedback rejected: {error}"] += 1
            return
        if event.feedback_id in self.seen_ids:  # re-sent by the feedback node; applied once
            self.result.skipped[
                "duplicate answers ignored (re-sent; applied once, as compass_node does)"
            ] += 1
            return
        key = (str(message.message.request_id), event.action_id)
        predicted = predictions.get(key)
        if predicted is None:  # no replayed selection of that action: ŷ at this version
            predicted = float(
                self.learner.predict_approval(
                    np.array(event.features)[None],
                    np.array(event.context),
                    np.array(event.value_hint)[None] if event.value_hint.size else None,
                )[0]
            )
        version_before = self.learner.version
        try:
            outcome = self.learner.update(event)
        except ValueError as error:
            self.result.skipped[f"feedback rejected: {error}"] += 1
            return
        self.seen_ids.add(event.feedback_id)
        if outcome.applied:
            self.applied_events += 1
            self.causal += 1
            self.result.answers.append(
                {
                    "feedback_id": event.feedback_id,
                    "approved": bool(event.approved),
                    "predicted": predicted,
                    "recorded_predicted": predictions.get(("recorded",) + key),
                    "version": version_before,
                }
            )
            self.record_compass(message.timestamp)
        else:
            self.result.skipped[f"update not applied: {outcome.reason}"] += 1
            if not self.result.exact:
                self.causal += 1  # the recording (other parameters) may have applied it

    # ------------------------------------------------------------------ requests
    def _scorer(self) -> DynamicValueLearner:
        version = self.learner.version
        if self.scorer is None or self.scorer_version != version:
            scorer = DynamicValueLearner(self.params.selector)
            scorer.load_model_parameters(self.learner.model_parameters(), version)
            scorer.set_compass(self.learner.compass, version)
            self.scorer, self.scorer_version = scorer, version
        return self.scorer

    def score(
        self, message: BagMessage, recorded: Optional[BagMessage]
    ) -> Optional[RequestOutcome]:
        """Score one request as action_selector_node does; ``None`` when it is invalid."""
        started = time.perf_counter()
        cfg = self.params.selector
        try:
            batch, scores, vetoed, selected = self.conv.score_request(
                self._scorer(),
                message.message,
                self.library,
                self.params.veto_ids,
                self.params.veto_label_substrings,
            )
        except ValueError as error:  # InvalidMessage is a ValueError
            self.result.skipped[f"request rejected: {error}"] += 1
            return None
        selection = self.conv.selection_to_msg(
            batch,
            scores,
            selected,
            vetoed,
            cfg.information_mode,
            recorded.message.value_cards_hash if recorded is not None else self.cards_hash,
            (time.perf_counter() - started) * 1e3,
        )
        stamp = recorded.timestamp if recorded is not None else message.timestamp
        _stamp(selection, stamp)
        self.result.output.append(("selection", stamp, selection))
        outcome = RequestOutcome(
            request_id=batch.request_id,
            timestamp=message.timestamp,
            replayed_selected=batch.ids[selected] if selected >= 0 else "",
            replayed_version=int(scores.version),
            predicted={i: float(p) for i, p in zip(batch.ids, scores.predicted_approval)},
        )
        if recorded is not None:
            rec = recorded.message
            outcome.recorded_selected = str(rec.selected_id)
            outcome.recorded_version = int(rec.compass_version)
            outcome.recorded_predicted = {
                str(s.id): float(s.predicted_approval) for s in rec.scores
            }
            recorded_total = {str(s.id): float(s.total) for s in rec.scores}
            diffs = [
                abs(recorded_total[i] - float(t))
                for i, t in zip(batch.ids, scores.total)
                if i in recorded_total
            ]
            outcome.max_total_diff = max(diffs) if diffs else math.nan
        return outcome


def _stamp(msg: Any, nanoseconds: int) -> None:
    msg.header.stamp.sec = int(nanoseconds // 1_000_000_000)
    msg.header.stamp.nanosec = int(nanoseconds % 1_000_000_000)


def replay(
    contents: BagContents,
    params: ReplayParameters,
    namespace: Optional[str] = None,
    progress: Optional[Callable[[int, int], None]] = None,
) -> ReplayResult:
    """Re-run selector and compass on the recorded candidates and answers.

    Parameters
    ----------
    contents : BagContents
        From :func:`~moral_compass_ros.bag.read_bag`.
    params : ReplayParameters
        From :func:`build_parameters`; overrides make it a "what if" replay.
    namespace : str, optional
        Which robot, when the bag holds several.
    progress : callable, optional
        ``progress(done, total)`` over requests + answers.

    Returns
    -------
    ReplayResult

    Raises
    ------
    BagError
        Nothing of the package to replay.
    """
    roles, namespace = split_roles(contents, namespace)
    result = ReplayResult(
        value_names=tuple(params.compass.value_names),
        exact=not params.overrides,
        namespace=namespace,
        warnings=[],
    )
    cards_hash = ""
    for message in roles["compass"]:
        msg = message.message
        version = int(msg.version)
        cards_hash = cards_hash or str(msg.value_cards_hash)
        if version not in result.recorded_means:
            result.recorded_means[version] = [float(v) for v in msg.mean]
            n, m = len(msg.weights), len(msg.value_names)
            if n and m and len(msg.particles) == n * m:
                result.recorded_particles[version] = (
                    np.asarray(msg.particles, dtype=np.float64).reshape(n, m),
                    np.asarray(msg.weights, dtype=np.float64),
                )
    replayer = _Replayer(params, result, cards_hash)

    # Where the recording starts: the prior (version 0), or a recorded compass + model.
    if result.recorded_means and min(result.recorded_means) > 0:
        first = min(result.recorded_means)
        compass_msg = next(m.message for m in roles["compass"] if int(m.message.version) == first)
        model_msg = next(
            (m.message for m in roles["model"] if int(m.message.version) == first), None
        )
        if model_msg is not None:
            try:
                replayer.seed_from_recording(compass_msg, model_msg)
                result.warnings.append(
                    f"the recording starts at compass version {first}, not at the prior: the "
                    "replay starts from the recorded compass and model of that version; answers "
                    "before the recording (the replay window) are not in the bag, so later "
                    "versions may differ"
                )
            except ValueError as error:
                result.warnings.append(
                    f"the recording starts at compass version {first} and "
                    f"its compass/model cannot be loaded ({error}); replaying "
                    "from the prior"
                )
        else:
            result.warnings.append(
                f"the recording starts at compass version {first} without "
                "the model of that version; replaying from the prior"
            )
    result.start_version = replayer.learner.version
    replayer.record_compass(contents.messages[0].timestamp if contents.messages else 0)

    _check_recorded_parameters(roles["selection"], params, result)
    with warnings.catch_warnings():
        # rosbags decodes numeric arrays as read-only views of the bag's bytes; torch warns
        # when one reaches torch.from_numpy, although the core never writes to it.
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        _run(roles, replayer, result, progress)
    if not roles["candidates"]:
        result.warnings.append("the bag has no planner candidates: only the compass was replayed")
    if not roles["feedback"]:
        result.warnings.append("the bag has no feedback: the compass stays at its start version")
    unmatched = sum(1 for r in result.requests if r.recorded_selected is None)
    if unmatched:
        result.warnings.append(
            f"{unmatched} request(s) have no recorded selection: scored "
            "after the answers received before them"
        )
    return result


def _run(
    roles: dict,
    replayer: "_Replayer",
    result: ReplayResult,
    progress: Optional[Callable[[int, int], None]],
) -> None:
    """The replay loop: requests in recorded order, answers applied up to each causal point."""
    selections = {}
    for message in roles["selection"]:
        selections.setdefault(str(message.message.request_id), message)
    answers = collections.deque(roles["feedback"])
    total = len(roles["candidates"]) + len(answers)
    done = 0
    predictions: dict = {}

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    def apply_next() -> None:
        replayer.apply(answers.popleft(), predictions)
        step()

    for message in roles["candidates"]:
        request_id = str(message.message.request_id)
        recorded = selections.get(request_id)
        if recorded is not None:
            target = int(recorded.message.compass_version)
            while answers and replayer.causal < target:
                apply_next()
        else:
            while answers and answers[0].timestamp <= message.timestamp:
                apply_next()
        outcome = replayer.score(message, recorded)
        step()
        if outcome is None:
            continue
        result.requests.append(outcome)
        for action_id, value in outcome.predicted.items():
            predictions[(request_id, action_id)] = value
        for action_id, value in outcome.recorded_predicted.items():
            predictions[("recorded", request_id, action_id)] = value
    while answers:
        apply_next()


def _check_recorded_parameters(
    selections: list, params: ReplayParameters, result: ReplayResult
) -> None:
    """Warn when the recorded selections name other weights than the replay uses."""
    if not selections or params.overrides:
        return
    cfg = params.selector
    rec = selections[0].message
    differences = []
    for name, recorded, used in (
        ("lambda_task", rec.lambda_task, cfg.lambda_task),
        ("lambda_align", rec.lambda_align, cfg.lambda_align),
        ("lambda_info", rec.lambda_info, cfg.lambda_info),
        ("epsilon", rec.epsilon, cfg.epsilon),
    ):
        if not math.isclose(float(recorded), float(used), rel_tol=1e-12, abs_tol=1e-15):
            differences.append(f"{name} {float(recorded):g} (replay: {float(used):g})")
    if str(rec.selection_rule) != cfg.selection_rule:
        differences.append(f"selection_rule {rec.selection_rule} (replay: {cfg.selection_rule})")
    if str(rec.information_mode) != cfg.information_mode:
        differences.append(
            f"information_mode {rec.information_mode} (replay: {cfg.information_mode})"
        )
    if differences:
        result.warnings.append(
            "the recorded selections were made with other parameters than "
            f"{params.source}: "
            + ", ".join(differences)
            + "; pass the recording's params.yaml with --params"
        )


# ====================================================================== metrics
def metrics(result: ReplayResult, params: ReplayParameters, contents: BagContents) -> dict:
    """The ``metrics.json`` document of a replay (plain JSON types, NaN as ``null``)."""
    compared = [r for r in result.requests if r.recorded_selected is not None]
    agree = [r for r in compared if r.replayed_selected == r.recorded_selected]
    version_agree = [r for r in compared if r.replayed_version == r.recorded_version]
    total_diffs = [r.max_total_diff for r in compared if not math.isnan(r.max_total_diff)]
    answers = result.answers
    replayed_quality = approval_quality(
        np.array([a["predicted"] for a in answers]),
        np.array([a["approved"] for a in answers], dtype=float),
    )
    with_recorded = [a for a in answers if a["recorded_predicted"] is not None]
    recorded_quality = approval_quality(
        np.array([a["recorded_predicted"] for a in with_recorded]),
        np.array([a["approved"] for a in with_recorded], dtype=float),
    )

    common = sorted(set(result.compass_means) & set(result.recorded_means))
    mean_diffs = {
        v: float(np.max(np.abs(np.subtract(result.compass_means[v], result.recorded_means[v]))))
        for v in common
    }
    particle_diffs = []
    for v in common:
        if v in result.recorded_particles and v in result.replayed_particles:
            (rp, rw), (pp, pw) = result.recorded_particles[v], result.replayed_particles[v]
            if rp.shape == pp.shape:
                particle_diffs.append(
                    max(float(np.max(np.abs(rp - pp))), float(np.max(np.abs(rw - pw))))
                )
            else:
                particle_diffs.append(math.inf)
    max_mean_diff = max(mean_diffs.values()) if mean_diffs else math.nan
    versions = sorted(result.compass_means)
    exact_versions = (
        bool(common)
        and max_mean_diff <= EXACT_TOLERANCE
        and all(d <= EXACT_TOLERANCE for d in particle_diffs)
    )
    exact_selections = (
        bool(compared)
        and len(agree) == len(compared)
        and len(version_agree) == len(compared)
        and all(d <= EXACT_TOLERANCE for d in total_diffs)
    )
    document = {
        "bag": {
            "path": str(contents.path),
            "storage": contents.storage,
            "complete": contents.complete,
            "namespace": result.namespace or "/",
            "topics": {t: {"type": m, "messages": c} for t, (m, c) in contents.topics.items()},
        },
        "parameters": {
            "source": params.source,
            "what_if": params.overrides,
            "compass": params.compass.to_dict(),
            "selector": params.selector.to_dict(),
        },
        "mode": "exact" if result.exact else "what_if",
        "selections": {
            "replayed": len(result.requests),
            "compared_with_recorded": len(compared),
            "agree": len(agree),
            "agreement": len(agree) / len(compared) if compared else math.nan,
            "compass_version_agree": len(version_agree),
            "max_abs_total_diff": max(total_diffs) if total_diffs else math.nan,
            "reproduced_exactly": exact_selections,
            "disagreements": [
                {
                    "request_id": r.request_id,
                    "recorded": r.recorded_selected,
                    "replayed": r.replayed_selected,
                    "recorded_version": r.recorded_version,
                    "replayed_version": r.replayed_version,
                }
                for r in compared
                if r.replayed_selected != r.recorded_selected
                or r.replayed_version != r.recorded_version
            ][:50],
        },
        "approval_prediction": {"replayed": replayed_quality, "recorded": recorded_quality},
        "compass": {
            "value_names": list(result.value_names),
            "start_version": result.start_version,
            "final_version": versions[-1] if versions else None,
            "mean_per_version": {str(v): result.compass_means[v] for v in versions},
            "final_mean": result.compass_means[versions[-1]] if versions else None,
            "recorded_final_mean": (
                result.recorded_means[max(result.recorded_means)]
                if result.recorded_means
                else None
            ),
            "versions_compared": len(common),
            "recorded_versions_missing_in_replay": sorted(
                set(result.recorded_means) - set(result.compass_means)
            )[:50],
            "max_abs_mean_diff": max_mean_diff,
            "max_abs_particle_diff": max(particle_diffs) if particle_diffs else math.nan,
            "versions_reproduced_exactly": exact_versions,
        },
        "skipped": dict(result.skipped),
        "warnings": list(contents.warnings) + list(result.warnings),
    }
    return _json_safe(document)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    return value
