# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""ROS-free install of the package's pure-Python parts (core, sim, tools) for offline use.

On a robot the package is built with colcon (CMakeLists.txt, ament_cmake); this file lets
``pip install .`` give a laptop the maths, the simulator and the offline tools without ROS.
"""

from setuptools import find_packages, setup

setup(
    name="moral_compass_ros",
    version="0.1.0",
    packages=find_packages(include=["moral_compass_ros", "moral_compass_ros.*"]),
    package_data={"moral_compass_ros": ["web/*.html", "web/*.js", "web/*.css"]},
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.24",
        "torch>=2.1",
        "pot>=0.9.5",
        "numba>=0.60",
        "PyYAML>=6",
        "matplotlib>=3.7",
        "rosbags>=0.10",
    ],
    entry_points={"console_scripts": ["moral-compass = moral_compass_ros.tools.cli:main"]},
)
