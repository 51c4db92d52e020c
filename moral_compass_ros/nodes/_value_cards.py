"""Load the value cards a node runs under and publish them latched (``value_cards``)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from rclpy.node import Node

from moral_compass_ros import topics
from moral_compass_ros.msg import ValueCard as ValueCardMsg
from moral_compass_ros.msg import ValueCards
from moral_compass_ros.parameters import InvalidParameters
from moral_compass_ros.qos import STATE_QOS
from moral_compass_ros.value_cards import ValueCardError, cards_hash, load_value_cards


def default_value_cards_file() -> Path:
    """The package's ``config/value_cards.yaml`` (installed share dir, else the source tree)."""
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
        try:
            return Path(get_package_share_directory("moral_compass_ros")) / "config" / "value_cards.yaml"
        except PackageNotFoundError:
            pass
    except ImportError:
        pass
    return Path(__file__).resolve().parents[2] / "config" / "value_cards.yaml"


class ValueCardsPublisher:
    """Validates the cards at start-up (a bad card stops the node with the reason) and keeps
    them published latched; ``hash`` is stamped on compasses and selections."""

    def __init__(self, node: Node, path: str, value_names: Sequence[str]):
        card_file = Path(path) if path else default_value_cards_file()
        try:
            self.cards = load_value_cards(card_file, value_names)
        except ValueCardError as error:
            raise InvalidParameters(f"value_cards_file {card_file}: {error}") from error
        self.hash = cards_hash(self.cards)
        self._publisher = node.create_publisher(ValueCards, topics.VALUE_CARDS, STATE_QOS)
        msg = ValueCards(hash=self.hash, cards=[
            ValueCardMsg(value_name=c.value_name, criterion=c.criterion, origin=c.origin,
                         measurement=c.measurement, aggregation=c.aggregation,
                         legitimacy=c.legitimacy, version=c.version, author=c.author)
            for c in self.cards])
        msg.header.stamp = node.get_clock().now().to_msg()
        self._publisher.publish(msg)
        node.get_logger().info(f"value cards {card_file} (sha256 {self.hash[:12]}...) published")
