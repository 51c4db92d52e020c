# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""moral_compass_ros: a learnable moral compass for robots working beside people.

The source tree holds the hand-written Python; ``colcon build`` installs it beside the
message modules that rosidl generates (``moral_compass_ros.msg``).  ``extend_path`` merges
both copies into one package, so that code run from a source checkout (tests, tools) still
finds the generated ``msg`` subpackage of the installed workspace, and a ROS-free install
(``pip install .``) works without it.
"""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
