# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Value cards: validation names what is missing; the hash names the cards; reload versions."""

import copy

import pytest
import yaml

from moral_compass_ros.value_cards import (
    DIMENSIONS,
    ValueCardError,
    cards_hash,
    load_value_cards,
    parse_value_cards,
)
from ros_helpers import REPO_ROOT

NAMES = ("care", "fairness", "loyalty", "authority", "sanctity")
SHIPPED = yaml.safe_load((REPO_ROOT / "config" / "value_cards.yaml").read_text())


def test_the_shipped_cards_are_valid_and_in_value_order():
    cards = load_value_cards(REPO_ROOT / "config" / "value_cards.yaml", NAMES)
    assert [c.value_name for c in cards] == list(NAMES)


@pytest.mark.parametrize("dimension", DIMENSIONS + ("version", "author"))
def test_a_missing_dimension_is_an_error_naming_it(dimension):
    data = copy.deepcopy(SHIPPED)
    del data["cards"][2][dimension]
    with pytest.raises(ValueCardError, match=f"'loyalty' is missing its '{dimension}'"):
        parse_value_cards(data, NAMES)


def test_an_empty_dimension_counts_as_missing():
    data = copy.deepcopy(SHIPPED)
    data["cards"][0]["legitimacy"] = "   "
    with pytest.raises(ValueCardError, match="legitimacy"):
        parse_value_cards(data, NAMES)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d["cards"].pop(), "no value card for \\['sanctity'\\]"),
        (lambda d: d["cards"].append(dict(d["cards"][0])), "has two cards"),
        (lambda d: d["cards"][0].update(colour="red"), "unknown keys"),
        (lambda d: d.pop("cards"), "list under 'cards'"),
    ],
)
def test_structural_errors_are_named(change, message):
    data = copy.deepcopy(SHIPPED)
    change(data)
    with pytest.raises(ValueCardError, match=message):
        parse_value_cards(data, NAMES)


def test_cards_for_values_the_compass_lacks_are_refused():
    with pytest.raises(ValueCardError, match="does not have"):
        parse_value_cards(SHIPPED, NAMES[:4])


def test_the_hash_changes_with_any_word_and_not_with_order_of_cards():
    cards = parse_value_cards(SHIPPED, NAMES)
    reordered = copy.deepcopy(SHIPPED)
    reordered["cards"].reverse()
    assert cards_hash(parse_value_cards(reordered, NAMES)) == cards_hash(cards)
    edited = copy.deepcopy(SHIPPED)
    edited["cards"][1]["origin"] += "."
    assert cards_hash(parse_value_cards(edited, NAMES)) != cards_hash(cards)
    assert len(cards_hash(cards)) == 64
