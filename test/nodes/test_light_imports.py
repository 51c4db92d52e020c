# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The nodes that compute no transport and no learner load neither torch nor POT nor numba.

Each node module is imported in a fresh interpreter and its ``sys.modules`` read: a set of
modules, not a time, so the test does not depend on how fast the machine is.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "ot", "numba")
CODE = (
    "import importlib, json, sys; importlib.import_module({module!r}); "
    "print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))"
)


def _heavy_imports(module: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", CODE.format(module=module, heavy=HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "module",
    ["moral_compass_ros.nodes.feedback_node", "moral_compass_ros.nodes.visualization_node"],
)
def test_a_light_node_imports_neither_torch_nor_pot_nor_numba(module):
    assert _heavy_imports(module) == []


def test_the_learner_nodes_do_import_them():
    """The check can fail: the selector, which scores with the learner, loads torch."""
    assert "torch" in _heavy_imports("moral_compass_ros.nodes.action_selector_node")
