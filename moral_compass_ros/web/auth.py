# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Tablet operators: tokens hashed at rest (scrypt), the operators file, and login rate limits.

Stored form of a token (``config/operators.yaml``)::

    scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>

with a random 16-byte salt and a 32-byte key from :func:`hashlib.scrypt` (n = 2^14, r = 8,
p = 1: ≈ 16 MiB and tens of ms per check — cheap for one login, costly for a guessing
attacker). A plain token never lives in the file; make a hash with::

    moral-compass auth hash            # asks for the token (not echoed)
    moral-compass auth new OPERATOR_ID # makes a random token + its entry
"""

from __future__ import annotations

import argparse
import base64
import getpass
import hashlib
import hmac
import re
import secrets
import sys
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

import yaml

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
MIN_TOKEN_LENGTH = 12
OPERATOR_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_HASH_PATTERN = re.compile(r"^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")


class OperatorsFileError(ValueError):
    """The operators file is missing, malformed or holds something other than hashes."""


def _scrypt(token: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        token.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=256 * 1024 * 1024
    )


def hash_token(
    token: str,
    salt: Optional[bytes] = None,
    n: int = SCRYPT_N,
    r: int = SCRYPT_R,
    p: int = SCRYPT_P,
) -> str:
    """The at-rest form of ``token`` (see the module docstring).

    Parameters
    ----------
    token : str
        The secret, at least ``MIN_TOKEN_LENGTH`` characters.
    salt : bytes, optional
        16 random bytes by default (tests may fix it).

    Raises
    ------
    ValueError
        If the token is too short.
    """
    if len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(f"a token needs at least {MIN_TOKEN_LENGTH} characters")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    key = _scrypt(token, salt, n, r, p)
    return f"scrypt${n}${r}${p}${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"


def is_token_hash(text: str) -> bool:
    """Whether ``text`` has the form :func:`hash_token` makes."""
    return bool(_HASH_PATTERN.match(str(text)))


def verify_token(token: str, stored: str) -> bool:
    """Whether ``token`` matches the stored hash (constant-time comparison)."""
    match = _HASH_PATTERN.match(stored)
    if match is None:
        return False
    n, r, p = (int(match.group(k)) for k in (1, 2, 3))
    salt, expected = base64.b64decode(match.group(4)), base64.b64decode(match.group(5))
    return hmac.compare_digest(_scrypt(token, salt, n, r, p), expected)


# A hash nobody's token matches: an unknown operator costs as much time as a known one.
_DUMMY_HASH = hash_token(secrets.token_urlsafe(24))


@dataclass(frozen=True)
class Operator:
    """One tablet operator: id (stamped on ``HumanFeedback.operator_id``) and token hash."""

    operator_id: str
    token_hash: str
    name: str = ""


def load_operators(path) -> dict[str, Operator]:
    """Read the operators file.

    Format::

        operators:
          - id: alice                 # [A-Za-z0-9_.-]{1,64}
            name: Alice (optional)
            token_hash: "scrypt$16384$8$1$...$..."

    Raises
    ------
    OperatorsFileError
        Missing file, bad YAML, duplicate or malformed ids, or an entry whose ``token_hash`` is
        not a hash (a plain token in the file is refused, with the command that hashes it).
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as error:
        raise OperatorsFileError(f"cannot read operators file {path}: {error}") from error
    except yaml.YAMLError as error:
        raise OperatorsFileError(f"operators file {path} is not valid YAML: {error}") from error
    entries = data.get("operators") if isinstance(data, dict) else None
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise OperatorsFileError(f"{path}: 'operators' must be a list")
    operators: dict[str, Operator] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise OperatorsFileError(f"{path}: operator #{index} must be a mapping")
        operator_id = str(entry.get("id", ""))
        if not OPERATOR_ID_PATTERN.match(operator_id):
            raise OperatorsFileError(
                f"{path}: operator #{index} has a bad id (letters, digits, "
                "'_', '.', '-'; 1-64 characters)"
            )
        if operator_id in operators:
            raise OperatorsFileError(f"{path}: operator {operator_id!r} appears twice")
        token_hash = str(entry.get("token_hash", ""))
        if not is_token_hash(token_hash):
            raise OperatorsFileError(
                f"{path}: operator {operator_id!r} has no valid token_hash (tokens are stored "
                "hashed: moral-compass auth hash)"
            )
        operators[operator_id] = Operator(operator_id, token_hash, str(entry.get("name", "")))
    return operators


def authenticate(operators: Mapping[str, Operator], operator_id: str, token: str) -> bool:
    """Check an operator's token; an unknown id costs the same time and fails."""
    operator = operators.get(operator_id)
    if operator is None:
        verify_token(token, _DUMMY_HASH)
        return False
    return verify_token(token, operator.token_hash)


class LoginLimiter:
    """At most ``max_failures`` failed logins per key (client address, operator) per window.

    Parameters
    ----------
    max_failures : int
        Failures allowed in any window of ``window_s`` seconds.
    window_s : float
        Length of the sliding window (s).
    """

    def __init__(self, max_failures: int = 5, window_s: float = 60.0, clock=time.monotonic):
        if max_failures < 1 or window_s <= 0:
            raise ValueError("max_failures must be >= 1 and window_s > 0")
        self.max_failures, self.window_s, self._clock = int(max_failures), float(window_s), clock
        self._failures: dict[str, deque] = defaultdict(deque)

    def _prune(self, key: str, now: float) -> deque:
        failures = self._failures[key]
        while failures and now - failures[0] >= self.window_s:
            failures.popleft()
        return failures

    def retry_after(self, *keys: str) -> float:
        """Seconds until a login for ``keys`` may be tried (0 = now)."""
        now = self._clock()
        wait = 0.0
        for key in keys:
            failures = self._prune(key, now)
            if len(failures) >= self.max_failures:
                wait = max(wait, self.window_s - (now - failures[0]))
        return wait

    def failed(self, *keys: str) -> None:
        """Record one failed login for each key."""
        now = self._clock()
        for key in keys:
            self._prune(key, now).append(now)
        if len(self._failures) > 10000:  # bound memory under a flood of distinct keys
            for key in [k for k, v in self._failures.items() if not v]:
                del self._failures[key]

    def succeeded(self, *keys: str) -> None:
        """Forget the failures of ``keys`` after a good login."""
        for key in keys:
            self._failures.pop(key, None)


def main(argv=None) -> int:
    """``moral-compass auth {hash,new}``: make operators-file entries."""
    parser = argparse.ArgumentParser(
        prog="moral-compass auth",
        description="Hash tablet operator tokens for "
        "config/operators.yaml (tokens are never stored plain).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("hash", help="hash a token read from the terminal (or stdin)")
    new = sub.add_parser("new", help="make a random token and its operators.yaml entry")
    new.add_argument("operator_id")
    args = parser.parse_args(argv)
    if args.command == "hash":
        token = getpass.getpass("token: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
        try:
            print(hash_token(token))
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    if not OPERATOR_ID_PATTERN.match(args.operator_id):
        print("error: operator id must be 1-64 of [A-Za-z0-9_.-]", file=sys.stderr)
        return 2
    token = secrets.token_urlsafe(18)
    print(
        f"token for {args.operator_id} (give it to the operator; it is shown only now): {token}",
        file=sys.stderr,
    )
    # a whole operators file, ready to paste (or to append the entry to an existing list)
    print(f"operators:\n  - id: {args.operator_id}\n    token_hash: \"{hash_token(token)}\"")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
