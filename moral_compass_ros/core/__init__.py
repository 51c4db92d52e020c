# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The mathematical core of moral_compass_ros: Dynamic Value Spaces without ROS.

Pure Python on numpy, torch, POT and numba (the compiled Sinkhorn loops); nothing here imports
rclpy (a test enforces it), so the
simulator, the replay tools and the nodes share one implementation. See
``doc/design.md`` for the specification.
"""

from .baselines import ContextualAggregationLearner, LogisticLearner, MonistLearner
from .bayes import BayesLearner
from .compass import Compass
from .config import LearnerConfig
from .events import FeedbackEvent
from .fingerprint_library import FingerprintLibrary
from .learner import DynamicValueLearner
from .results import Scores, UpdateResult
from .pretrain import PretrainedFingerprints, pretrain_fingerprints
from .sinkhorn import sinkhorn_divergence
from .value_space import DEFAULT_VALUE_NAMES, SimplexError, ValueSpace

__all__ = [
    "DEFAULT_VALUE_NAMES",
    "ValueSpace",
    "SimplexError",
    "Compass",
    "LearnerConfig",
    "DynamicValueLearner",
    "Scores",
    "UpdateResult",
    "MonistLearner",
    "ContextualAggregationLearner",
    "BayesLearner",
    "LogisticLearner",
    "sinkhorn_divergence",
    "FeedbackEvent",
    "FingerprintLibrary",
    "PretrainedFingerprints",
    "pretrain_fingerprints",
]
