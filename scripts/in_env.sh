#!/usr/bin/env bash
# Run a command inside the package environment (venv + built workspace + loopback-only DDS).
set -eo pipefail
# shellcheck disable=SC1091
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
exec "$@"
