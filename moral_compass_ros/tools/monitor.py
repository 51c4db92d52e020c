# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""A node that watches the graph for the demo: collects what the report plots, records a bag."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from rclpy.node import Node

from moral_compass_ros import topics
from moral_compass_ros.msg import (
    ActionSelection,
    CandidateActions,
    FeedbackAck,
    HumanFeedback,
    MoralCompass,
    Pluralism,
    ValueCards,
)
from moral_compass_ros.qos import FEEDBACK_QOS, SELECTION_QOS, STATE_QOS, STREAM_QOS


class GraphMonitor(Node):
    """Keeps compass versions, selections, feedback and acks; optionally records a bag.

    Parameters
    ----------
    bag_path : Path or None
        Record every topic of the package there (MCAP) when given.
    """

    def __init__(self, bag_path: Path | None = None, **kwargs):
        super().__init__("demo_monitor", **kwargs)
        self._lock = threading.Lock()
        self._compasses: list[dict] = []
        self._selections: list[dict] = []
        self._feedback: list[dict] = []
        self._acks: list[dict] = []
        self._cards: list[dict] = []
        self._pluralism: list[dict] = []
        self._last_compass: MoralCompass | None = None
        self._last_selection: ActionSelection | None = None
        self._labels: dict[str, dict[str, str]] = {}  # request id -> candidate id -> label
        self._recorder = None
        if bag_path is not None:
            from moral_compass_ros.bag import BagRecorder

            self._recorder = BagRecorder(self, bag_path, storage="mcap")
        self._subs = [
            self.create_subscription(
                CandidateActions, topics.CANDIDATES, self._on_candidates, STREAM_QOS
            ),
            self.create_subscription(MoralCompass, topics.COMPASS, self._on_compass, STATE_QOS),
            self.create_subscription(
                ActionSelection, topics.SELECTION, self._on_selection, SELECTION_QOS
            ),
            self.create_subscription(
                HumanFeedback, topics.FEEDBACK, self._on_feedback, FEEDBACK_QOS
            ),
            self.create_subscription(FeedbackAck, topics.FEEDBACK_ACK, self._on_ack, FEEDBACK_QOS),
            self.create_subscription(ValueCards, topics.VALUE_CARDS, self._on_cards, STATE_QOS),
            self.create_subscription(Pluralism, topics.PLURALISM, self._on_pluralism, STATE_QOS),
        ]

    def _on_candidates(self, msg: CandidateActions) -> None:
        with self._lock:
            self._labels[msg.request_id] = {c.id: c.label for c in msg.candidates}

    def _on_compass(self, msg: MoralCompass) -> None:
        n, m = len(msg.weights), len(msg.value_names)
        with self._lock:
            self._last_compass = msg
            self._compasses.append(
                {
                    "version": int(msg.version),
                    "value_names": list(msg.value_names),
                    "mean": list(msg.mean),
                    "entropy": float(msg.entropy),
                    "ess": float(msg.effective_sample_size),
                    "particles": np.asarray(msg.particles).reshape(n, m).tolist(),
                    "weights": list(msg.weights),
                    "value_cards_hash": msg.value_cards_hash,
                }
            )

    def _on_selection(self, msg: ActionSelection) -> None:
        with self._lock:
            self._last_selection = msg
            self._selections.append(
                {
                    "request_id": msg.request_id,
                    "status": int(msg.status),
                    "reason": msg.reason,
                    "selected_id": msg.selected_id,
                    "selected_label": msg.selected.label,
                    "compass_version": int(msg.compass_version),
                    "labels": self._labels.pop(msg.request_id, {}),
                    "compute_ms": float(msg.compute_ms),
                    "information_mode": msg.information_mode,
                    "selection_rule": msg.selection_rule,
                    "lambdas": {
                        "task": msg.lambda_task,
                        "align": msg.lambda_align,
                        "info": msg.lambda_info,
                    },
                    "epsilon": msg.epsilon,
                    "scores": [
                        {
                            "id": s.id,
                            "total": s.total,
                            "task_cost": s.task_cost,
                            "task_term": s.task_term,
                            "alignment": s.alignment,
                            "alignment_is_bound": s.alignment_is_bound,
                            "divergence": s.divergence,
                            "residual": s.residual,
                            "fingerprint_source": s.fingerprint_source,
                            "information_gain": s.information_gain,
                            "predicted_approval": s.predicted_approval,
                            "vetoed": s.vetoed,
                            "fingerprint_mean": list(s.fingerprint_mean),
                        }
                        for s in msg.scores
                    ],
                    "value_cards_hash": msg.value_cards_hash,
                }
            )

    def _on_feedback(self, msg: HumanFeedback) -> None:
        with self._lock:
            self._feedback.append(
                {
                    "feedback_id": msg.feedback_id,
                    "request_id": msg.request_id,
                    "approved": bool(msg.approved),
                    "source": msg.source,
                    "operator_id": msg.operator_id,
                    "action_id": msg.action.id,
                }
            )

    def _on_ack(self, msg: FeedbackAck) -> None:
        with self._lock:
            self._acks.append(
                {
                    "feedback_id": msg.feedback_id,
                    "status": int(msg.status),
                    "reason": msg.reason,
                    "compass_version": int(msg.compass_version),
                }
            )

    def _on_cards(self, msg: ValueCards) -> None:
        with self._lock:
            self._cards = [
                {
                    "value_name": c.value_name,
                    "criterion": c.criterion,
                    "origin": c.origin,
                    "measurement": c.measurement,
                    "aggregation": c.aggregation,
                    "legitimacy": c.legitimacy,
                    "version": c.version,
                    "author": c.author,
                }
                for c in msg.cards
            ]
            self._cards_hash = msg.hash

    def _on_pluralism(self, msg: Pluralism) -> None:
        m = len(msg.operator_means) // max(1, len(msg.operators))
        with self._lock:
            self._pluralism.append(
                {
                    "version": int(msg.version),
                    "origin_pluralism": msg.origin_pluralism,
                    "criteria_pluralism": msg.criteria_pluralism,
                    "disagreement": msg.disagreement,
                    "operators": list(msg.operators),
                    "movement_share": list(msg.movement_share),
                    "operator_events": [int(n) for n in msg.operator_events],
                    "operator_means": np.asarray(msg.operator_means).reshape(-1, m).tolist()
                    if m
                    else [],
                    "refused_by_policy": int(msg.refused_by_policy),
                }
            )

    def version(self) -> int:
        """The newest compass version seen (-1 before the first)."""
        with self._lock:
            return int(self._last_compass.version) if self._last_compass else -1

    def compass_mean(self):
        """The newest compass mean, or ``None``."""
        with self._lock:
            return list(self._last_compass.mean) if self._last_compass else None

    def unacknowledged(self) -> int:
        """Feedback events seen on ``feedback`` that no acknowledgement answered yet."""
        with self._lock:
            acked = {a["feedback_id"] for a in self._acks}
            return len({f["feedback_id"] for f in self._feedback} - acked)

    def value_names(self) -> list[str]:
        """The value names of the newest compass."""
        with self._lock:
            return list(self._last_compass.value_names) if self._last_compass else []

    def collected(self) -> dict:
        """Everything seen so far (plain data for the report)."""
        with self._lock:
            return {
                "compasses": list(self._compasses),
                "selections": list(self._selections),
                "feedback": list(self._feedback),
                "acks": list(self._acks),
                "value_cards": list(self._cards),
                "pluralism": list(self._pluralism),
                "value_cards_hash": getattr(self, "_cards_hash", ""),
                # the messages themselves, for the rviz rendering (not JSON)
                "last_compass_msg": self._last_compass,
                "last_selection_msg": self._last_selection,
            }

    def close(self) -> None:
        """Finish the bag (if recording)."""
        if self._recorder is not None:
            self._recorder.close()
