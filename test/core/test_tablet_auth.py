# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Operator tokens hashed at rest, the operators file, login rate limiting (no ROS, no web)."""

import subprocess
import sys

import pytest

from moral_compass_ros.web.auth import (
    LoginLimiter,
    OperatorsFileError,
    authenticate,
    hash_token,
    is_token_hash,
    load_operators,
    verify_token,
)

TOKEN = "correct horse battery staple"


def test_hash_roundtrip_salted_and_not_plain():
    first, second = hash_token(TOKEN), hash_token(TOKEN)
    assert first != second, "a random salt makes every hash different"
    assert TOKEN not in first and is_token_hash(first)
    assert verify_token(TOKEN, first) and verify_token(TOKEN, second)
    assert not verify_token(TOKEN + "x", first)
    assert not verify_token(TOKEN, "not a hash")
    with pytest.raises(ValueError, match="at least"):
        hash_token("short")


def test_operators_file(tmp_path):
    path = tmp_path / "operators.yaml"
    path.write_text(
        f'operators:\n  - id: alice\n    token_hash: "{hash_token(TOKEN)}"\n'
        f'  - id: bob.b\n    name: Bob\n    token_hash: "{hash_token("bob-token-123")}"\n'
    )
    operators = load_operators(path)
    assert sorted(operators) == ["alice", "bob.b"] and operators["bob.b"].name == "Bob"
    assert authenticate(operators, "alice", TOKEN)
    assert not authenticate(operators, "alice", "bob-token-123")
    assert not authenticate(operators, "mallory", TOKEN)


@pytest.mark.parametrize(
    "text, problem",
    [
        (f"operators:\n  - id: alice\n    token_hash: {TOKEN}\n", "no valid token_hash"),
        ("operators:\n  - id: 'a b'\n    token_hash: x\n", "bad id"),
        ("operators: {alice: x}\n", "must be a list"),
        ("operators: [\n", "not valid YAML"),
    ],
)
def test_bad_operators_files_are_refused(tmp_path, text, problem):
    path = tmp_path / "operators.yaml"
    path.write_text(text)
    with pytest.raises(OperatorsFileError, match=problem) as error:
        load_operators(path)
    assert TOKEN not in str(error.value), "the error message must not repeat a plain token"


def test_duplicate_and_missing(tmp_path):
    h = hash_token(TOKEN)
    path = tmp_path / "operators.yaml"
    path.write_text(
        f'operators:\n  - {{id: a, token_hash: "{h}"}}\n  - {{id: a, token_hash: "{h}"}}\n'
    )
    with pytest.raises(OperatorsFileError, match="twice"):
        load_operators(path)
    with pytest.raises(OperatorsFileError, match="cannot read"):
        load_operators(tmp_path / "missing.yaml")


def test_shipped_operators_file_holds_no_operator():
    from ros_helpers import REPO_ROOT

    assert load_operators(REPO_ROOT / "config" / "operators.yaml") == {}


def test_login_limiter_window():
    now = [0.0]
    limiter = LoginLimiter(max_failures=3, window_s=10.0, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("addr:1", "op:alice") == 0
        limiter.failed("addr:1", "op:alice")
    assert limiter.retry_after("addr:1") == pytest.approx(10.0)
    assert limiter.retry_after("op:alice") > 0 and limiter.retry_after("addr:2") == 0
    now[0] = 10.5
    assert limiter.retry_after("addr:1", "op:alice") == 0
    limiter.failed("addr:1")
    limiter.succeeded("addr:1")
    assert limiter.retry_after("addr:1") == 0


def test_cli_hash_reads_stdin_and_new_prints_a_ready_operators_file(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "moral_compass_ros.web.auth", "hash"],
        input=TOKEN + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    stored = result.stdout.strip()
    assert verify_token(TOKEN, stored) and TOKEN not in result.stdout + result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "moral_compass_ros.web.auth", "new", "carol"],
        capture_output=True,
        text=True,
        check=True,
    )
    token = result.stderr.strip().rsplit(" ", 1)[-1]
    assert token not in result.stdout
    operators = tmp_path / "operators.yaml"
    operators.write_text(result.stdout)
    entries = load_operators(operators)
    assert list(entries) == ["carol"] and verify_token(token, entries["carol"].token_hash)
