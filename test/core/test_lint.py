# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Lint as a test, at ROS 2's norms: ruff (pycodestyle and pyflakes rules, 99 columns; ruff.toml)
on every Python file of the package, its tests, its launch file and its executables, and a
licence header on each."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ["moral_compass_ros", "test", "launch", "setup.py"] + sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "bin").iterdir()
)
HEADER = "SPDX-License-Identifier: Apache-2.0"


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed: it is pinned in requirements.txt (make setup)")
    result = subprocess.run([ruff, "check", *TARGETS], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def source_files() -> list[Path]:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    names = tracked.stdout.split() if tracked.returncode == 0 else []
    if not names:  # not a git checkout (an installed copy): every file under the package
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()]
    suffixes = (".py", ".js", ".css", ".html", ".sh")
    return [ROOT / n for n in names if n.endswith(suffixes) or n.startswith("bin/")]


def test_every_source_file_carries_the_licence_header():
    missing = [
        str(p.relative_to(ROOT)) for p in source_files() if HEADER not in p.read_text()[:400]
    ]
    assert not missing, f"no '{HEADER}' line in: {missing}"
