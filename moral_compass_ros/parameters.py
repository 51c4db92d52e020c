# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Parameter declarations of the nodes: name, type, default, description, validation.

The learner's hyper-parameters are the fields of :class:`moral_compass_ros.core.LearnerConfig`
(their defaults live there and only there); this module adds a description for each and the
node-specific parameters. Every node declares its parameters through :func:`declare_parameters`,
which attaches descriptors, validates the values at start-up and installs an on-set callback
that rejects a bad new value with the reason.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from rcl_interfaces.msg import (
    FloatingPointRange,
    IntegerRange,
    ParameterDescriptor,
    SetParametersResult,
)
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.node import Node

from moral_compass_ros.core.config import LearnerConfig, field_description

# Fields that fix the shape or the prior of the learned state: changing them at run time is
# refused.
LEARNER_READ_ONLY = {
    "value_names",
    "feature_dim",
    "context_dim",
    "n_particles",
    "n_fingerprint_samples",
    "cost",
    "seed",
    "update_rule",
    "fingerprint_hidden",
    "fingerprint_model",
    "beta_prior",
    "tau_prior",
    "task_weight_prior",
    "residual_prior_scales",
    "compass_prior_alpha",
}


@dataclass(frozen=True)
class ParameterSpec:
    """One node parameter: default (its type fixes the ROS type), description, validation.

    ``minimum``/``maximum`` bound a number (and appear in the descriptor, so ``ros2 param
    describe`` shows them); ``check`` returns an error message for a bad value, or ``None``.
    """

    name: str
    default: Any
    description: str
    read_only: bool = False
    check: Optional[Callable[[Any], Optional[str]]] = None
    minimum: Optional[float] = None
    maximum: Optional[float] = None


def one_of(*choices: str) -> Callable[[Any], Optional[str]]:
    """A ``check`` accepting one of ``choices``."""

    def check(value):
        if value not in choices:
            return f"must be one of {list(choices)}, got {value!r}"
        return None

    return check


def learner_specs() -> list[ParameterSpec]:
    """Parameter specs of every :class:`LearnerConfig` field (validated as a whole config)."""
    defaults = LearnerConfig()
    specs = []
    for field in dataclasses.fields(LearnerConfig):
        default = getattr(defaults, field.name)
        if isinstance(default, tuple):
            default = list(default)
        specs.append(
            ParameterSpec(
                field.name,
                default,
                field_description(field.name),
                read_only=field.name in LEARNER_READ_ONLY,
            )
        )
    return specs


def _descriptor(spec: ParameterSpec) -> ParameterDescriptor:
    descriptor = ParameterDescriptor(description=spec.description, read_only=spec.read_only)
    if spec.minimum is not None and spec.maximum is not None:
        if isinstance(spec.default, bool):
            pass
        elif isinstance(spec.default, int):
            descriptor.integer_range = [
                IntegerRange(from_value=int(spec.minimum), to_value=int(spec.maximum), step=0)
            ]
        elif isinstance(spec.default, float):
            descriptor.floating_point_range = [
                FloatingPointRange(
                    from_value=float(spec.minimum), to_value=float(spec.maximum), step=0.0
                )
            ]
    return descriptor


def _type_error(spec: ParameterSpec, value: Any) -> Optional[str]:
    expected = type(spec.default)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return None
    if expected is list:
        if not isinstance(value, (list, tuple)):
            return f"must be a list, got {type(value).__name__}"
        return None
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        return f"must be of type {expected.__name__}, got {type(value).__name__} {value!r}"
    return None


class InvalidParameters(ValueError):
    """A node's parameters failed validation at start-up (the message names each bad one)."""


def declare_parameters(
    node: Node,
    specs: Sequence[ParameterSpec],
    whole_check: Optional[Callable[[dict], Optional[str]]] = None,
    on_change: Optional[Callable[[dict], None]] = None,
) -> dict:
    """Declare ``specs`` on ``node``, validate them and guard later changes.

    Parameters
    ----------
    node : rclpy.node.Node
    specs : sequence of ParameterSpec
    whole_check : callable, optional
        Validates the complete ``{name: value}`` dict (e.g. by building a LearnerConfig) and
        returns an error message or ``None``.

    Returns
    -------
    dict
        ``{name: value}`` of the declared parameters, validated.

    Raises
    ------
    InvalidParameters
        When a value given at start-up (YAML, command line, launch) is invalid.
    """
    by_name = {spec.name: spec for spec in specs}
    values = {}
    errors = []
    for spec in specs:
        try:
            param = node.declare_parameter(spec.name, spec.default, _descriptor(spec))
        except (InvalidParameterValueException, InvalidParameterTypeException) as error:
            errors.append(f"{spec.name}: {error}")
            continue
        value = param.value
        if isinstance(spec.default, list) and value is None:
            value = []
        values[spec.name] = list(value) if isinstance(value, (list, tuple)) else value
    for name, value in values.items():
        problem = _check(by_name[name], value)
        if problem:
            errors.append(f"{name}: {problem}")
    if not errors and whole_check is not None:
        problem = whole_check(values)
        if problem:
            errors.append(problem)
    if errors:
        raise InvalidParameters("invalid parameters: " + "; ".join(errors))

    def on_set(params) -> SetParametersResult:
        candidate = dict(values)
        for param in params:
            spec = by_name.get(param.name)
            if spec is None:
                continue
            value = param.value
            value = list(value) if isinstance(value, (list, tuple)) else value
            problem = _check(spec, value)
            if problem:
                return SetParametersResult(successful=False, reason=f"{param.name}: {problem}")
            candidate[param.name] = value
        if whole_check is not None:
            problem = whole_check(candidate)
            if problem:
                return SetParametersResult(successful=False, reason=problem)
        changed = {k: v for k, v in candidate.items() if values[k] != v}
        values.update(candidate)
        if changed and on_change is not None:
            on_change(changed)
        return SetParametersResult(successful=True, reason="")

    node.add_on_set_parameters_callback(on_set)
    return values


def _check(spec: ParameterSpec, value: Any) -> Optional[str]:
    problem = _type_error(spec, value)
    if problem is None and spec.minimum is not None and not isinstance(value, (list, str)):
        if not spec.minimum <= value <= (spec.maximum if spec.maximum is not None else value):
            problem = f"must be in [{spec.minimum}, {spec.maximum}], got {value}"
    if problem is None and spec.check is not None:
        problem = spec.check(value)
    return problem


def learner_config_check(values: dict) -> Optional[str]:
    """``whole_check`` that builds a :class:`LearnerConfig` from the learner fields (and reads
    its pre-trained fingerprint model, if any)."""
    try:
        config = learner_config(values)
        if config.fingerprint_model:
            from moral_compass_ros.core.pretrain import PretrainedFingerprints  # torch: on use

            PretrainedFingerprints.load(config.fingerprint_model).check_fits(config)
    except (TypeError, ValueError) as error:
        return f"learner configuration: {error}"
    return None


def learner_config(values: dict) -> LearnerConfig:
    """The :class:`LearnerConfig` named by the learner fields of ``values``."""
    names = {field.name for field in dataclasses.fields(LearnerConfig)}
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in names}
    return LearnerConfig(**kwargs)
