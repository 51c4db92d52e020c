# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Load the value cards a node runs under and publish them latched (``value_cards``)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from rclpy.node import Node

from moral_compass_ros import topics
from moral_compass_ros.graph import config_file
from moral_compass_ros.msg import ValueCard as ValueCardMsg
from moral_compass_ros.msg import ValueCards
from moral_compass_ros.parameters import InvalidParameters
from moral_compass_ros.qos import STATE_QOS
from moral_compass_ros.value_cards import ValueCardError, cards_hash, load_value_cards


class ValueCardsPublisher:
    """Validates the cards at start-up (a bad card stops the node with the reason) and keeps
    them published latched; ``hash`` is stamped on compasses and selections."""

    def __init__(self, node: Node, path: str, value_names: Sequence[str]):
        self._node = node
        self._file = Path(path) if path else config_file("value_cards.yaml")
        self._value_names = tuple(value_names)
        self.revision = 0
        self._publisher = node.create_publisher(ValueCards, topics.VALUE_CARDS, STATE_QOS)
        self.reload()

    def reload(self) -> None:
        """(Re-)read and validate the card file and publish it with the next revision.

        Raises ``InvalidParameters`` (and keeps the cards in force) when the file is invalid.
        """
        try:
            cards = load_value_cards(self._file, self._value_names)
        except ValueCardError as error:
            raise InvalidParameters(f"value_cards_file {self._file}: {error}") from error
        self.cards, self.hash = cards, cards_hash(cards)
        self.revision += 1
        node = self._node
        msg = ValueCards(
            hash=self.hash,
            revision=self.revision,
            cards=[
                ValueCardMsg(
                    value_name=c.value_name,
                    criterion=c.criterion,
                    origin=c.origin,
                    measurement=c.measurement,
                    aggregation=c.aggregation,
                    legitimacy=c.legitimacy,
                    version=c.version,
                    author=c.author,
                )
                for c in self.cards
            ],
        )
        msg.header.stamp = node.get_clock().now().to_msg()
        self._publisher.publish(msg)
        node.get_logger().info(
            f"value cards {self._file} revision {self.revision} "
            f"(sha256 {self.hash[:12]}...) published"
        )
