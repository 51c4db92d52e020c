# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""``moral-compass``: every command's help is plain text with every option described, and a
closed pipe ends the command quietly."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys

import pytest

from moral_compass_ros.tools import cli


def help_text(command: str, capsys) -> str:
    module = importlib.import_module(cli.COMMANDS[command][0])
    try:
        module.main(["-h"])
    except SystemExit as exit_request:
        assert exit_request.code in (0, None)
    return capsys.readouterr().out


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_help_is_plain_and_describes_every_option(command, capsys):
    text = help_text(command, capsys)
    assert text.startswith("usage: moral-compass")
    assert "`" not in text, text
    lines = text.splitlines()
    for i, line in enumerate(lines):
        option = re.match(r"^  (-\S+(?: \S+)?(?:, -\S+(?: \S+)?)*)(\s*)(.*)$", line)
        if not option or not option.group(1).startswith("-"):
            continue
        described = option.group(3) or (i + 1 < len(lines) and lines[i + 1].startswith(" " * 8))
        assert described, f"{command}: option without a description: {line.strip()}"


def test_a_closed_pipe_ends_the_command_quietly():
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write: every write fails
    result = subprocess.run(
        [sys.executable, "-m", "moral_compass_ros.tools.cli", "-h"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
    )
    os.close(write_end)
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, (
        result.stderr
    )
    assert result.returncode == 1


def test_the_command_list_is_plain():
    out = subprocess.run(
        [sys.executable, "-m", "moral_compass_ros.tools.cli", "-h"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert out.startswith("moral-compass: the package's command line.")
    assert "`" not in out
    assert all(f"  {name}" in out for name in cli.COMMANDS)
