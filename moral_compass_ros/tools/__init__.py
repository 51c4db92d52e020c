# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Command-line tools: demo, record, replay, eval, bench (``moral-compass --help``)."""
