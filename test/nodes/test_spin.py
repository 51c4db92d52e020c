# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Which exceptions out of ``rclpy.spin`` are the end of a requested shutdown."""

from __future__ import annotations

import rclpy
from rclpy.context import Context
from rclpy.executors import ExternalShutdownException

from moral_compass_ros.nodes._spin import stopped_cleanly

TAKE_RACE = RuntimeError("Unable to convert call argument '0' to Python object")


def test_a_take_that_fails_after_the_context_went_down_is_a_clean_exit():
    context = Context()
    rclpy.init(context=context)
    rclpy.shutdown(context=context)  # what a signal's handler does
    assert stopped_cleanly(TAKE_RACE, stopping=False, context=context)
    assert stopped_cleanly(ExternalShutdownException(), stopping=False, context=context)


def test_the_same_error_while_the_context_is_up_is_a_real_error():
    context = Context()
    rclpy.init(context=context)
    try:
        assert not stopped_cleanly(TAKE_RACE, stopping=False, context=context)
        assert not stopped_cleanly(ValueError("a bug"), stopping=False, context=context)
        assert stopped_cleanly(TAKE_RACE, stopping=True, context=context)  # a signal asked
    finally:
        rclpy.try_shutdown(context=context)
