# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``python -m moral_compass_ros.tools.bench`` (the e2e bench starts its echo node this way)."""

from moral_compass_ros.tools.bench import main

raise SystemExit(main())
