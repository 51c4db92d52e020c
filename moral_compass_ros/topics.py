# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Topic and service names of the node graph: the one place they are written.

Names are relative, so a launch namespace (``/robot_1``) prefixes them all.
"""

CANDIDATES = "planner/candidates"  # CandidateActions: planner -> selector
SELECTION = "selection"  # ActionSelection: selector -> robot executive
COMPASS = "compass"  # MoralCompass, latched
MODEL = "compass/model"  # ModelParameters, latched
VALUE_CARDS = "value_cards"  # ValueCards, latched
FEEDBACK = "feedback"  # HumanFeedback: feedback node -> compass node
FEEDBACK_RAW = "feedback/raw"  # HumanFeedback from scripts/other UIs (plain topic)
FEEDBACK_ACK = "feedback/ack"  # FeedbackAck: compass node -> senders
JOY = "joy"  # sensor_msgs/Joy from a gamepad
MARKERS = "compass/markers"  # visualization_msgs/MarkerArray, latched
DIAGNOSTICS = "/diagnostics"  # diagnostic_msgs/DiagnosticArray (absolute, as is usual)

RESET_SERVICE = "compass/reset"  # std_srvs/Trigger
SNAPSHOT_SERVICE = "compass/snapshot"  # std_srvs/Trigger
PLURALISM = "compass/pluralism"  # Pluralism, latched
RELOAD_VALUE_CARDS_SERVICE = "value_cards/reload"  # std_srvs/Trigger

# Population extension. Relative like the rest: population_node runs in the root
# namespace, so these are /population/...; robots subscribe to the absolute name.
POPULATION_COMPASS = "population/compass"  # MoralCompass, latched: the average compass q_bar
POPULATION_STATUS = "population/status"  # PopulationCompass, latched: drift, distances
