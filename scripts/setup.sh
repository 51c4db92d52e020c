#!/usr/bin/env bash
# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
# Set up everything the package needs on a fresh Debian 12 / Python 3.11 machine with no ROS
# install: a virtual environment with the pinned ROS 2 Kilted wheels, torch, POT and the rest,
# then a colcon build of this package in place (build/ install/ log/).
#
# Idempotent: each step is skipped when its inputs have not changed since it last succeeded,
# so a rerun with nothing changed takes seconds.
#
# Usage: scripts/setup.sh            (then: source scripts/env.sh)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The venv lives outside the checkout: CMake refuses exported include directories (numpy's)
# that lie inside the source tree, and the repository root is the package's source tree.
VENV=${MORAL_COMPASS_VENV:-${XDG_DATA_HOME:-$HOME/.local/share}/moral_compass_ros/venv-py311}
PYTHON=${PYTHON:-python3.11}
T0=$SECONDS
log() { echo "[setup +$((SECONDS - T0))s] $*"; }
cd "$ROOT"

# 0. System tools the build needs (cmake and g++ ship with the image; install if missing).
need=()
command -v cmake >/dev/null || need+=(cmake)
command -v g++ >/dev/null || need+=(g++)
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Debian's Chromium for the tablet page's browser test (Playwright drives /usr/bin/chromium;
# never `playwright install`, which downloads a browser build of its own).
if ! command -v chromium >/dev/null; then
  log "apt-get install chromium (browser test; about 30 s)"
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi

# 1. Virtual environment + pinned packages. requirements.txt names the direct pins;
#    requirements.lock freezes every transitive version (the ros-* wheels pin only with ~=).
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
fi
req_stamp=$VENV/.requirements.sha1
req_sum=$(cat requirements.txt requirements.lock | sha1sum | cut -c1-40)
if [ "$(cat "$req_stamp" 2>/dev/null)" != "$req_sum" ]; then
  log "pip install (pinned; about a minute on a fresh machine)"
  # The image's pip config names local wheel folders that may not exist: hide that noise.
  "$VENV/bin/pip" install -q --disable-pip-version-check -c requirements.lock -r requirements.txt \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  echo "$req_sum" > "$req_stamp"
else
  log "packages up to date"
fi

# 2. The wheels' exported CMake files name the include directories of the machine that built
#    them (/opt/python/...); point them at this venv's numpy and Python headers.
"$VENV/bin/python" - <<'PY'
import glob, re, sys, sysconfig
import numpy
fixed = 0
for path in glob.glob(sys.prefix + "/share/**/*.cmake", recursive=True):
    with open(path) as f:
        text = f.read()
    if "/opt/python/" not in text:
        continue
    text = re.sub(r"/opt/python/cp3\d+-cp3\d+/lib/python3\.\d+/site-packages/numpy/_core/include",
                  numpy.get_include(), text)
    text = re.sub(r"/opt/python/cp3\d+-cp3\d+/include/python3\.\d+",
                  sysconfig.get_paths()["include"], text)
    with open(path, "w") as f:
        f.write(text)
    fixed += 1
if fixed:
    print(f"[setup] pointed {fixed} CMake files at this venv's include directories")
PY

# 3. colcon build in place, skipped when no source file changed since the last good build.
src_sum=$( (git ls-files -co --exclude-standard -- CMakeLists.txt package.xml msg bin launch config \
            moral_compass_ros 2>/dev/null || find CMakeLists.txt package.xml msg bin launch config moral_compass_ros -type f) \
          | LC_ALL=C sort | xargs -d '\n' sha1sum 2>/dev/null | sha1sum | cut -c1-40)
build_stamp=$ROOT/install/.source.sha1
if [ "$(cat "$build_stamp" 2>/dev/null)" != "$src_sum" ]; then
  log "colcon build"
  set +u
  # shellcheck disable=SC1091
  source "$VENV/bin/activate"
  set -u
  export AMENT_PREFIX_PATH=$VENV CMAKE_PREFIX_PATH=$VENV
  if ! colcon build --base-paths "$ROOT" \
      --cmake-args -DPython3_EXECUTABLE="$VENV/bin/python" -DCMAKE_BUILD_TYPE=Release \
      -DBUILD_TESTING=OFF --event-handlers console_cohesion- summary+ status-; then
    echo "[setup] colcon build FAILED; see log/latest_build" >&2
    exit 1
  fi
  echo "$src_sum" > "$build_stamp"
else
  log "build up to date"
fi
log "done (source scripts/env.sh to use it)"
