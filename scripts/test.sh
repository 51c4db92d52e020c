#!/usr/bin/env bash
# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
# Run every test against the built workspace. Two xdist workers (one per core), each on a DDS
# domain of its own (base + worker index, see test/conftest.py). Fails when any test fails or
# when no test was collected.
set -eo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC1091
source "$ROOT/scripts/env.sh"
# A base domain per run, so two test runs on one machine do not hear each other.
export MC_TEST_DOMAIN_BASE=${MC_TEST_DOMAIN_BASE:-$(( ($$ % 45) * 2 + 2 ))}
cd "$ROOT"
set +e
pytest -n "${MC_TEST_WORKERS:-2}" --dist loadfile "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "[test] pytest collected no tests: failing on purpose" >&2
  exit 1
fi
exit "$status"
