"""The Dynamic Value Spaces core (pure Python: numpy, torch, POT; never rclpy)."""
from .compass import Compass
from .config import LearnerConfig
from .events import FeedbackEvent
from .learner import DynamicValueLearner, Scores, UpdateResult
from .sinkhorn import sinkhorn_divergence
from .value_space import DEFAULT_VALUE_NAMES, SimplexError, ValueSpace

__all__ = ["Compass", "DEFAULT_VALUE_NAMES", "DynamicValueLearner", "FeedbackEvent",
           "LearnerConfig", "Scores", "SimplexError", "UpdateResult", "ValueSpace",
           "sinkhorn_divergence"]
