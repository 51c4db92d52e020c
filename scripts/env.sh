# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
# Source this (bash) to use the package from this checkout: the venv, the built workspace,
# and the network rule (DDS stays on loopback, a domain of its own).
_mc_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC1091
_mc_venv=${MORAL_COMPASS_VENV:-${XDG_DATA_HOME:-$HOME/.local/share}/moral_compass_ros/venv-py311}
source "$_mc_venv/bin/activate"
export AMENT_PREFIX_PATH=$_mc_venv CMAKE_PREFIX_PATH=$_mc_venv
export PATH=$_mc_root/bin:$PATH   # moral-compass and the node executables
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export ROS_DISTRO=${ROS_DISTRO:-kilted}   # the distribution of the wheels (bags record it)
export ROS_DOMAIN_ID=${ROS_DOMAIN_ID:-$(( $$ % 90 + 5 ))}
if [ -f "$_mc_root/install/setup.bash" ]; then
  _mc_nounset=$(set +o | grep nounset); set +u
  # shellcheck disable=SC1091
  source "$_mc_root/install/setup.bash"
  eval "$_mc_nounset"
fi
unset _mc_root _mc_venv _mc_nounset
