# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Thin rclpy nodes: parameters, QoS, message <-> core conversion, timers, diagnostics."""
