# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Test-wide set-up: every test process speaks DDS on loopback only, in a domain of its own.

``scripts/test.sh`` exports ``MC_TEST_DOMAIN_BASE``; each pytest-xdist worker adds its index,
so parallel workers never hear each other (child processes inherit the environment).

The tests sit in three tiers: ``core/`` (no ROS: the mathematics, the simulator, the offline
tools), ``nodes/`` (rclpy in one process: nodes in private contexts, messages, bags) and
``graph/`` (several processes over loopback DDS). Their shared helpers live here in ``test/``.
"""

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the helpers, for every tier

# CI (CI=true) runs the property tests on hypothesis' fixed examples, so a submission's result
# does not depend on luck; a developer's run explores new examples each time (and keeps the
# failures it finds in .hypothesis/ to replay them).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_base = int(os.environ.get("MC_TEST_DOMAIN_BASE", "40"))
os.environ["ROS_DOMAIN_ID"] = str(_base + int(_worker.removeprefix("gw") or 0))


@pytest.fixture
def domain_id() -> int:
    """The DDS domain id of this test process (children inherit it via the environment)."""
    return int(os.environ["ROS_DOMAIN_ID"])
