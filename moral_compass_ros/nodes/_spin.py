"""The ``main()`` every node shares: runs on Humble, Jazzy and Kilted alike."""
from __future__ import annotations

import sys
from typing import Callable

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node

from moral_compass_ros.parameters import InvalidParameters


def run_node(factory: Callable[[], Node], args=None) -> int:
    """Init rclpy, build the node, spin until Ctrl-C or shutdown, clean up; return an exit code.

    ``with rclpy.init()`` exists only from Kilted, hence ``try/finally`` with ``try_shutdown``.
    A node whose parameters are invalid exits with code 2 and the reason on stderr.
    """
    rclpy.init(args=args)
    node = None
    try:
        node = factory()
        rclpy.spin(node)
    except InvalidParameters as error:
        sys.stderr.write(f"[{factory.__name__}] {error}\n")
        return 2
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0
