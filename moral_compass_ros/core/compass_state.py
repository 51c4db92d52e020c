# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The compass node's whole learning state: the shared learner, optional per-operator learners
(so disagreement is shown rather than averaged away) and who moved the compass how much.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .config import LearnerConfig
from .compass import Compass
from .events import CompassPull, FeedbackEvent
from .learner import DynamicValueLearner
from .results import UpdateResult
from .pluralism import criteria_pluralism, movement_shares, origin_pluralism
from .sinkhorn import sinkhorn_divergence

STATE_FORMAT = 1
ANONYMOUS = "anonymous"


class CompassModel:
    """Shared learner + per-operator learners + contribution tallies, snapshotted together.

    Parameters
    ----------
    config : LearnerConfig
    per_operator : bool
        Also keep one learner per operator, fed only that operator's answers.
    """

    def __init__(self, config: LearnerConfig, per_operator: bool = False):
        self.config = config
        self.per_operator = bool(per_operator)
        self.learner = DynamicValueLearner(config)
        self.operator_learners: dict[str, DynamicValueLearner] = {}
        self.contributions: dict[str, float] = {}
        self.operator_events: dict[str, int] = {}

    @property
    def version(self) -> int:
        """Version of the shared compass."""
        return self.learner.version

    def update(self, event: FeedbackEvent) -> UpdateResult:
        """Apply ``event`` to the shared learner (and its operator's learner).

        The operator's contribution grows by ``event.weight * S_eps(q_{t+1}, q_t)``.
        """
        result = self.learner.update(event)
        if result.applied:
            operator = event.operator or ANONYMOUS
            moved = result.compass_moved if np.isfinite(result.compass_moved) else 0.0
            self.contributions[operator] = self.contributions.get(
                operator, 0.0
            ) + event.weight * max(moved, 0.0)
            self.operator_events[operator] = self.operator_events.get(operator, 0) + 1
            if self.per_operator:
                own = self.operator_learners.setdefault(operator, DynamicValueLearner(self.config))
                own.update(event)
        return result

    def apply_pull(self, pull: CompassPull) -> None:
        """Replace the shared compass by a social pull's result (version + 1); the per-operator
        compasses are each operator's own and are not pulled."""
        self.learner.set_compass(Compass(pull.particles, pull.weights), self.learner.version + 1)

    def preview_move(self, event: FeedbackEvent) -> float:
        """S_eps by which ``event`` would move the shared compass, without changing anything."""
        trial = DynamicValueLearner.from_state_dict(self.config, self.learner.state_dict())
        return float(trial.update(event).compass_moved)

    def measures(self) -> dict[str, Any]:
        """Pluralism measures of the current state (definitions in doc/values.md).

        Returns
        -------
        dict
            ``origin_pluralism``, ``criteria_pluralism``, ``disagreement`` (mean pairwise S_eps
            between per-operator compasses; NaN with fewer than two), ``movement_share`` and
            ``operator_events`` per operator, ``operator_means`` (per-operator compass means).
        """
        operators = sorted(self.operator_learners)
        disagreement = float("nan")
        if len(operators) >= 2:
            pairs = [(i, j) for i in range(len(operators)) for j in range(i + 1, len(operators))]
            clouds = [self.operator_learners[o].compass.to_arrays() for o in operators]
            x = np.stack([clouds[i][0] for i, _ in pairs])
            a = np.stack([clouds[i][1] for i, _ in pairs])
            y = np.stack([clouds[j][0] for _, j in pairs])
            b = np.stack([clouds[j][1] for _, j in pairs])
            divergences = sinkhorn_divergence(x, a, y, b, self.config.epsilon, self.config.cost)
            disagreement = float(np.mean(np.asarray(divergences)))
        return {
            "origin_pluralism": origin_pluralism(self.contributions),
            "criteria_pluralism": criteria_pluralism(self.learner.compass.mean),
            "disagreement": disagreement,
            "movement_share": movement_shares(self.contributions),
            "operator_events": dict(self.operator_events),
            "operator_means": {
                o: self.operator_learners[o].compass.mean.tolist() for o in operators
            },
        }

    def state_dict(self) -> dict[str, Any]:
        """Everything, as nested plain data (see :meth:`DynamicValueLearner.state_dict`)."""
        return {
            "format": STATE_FORMAT,
            "per_operator": self.per_operator,
            "shared": self.learner.state_dict(),
            "operators": {
                o: learner.state_dict() for o, learner in self.operator_learners.items()
            },
            "contributions": dict(self.contributions),
            "operator_events": dict(self.operator_events),
        }

    @classmethod
    def from_state_dict(
        cls, config: LearnerConfig, state: dict[str, Any], per_operator: bool = False
    ) -> "CompassModel":
        """Rebuild from :meth:`state_dict` (raises ``ValueError`` when it does not fit)."""
        if int(state.get("format", -1)) != STATE_FORMAT:
            raise ValueError(f"unsupported compass state format {state.get('format')!r}")
        if bool(state["per_operator"]) != bool(per_operator):
            raise ValueError(
                "the snapshot was taken with per_operator="
                f"{bool(state['per_operator'])}, the node runs with {per_operator}"
            )
        model = cls(config, per_operator)
        model.learner = DynamicValueLearner.from_state_dict(config, state["shared"])
        model.operator_learners = {
            o: DynamicValueLearner.from_state_dict(config, s)
            for o, s in state["operators"].items()
        }
        model.contributions = {o: float(v) for o, v in state["contributions"].items()}
        model.operator_events = {o: int(v) for o, v in state["operator_events"].items()}
        return model
