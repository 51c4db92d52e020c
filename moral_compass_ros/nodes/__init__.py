"""Thin rclpy nodes: parameters, QoS, message <-> core conversion, timers, diagnostics."""
