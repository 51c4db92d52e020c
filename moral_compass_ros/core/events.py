# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The feedback event: the unit of learning, journaling and replay.

A ``FeedbackEvent`` is self-contained: it carries the executed action's features and the
context it was chosen in, so that the learner, the journal and an offline replay need nothing
else to apply it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class FeedbackEvent:
    """One human answer to one executed action.

    Parameters
    ----------
    feedback_id : str
        Globally unique id; the learner applies each id at most once (idempotency).
    action_id : str
        Id of the executed candidate action.
    features : ndarray, shape (F,)
        Feature vector phi(a) of the executed action.
    context : ndarray, shape (C,)
        Context vector s_t in which the action was chosen.
    approved : bool
        The explicit binary response y_t (True = thumbs up).
    task_reward : float
        Observed task reward r_t^task, or NaN when none was observed.
    value_hint : ndarray, shape (M,) or (0,)
        Optional value-profile hint the planner sent with the action (a point on the
        simplex), or an empty array.
    weight : float
        Weight the legitimacy policy gives this answer (1.0 = a full answer).
    operator : str
        Who answered.
    source : str
        Which input device the answer came from (``joy``, ``tablet``, ``topic``, ``sim``).
    stamp : float
        Time of the answer, seconds since the epoch (or simulated time).
    responses : ndarray, shape (R,)
        Optional extra response channels x(a_t) beyond y.
    corrects : str
        ``feedback_id`` of the earlier answer this one replaced before it was sent ("" = none):
        a correction is journaled as such, never as an extra answer.
    """

    feedback_id: str
    action_id: str
    features: np.ndarray
    context: np.ndarray
    approved: bool
    task_reward: float = math.nan
    value_hint: np.ndarray = field(default_factory=lambda: np.zeros(0))
    weight: float = 1.0
    operator: str = ""
    source: str = ""
    stamp: float = 0.0
    responses: np.ndarray = field(default_factory=lambda: np.zeros(0))
    corrects: str = ""

    def __post_init__(self) -> None:
        for name in ("features", "context", "value_hint", "responses"):
            value = np.asarray(getattr(self, name), dtype=np.float64)
            if value.ndim != 1:
                raise ValueError(f"FeedbackEvent.{name} must be 1-D, got shape {value.shape}")
            object.__setattr__(self, name, value)
        if not self.feedback_id:
            raise ValueError("FeedbackEvent.feedback_id must be a non-empty string")
        if not np.all(np.isfinite(self.features)):
            raise ValueError("FeedbackEvent.features contains NaN or inf")
        if not np.all(np.isfinite(self.context)):
            raise ValueError("FeedbackEvent.context contains NaN or inf")
        if not (math.isfinite(self.weight) and self.weight >= 0.0):
            raise ValueError(f"FeedbackEvent.weight must be finite and >= 0, got {self.weight}")
        if math.isinf(self.task_reward):
            raise ValueError("FeedbackEvent.task_reward must be finite or NaN (unobserved)")
        object.__setattr__(self, "approved", bool(self.approved))
        object.__setattr__(self, "task_reward", float(self.task_reward))
        object.__setattr__(self, "weight", float(self.weight))

    def to_dict(self) -> dict:
        """Plain JSON-able dict (NaN task reward becomes ``None``)."""
        return {
            "feedback_id": self.feedback_id,
            "action_id": self.action_id,
            "features": self.features.tolist(),
            "context": self.context.tolist(),
            "approved": self.approved,
            "task_reward": None if math.isnan(self.task_reward) else self.task_reward,
            "value_hint": self.value_hint.tolist(),
            "weight": self.weight,
            "operator": self.operator,
            "source": self.source,
            "stamp": self.stamp,
            "responses": self.responses.tolist(),
            **({"corrects": self.corrects} if self.corrects else {}),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "FeedbackEvent":
        """Inverse of :meth:`to_dict`; raises ``ValueError``/``KeyError`` on bad data."""
        reward = data.get("task_reward")
        return cls(
            feedback_id=str(data["feedback_id"]),
            action_id=str(data["action_id"]),
            features=np.asarray(data["features"], dtype=np.float64),
            context=np.asarray(data["context"], dtype=np.float64),
            approved=bool(data["approved"]),
            task_reward=math.nan if reward is None else float(reward),
            value_hint=np.asarray(data.get("value_hint", []), dtype=np.float64),
            weight=float(data.get("weight", 1.0)),
            operator=str(data.get("operator", "")),
            source=str(data.get("source", "")),
            stamp=float(data.get("stamp", 0.0)),
            responses=np.asarray(data.get("responses", []), dtype=np.float64),
            corrects=str(data.get("corrects", "")),
        )


@dataclass(frozen=True)
class CompassPull:
    """One social pull (``doc/design.md`` §8), journaled between answers like an answer.

    The record holds the pulled compass itself, so a replay needs no recomputation and is exact.

    Parameters
    ----------
    version_before : int
        Compass version the pull was applied to (it makes version ``version_before + 1``).
    population_version : int
        Version of the population compass it pulled toward.
    kappa : float
        κ = 2ν/(2ν+1) of the pull.
    particles : ndarray, shape (N, M)
    weights : ndarray, shape (N,)
        The compass after the pull.
    """

    version_before: int
    population_version: int
    kappa: float
    particles: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        from .compass import Compass  # validates the cloud (simplex, weights)

        Compass(self.particles, self.weights)
        object.__setattr__(self, "particles", np.asarray(self.particles, dtype=np.float64))
        object.__setattr__(self, "weights", np.asarray(self.weights, dtype=np.float64))

    def to_dict(self) -> dict:
        """Plain JSON-able dict."""
        return {
            "version_before": int(self.version_before),
            "population_version": int(self.population_version),
            "kappa": float(self.kappa),
            "particles": self.particles.tolist(),
            "weights": self.weights.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "CompassPull":
        """Inverse of :meth:`to_dict`; raises ``ValueError``/``KeyError`` on bad data."""
        return cls(
            version_before=int(data["version_before"]),
            population_version=int(data["population_version"]),
            kappa=float(data["kappa"]),
            particles=np.asarray(data["particles"], dtype=np.float64),
            weights=np.asarray(data["weights"], dtype=np.float64),
        )
