#!/usr/bin/env bash
# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
# Run a command inside the package environment (venv + built workspace + loopback-only DDS).
set -eo pipefail
# shellcheck disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
exec "$@"
