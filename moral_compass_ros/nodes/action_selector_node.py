# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""action_selector_node: scores every candidate action against the latest compass (Step 1).

Subscribes to the planner's ``CandidateActions``, scores each candidate for task efficacy
(Wasserstein-ball worst case), alignment (-S_eps) and information gain, and publishes an
``ActionSelection`` that carries every term of every candidate, the lambdas, epsilon, the
compass/model version and the value-cards hash. It mirrors the compass node's model from the
latched ``compass`` and ``compass/model`` topics and switches to a new version only when both
halves of it have arrived. Until then it scores against the configured prior (version 0, the
same prior the compass node starts from) and says so.
"""

from __future__ import annotations

import dataclasses
import time
from typing import NoReturn

import torch
from rclpy.node import Node

from moral_compass_ros import topics
from moral_compass_ros.conversions import (
    InvalidMessage,
    compass_from_msg,
    model_from_msg,
    score_request,
    selection_to_msg,
)
from moral_compass_ros.core import DynamicValueLearner, FingerprintLibrary
from moral_compass_ros.core.sinkhorn import warm_up_solvers
from moral_compass_ros.diagnostics import NodeHealth
from moral_compass_ros.msg import ActionSelection, CandidateActions, ModelParameters, MoralCompass
from moral_compass_ros.nodes._spin import run_node
from moral_compass_ros.parameters import (
    InvalidParameters,
    ParameterSpec,
    declare_parameters,
    learner_config,
    learner_config_check,
    learner_specs,
)
from moral_compass_ros.qos import SELECTION_QOS, STATE_QOS, STREAM_QOS

NODE_SPECS = [
    ParameterSpec(
        "veto_ids",
        [""],
        "Candidate ids never selected (hard veto); scored and "
        "reported with vetoed=true. [''] = none.",
    ),
    ParameterSpec(
        "veto_label_substrings",
        [""],
        "A candidate whose label contains one of these (case-insensitive) is vetoed. [''] = none.",
    ),
    ParameterSpec(
        "torch_threads",
        1,
        "Threads torch uses for scoring (read at start; 0 = torch's "
        "default). 1 is steadier on a small shared CPU: 2-thread OpenMP stalls when "
        "another process holds a core (doc/performance.md).",
        read_only=True,
    ),
    ParameterSpec(
        "require_compass",
        False,
        "true: refuse to select until a compass has "
        "arrived; false: score against the configured prior meanwhile.",
    ),
    ParameterSpec(
        "fingerprint_library",
        "",
        "Path of a fingerprint library (YAML/JSON: action id, "
        "label or label pattern -> value profile) used for candidates the planner sends "
        "without a value_hint; '' = none (read at start).",
        read_only=True,
    ),
]


class ActionSelectorNode(Node):
    """Scores candidate sets; never changes the compass."""

    def __init__(self, **kwargs):
        super().__init__("action_selector_node", **kwargs)
        self._params = declare_parameters(
            self, learner_specs() + NODE_SPECS, learner_config_check, self._on_parameters_changed
        )
        self._config = learner_config(self._params)
        if int(self._params["torch_threads"]) > 0:
            torch.set_num_threads(int(self._params["torch_threads"]))
        warm_up_solvers()  # compiled now: the first decision or update after launch is not slower
        self._learner = DynamicValueLearner(self._config)
        self._library = None
        if self._params["fingerprint_library"]:
            try:
                self._library = FingerprintLibrary.load(
                    self._params["fingerprint_library"], self._config.value_names
                )
            except ValueError as error:
                raise InvalidParameters(f"fingerprint_library: {error}") from None
            self.get_logger().info(
                f"fingerprint library {self._params['fingerprint_library']}: "
                f"{len(self._library)} entries"
            )
        self._health = NodeHealth(self)
        self._have_compass = False
        self._cards_hash = ""
        self._pending_compass: tuple[int, MoralCompass] | None = None
        self._pending_model: tuple[int, ModelParameters] | None = None

        self._selection_pub = self.create_publisher(
            ActionSelection, topics.SELECTION, SELECTION_QOS
        )
        self._compass_sub = self.create_subscription(
            MoralCompass, topics.COMPASS, self._on_compass, STATE_QOS
        )
        self._model_sub = self.create_subscription(
            ModelParameters, topics.MODEL, self._on_model, STATE_QOS
        )
        self._candidates_sub = self.create_subscription(
            CandidateActions, topics.CANDIDATES, self._on_candidates, STREAM_QOS
        )
        self.get_logger().info(
            "no compass received yet: scoring against the configured prior until one arrives"
            if not self._params["require_compass"]
            else "waiting for a compass before selecting"
        )

    @property
    def model_version(self) -> int:
        """Version of the compass and model the next selection is scored against."""
        return self._learner.version

    def _on_parameters_changed(self, changes: dict) -> None:
        # New lambdas / information mode take effect by rebuilding the learner around the
        # same compass and model (read-only fields cannot change).
        names = {f.name for f in dataclasses.fields(self._config)}
        if not names & set(changes):
            return
        config = learner_config(self._params)  # already holds the accepted values
        learner = DynamicValueLearner(config)
        learner.load_model_parameters(self._learner.model_parameters(), self._learner.version)
        learner.set_compass(self._learner.compass, self._learner.version)
        self._config, self._learner = config, learner
        self.get_logger().info(f"selection parameters changed: {changes}")

    def _on_compass(self, msg: MoralCompass) -> None:
        if list(msg.value_names) != list(self._config.value_names):
            self._health.problem(
                "compass",
                f"value names {list(msg.value_names)} differ from "
                f"this selector's {list(self._config.value_names)}",
            )
            return
        self._pending_compass = (int(msg.version), msg)
        self._cards_hash = msg.value_cards_hash
        self._try_switch_version()

    def _on_model(self, msg: ModelParameters) -> None:
        self._pending_model = (int(msg.version), msg)
        self._try_switch_version()

    def _try_switch_version(self) -> None:
        if self._pending_compass is None or self._pending_model is None:
            return
        (compass_version, compass_msg), (model_version, model_msg) = (
            self._pending_compass,
            self._pending_model,
        )
        if compass_version != model_version:
            return  # the other half of this version is still on its way
        if self._have_compass and compass_version <= self._learner.version:
            self._health.problem(
                "compass",
                f"version {compass_version} is not newer than {self._learner.version}; ignored",
            )
            return
        try:
            compass = compass_from_msg(compass_msg)
            self._learner.load_model_parameters(model_from_msg(model_msg), model_version)
            self._learner.set_compass(compass, compass_version)
        except (InvalidMessage, ValueError, KeyError) as error:
            self._health.problem("compass", f"version {compass_version} unusable: {error}")
            return
        if not self._have_compass:
            self.get_logger().info(f"compass received (version {compass_version})")
        self._have_compass = True
        self._health.values["version"] = str(compass_version)

    def _on_candidates(self, msg: CandidateActions) -> None:
        started = time.perf_counter()
        self._health.count("candidates.received")
        if not msg.request_id:
            self._refuse(msg, "request_id is empty: answers and replies could not name it")
            return
        if self._params["require_compass"] and not self._have_compass:
            self._refuse(msg, "no compass yet (require_compass is true)")
            return
        try:
            batch, scores, vetoed, selected = score_request(
                self._learner,
                msg,
                self._library,
                self._params["veto_ids"],
                self._params["veto_label_substrings"],
            )
        except (InvalidMessage, ValueError) as error:
            self._refuse(msg, str(error))
            return
        except ArithmeticError as error:  # a numerical failure of the solver: say so, keep serving
            self._health.error(f"request {msg.request_id!r}: scoring failed: {error!r}")
            self._refuse(msg, f"scoring failed: {error!r}", report=False)
            return
        compute_ms = (time.perf_counter() - started) * 1e3
        selection = selection_to_msg(
            batch,
            scores,
            selected,
            vetoed,
            self._config.information_mode,
            self._cards_hash,
            compute_ms,
        )
        if selected < 0:
            selection.reason = "every candidate is vetoed; nothing selected"
            self._health.problem("candidates", f"request {msg.request_id!r}: {selection.reason}")
        selection.header.stamp = self.get_clock().now().to_msg()
        self._selection_pub.publish(selection)
        self._health.count("selections.published")
        self.get_logger().debug(
            f"request {msg.request_id!r}: selected {selection.selected_id!r} "
            f"of {len(selection.scores)} (compass v{selection.compass_version}, "
            f"{compute_ms:.1f} ms)"
        )
        self._health.values["last_compute_ms"] = f"{compute_ms:.2f}"

    def _refuse(self, msg: CandidateActions, reason: str, report: bool = True) -> None:
        """Tell the planner at once that ``msg`` gets no selection, and why."""
        if report:
            self._health.problem("candidates", f"request {msg.request_id!r}: {reason}")
        refusal = ActionSelection(
            request_id=msg.request_id,
            status=ActionSelection.STATUS_REFUSED,
            reason=reason,
            information_mode=self._config.information_mode,
            compass_version=int(self._learner.version),
            value_cards_hash=self._cards_hash,
        )
        refusal.header.stamp = self.get_clock().now().to_msg()
        self._selection_pub.publish(refusal)
        self._health.count("selections.refused")


def main(args=None) -> NoReturn:
    """Entry point of ``ros2 run moral_compass_ros action_selector_node``."""
    return run_node(ActionSelectorNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
