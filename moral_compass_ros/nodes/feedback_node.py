# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""feedback_node: turns raw human input into ``HumanFeedback`` bound to an executed action.

Inputs: a gamepad (``sensor_msgs/Joy``: thumbs-up / thumbs-down buttons, edge-detected because
joy re-publishes held buttons, never the teleop deadman button) and a plain topic
(``feedback/raw``: ``HumanFeedback`` from scripts or other UIs, naming the request or action it
answers). Each answer is bound to the executed action (the latest ``ActionSelection``, or the
one named), debounced, rate-limited, stamped with source, operator and a unique id, published on
``feedback`` and re-sent until the compass node acknowledges it. Stale answers (measured from the
selection's own stamp, so a latched selection re-delivered after a restart is not young again)
and answers to unknown actions are refused with a logged reason.

One answer per (selection, operator): a bouncing or re-pressed button gives one answer, and the
rest are refused and counted as chatter in diagnostics. With ``correction_window_s`` > 0 an
answer is held that long before it is sent, and a later answer by the same operator to the same
selection *replaces* it: only the final answer is sent, naming the one it replaced in
``corrects_feedback_id``, so the compass journals one answer, marked as a correction.
A gamepad button counts only after this node has seen it released, so a button held across a
restart, or across a change of the button count, is not a press.

An answer and the selection it names travel on different topics, so a fast answerer's message
can arrive first (the planner heard the selection before this node did). An answer naming a
request not seen yet is therefore held up to ``unknown_request_wait_s`` for its selection, and
refused with a reason only if none arrives.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import NoReturn

from rclpy.node import Node
from rclpy.time import Time
from sensor_msgs.msg import Joy

from moral_compass_ros import topics
from moral_compass_ros.diagnostics import NodeHealth
from moral_compass_ros.msg import ActionSelection, FeedbackAck, HumanFeedback
from moral_compass_ros.nodes._spin import run_node
from moral_compass_ros.parameters import ParameterSpec, declare_parameters
from moral_compass_ros.qos import FEEDBACK_QOS, JOY_QOS, SELECTION_QOS
from moral_compass_ros.web.tablet_bridge import attach_tablet

NODE_SPECS = [
    ParameterSpec(
        "thumbs_up_button",
        0,
        "Joy button index for thumbs up (A on the common game-controller layout).",
        minimum=0,
        maximum=63,
    ),
    ParameterSpec(
        "thumbs_down_button",
        1,
        "Joy button index for thumbs down (B on the common game-controller layout).",
        minimum=0,
        maximum=63,
    ),
    ParameterSpec(
        "deadman_button",
        4,
        "The teleop deadman (enable) button; never used for feedback. -1 = none.",
        minimum=-1,
        maximum=63,
    ),
    ParameterSpec("joy_operator_id", "joy_operator", "Operator id stamped on gamepad answers."),
    ParameterSpec(
        "debounce_s",
        0.3,
        "Presses closer than this to the previous accepted press are ignored (s).",
        minimum=0.0,
        maximum=10.0,
    ),
    ParameterSpec(
        "max_rate_hz",
        5.0,
        "Most answers per second accepted from one source (token bucket, burst = 2 s worth).",
        minimum=0.01,
        maximum=1000.0,
    ),
    ParameterSpec(
        "stale_after_s",
        300.0,
        "Answers to a selection older than this are refused (s).",
        minimum=0.1,
        maximum=86400.0,
    ),
    ParameterSpec(
        "selection_memory",
        200,
        "How many recent selections an answer may name.",
        minimum=1,
        maximum=100000,
    ),
    ParameterSpec(
        "unknown_request_wait_s",
        5.0,
        "An answer naming a request not seen yet waits "
        "this long for its selection before it is refused (s; 0 = refuse at once).",
        minimum=0.0,
        maximum=600.0,
    ),
    ParameterSpec(
        "correction_window_s",
        0.0,
        "Hold each answer this long before sending it; a "
        "later answer by the same operator to the same selection within it replaces "
        "the earlier one (s; 0 = no corrections, first answer counts).",
        minimum=0.0,
        maximum=60.0,
    ),
    ParameterSpec(
        "resend_after_s",
        1.0,
        "Re-send an unacknowledged answer after this long, "
        "doubling after each re-send up to 32x (s).",
        minimum=0.05,
        maximum=60.0,
    ),
]


@dataclass
class _Selection:
    msg: ActionSelection
    received: Time


class _TokenBucket:
    """At most ``rate`` events per second on average, bursts up to ``2 * rate``."""

    def __init__(self, rate: float):
        self.rate, self.capacity = rate, max(1.0, 2.0 * rate)
        self.tokens, self.last = self.capacity, None

    def take(self, now_s: float) -> bool:
        if self.last is not None:
            self.tokens = min(self.capacity, self.tokens + (now_s - self.last) * self.rate)
        self.last = now_s
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def _thumbs(approved: bool) -> str:
    return "up" if approved else "down"


def _check_buttons(values: dict):
    buttons = (values["thumbs_up_button"], values["thumbs_down_button"])
    if buttons[0] == buttons[1]:
        return "thumbs_up_button and thumbs_down_button must differ"
    if values["deadman_button"] in buttons:
        return "the deadman button must not be a feedback button"
    return None


class FeedbackNode(Node):
    """Binds human answers to executed actions and delivers them to the compass node."""

    def __init__(self, **kwargs):
        super().__init__("feedback_node", **kwargs)
        self._params = declare_parameters(self, NODE_SPECS, _check_buttons)
        self._health = NodeHealth(self)
        self._selections: OrderedDict[str, _Selection] = OrderedDict()
        self._button_count = -1
        self._released: set[int] = set()  # buttons seen released by this node: may be pressed
        # (request_id, operator_id) answered -> feedback id, bounded like the selections
        self._answered: OrderedDict[tuple[str, str], str] = OrderedDict()
        # answers inside their correction window: (request_id, operator_id) -> (message, due s)
        self._pending: OrderedDict[tuple[str, str], tuple[HumanFeedback, float]] = OrderedDict()
        self._last_press_s = -float("inf")
        self._buckets: dict[str, _TokenBucket] = {}
        # feedback id -> (message, last sent s, re-sends so far)
        self._unacked: OrderedDict[str, tuple[HumanFeedback, float, int]] = OrderedDict()
        # answers naming a request whose selection has not arrived: (raw message, held since s)
        self._held: list[tuple[HumanFeedback, float]] = []

        self._feedback_pub = self.create_publisher(HumanFeedback, topics.FEEDBACK, FEEDBACK_QOS)
        self._selection_sub = self.create_subscription(
            ActionSelection, topics.SELECTION, self._on_selection, SELECTION_QOS
        )
        self._joy_sub = self.create_subscription(Joy, topics.JOY, self._on_joy, JOY_QOS)
        self._raw_sub = self.create_subscription(
            HumanFeedback, topics.FEEDBACK_RAW, self._on_raw_feedback, FEEDBACK_QOS
        )
        self._ack_sub = self.create_subscription(
            FeedbackAck, topics.FEEDBACK_ACK, self._on_ack, FEEDBACK_QOS
        )
        self._resend_timer = self.create_timer(self._params["resend_after_s"] / 2, self._resend)
        # The operator tablet page (parameters tablet_*; None unless tablet_enabled).
        self._tablet = attach_tablet(self, self._on_tablet_press, self._health)

    def _now_s(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    # -- inputs ---------------------------------------------------------------------------
    def _on_selection(self, msg: ActionSelection) -> None:
        if not msg.selected_id:
            return  # nothing was executed
        if msg.selected.id != msg.selected_id:  # answers would name an action never executed
            self._health.problem(
                "selection",
                f"request {msg.request_id!r}: selected.id "
                f"{msg.selected.id!r} differs from selected_id "
                f"{msg.selected_id!r}; ignored",
            )
            return
        self._selections[msg.request_id] = _Selection(msg, self.get_clock().now())
        self._selections.move_to_end(msg.request_id)
        self._health.values["last_selection"] = msg.request_id
        while len(self._selections) > self._params["selection_memory"]:
            self._selections.popitem(last=False)
        waiting = [raw for raw, _ in self._held if raw.request_id == msg.request_id]
        if waiting:
            self._held = [
                (raw, since) for raw, since in self._held if raw.request_id != msg.request_id
            ]
            for raw in waiting:
                self._health.count("feedback.released")
                self._on_raw_feedback(raw)

    def _on_joy(self, msg: Joy) -> None:
        up, down = self._params["thumbs_up_button"], self._params["thumbs_down_button"]
        buttons = tuple(int(b) for b in msg.buttons)
        if len(buttons) <= max(up, down):
            self._health.problem(
                "joy",
                f"message has {len(buttons)} buttons; thumbs up/down are buttons {up}/{down}",
            )
            return
        if len(buttons) != self._button_count:  # another driver or mapping: start unarmed
            self._button_count, self._released = len(buttons), set()
        # A press is a rising edge after a release seen here: a held button is one answer, and
        # a button already held when this node (re)started is not a press at all.
        pressed_up = bool(buttons[up]) and up in self._released
        pressed_down = bool(buttons[down]) and down in self._released
        for button in (up, down):
            if buttons[button]:
                self._released.discard(button)
            else:
                self._released.add(button)
        if not (pressed_up or pressed_down):
            return
        if pressed_up and pressed_down:
            self._health.problem("joy", "thumbs up and down pressed together; ignored")
            return
        now_s = self._now_s()
        if now_s - self._last_press_s < self._params["debounce_s"]:
            self._health.count("joy.debounced")
            return
        self._last_press_s = now_s
        latest = next(reversed(self._selections.values()), None)
        if latest is None:
            self._health.problem("joy", "a button was pressed before any action was selected")
            return
        feedback = HumanFeedback(
            approved=bool(pressed_up),
            source=HumanFeedback.SOURCE_JOY,
            operator_id=self._params["joy_operator_id"],
        )
        feedback.task_reward = float("nan")
        self._deliver(feedback, latest)

    def _on_raw_feedback(self, msg: HumanFeedback) -> None:
        if (
            msg.request_id
            and msg.request_id not in self._selections
            and self._params["unknown_request_wait_s"] > 0
        ):
            self._hold(msg)
            return
        selection = self._find_selection(msg)
        if selection is None:
            return
        feedback = HumanFeedback(
            feedback_id=msg.feedback_id,
            approved=bool(msg.approved),
            task_reward=float(msg.task_reward),
            responses=list(msg.responses),
            source=msg.source or HumanFeedback.SOURCE_TOPIC,
            operator_id=msg.operator_id,
        )
        self._deliver(feedback, selection)

    def _hold(self, msg: HumanFeedback) -> None:
        """Keep an answer to a request not seen yet until its selection arrives or time runs out.

        At most ``selection_memory`` answers wait; past that the oldest is refused, so a flood
        of answers naming invented requests cannot grow memory.
        """
        self._held.append((msg, self._now_s()))
        self._health.count("feedback.held")
        while len(self._held) > self._params["selection_memory"]:
            raw, _ = self._held.pop(0)
            self._refuse_unknown(raw, "while too many answers waited")

    def _expire_held(self, now_s: float) -> None:
        wait_s = self._params["unknown_request_wait_s"]
        expired = [raw for raw, since in self._held if now_s - since >= wait_s]
        if expired:
            self._held = [(raw, since) for raw, since in self._held if now_s - since < wait_s]
            for raw in expired:
                self._refuse_unknown(raw, f"after waiting {wait_s:g} s for its selection")

    def _refuse_unknown(self, msg: HumanFeedback, why: str) -> None:
        self._health.problem(
            "feedback",
            f"request {msg.request_id!r} is unknown (never "
            f"selected, or forgotten); answer refused {why}",
        )

    def _find_selection(self, msg: HumanFeedback) -> _Selection | None:
        if msg.request_id:
            selection = self._selections.get(msg.request_id)
            if selection is None:
                self._health.problem(
                    "feedback",
                    f"request {msg.request_id!r} is unknown (never selected, or forgotten)",
                )
            elif msg.action.id and msg.action.id != selection.msg.selected_id:
                self._health.problem(
                    "feedback",
                    f"action {msg.action.id!r} was not the one "
                    f"executed for request {msg.request_id!r}",
                )
                return None
            return selection
        if msg.action.id:
            for selection in reversed(self._selections.values()):
                if selection.msg.selected_id == msg.action.id:
                    return selection
            self._health.problem("feedback", f"action {msg.action.id!r} was never executed")
            return None
        self._health.problem("feedback", "names neither a request_id nor an action id")
        return None

    # -- delivery ---------------------------------------------------------------------------
    def _selection_age_s(self, selection: _Selection) -> float:
        """Age from the selection's own stamp; from its arrival only when it carries none."""
        stamp = Time.from_msg(selection.msg.header.stamp, clock_type=self.get_clock().clock_type)
        since = stamp if stamp.nanoseconds > 0 else selection.received
        return (self.get_clock().now() - since).nanoseconds * 1e-9

    def _deliver(self, feedback: HumanFeedback, selection: _Selection) -> None:
        request_id = selection.msg.request_id
        age_s = self._selection_age_s(selection)
        if age_s > self._params["stale_after_s"]:
            self._health.problem(
                "feedback", f"answer to request {request_id!r} is stale ({age_s:.0f} s old)"
            )
            return
        key = (request_id, feedback.operator_id)
        if key in self._answered:
            self._health.problem(
                "chatter",
                f"operator {feedback.operator_id!r} already answered "
                f"request {request_id!r} ({self._answered[key]}); this "
                f"{feedback.source} answer is refused (one answer per selection)",
            )
            return
        bucket = self._buckets.setdefault(
            feedback.source, _TokenBucket(self._params["max_rate_hz"])
        )
        if not bucket.take(self._now_s()):
            self._health.problem(
                "rate",
                f"source {feedback.source!r} exceeds {self._params['max_rate_hz']} answers/s",
            )
            return
        feedback.feedback_id = feedback.feedback_id or str(uuid.uuid4())
        feedback.request_id = selection.msg.request_id
        feedback.action = selection.msg.selected
        feedback.context = list(selection.msg.context)
        feedback.weight = 1.0
        feedback.corrects_feedback_id = ""  # only this node marks corrections
        feedback.header.stamp = self.get_clock().now().to_msg()
        if self._params["correction_window_s"] > 0:
            earlier = self._pending.pop(key, None)
            if earlier is not None:
                self._health.count("feedback.corrected")
                self.get_logger().info(
                    f"operator {feedback.operator_id!r} corrected the answer to {request_id!r}: "
                    f"{_thumbs(earlier[0].approved)} -> {_thumbs(feedback.approved)} "
                    f"({earlier[0].feedback_id} replaced by {feedback.feedback_id})"
                )
                feedback.corrects_feedback_id = earlier[0].feedback_id
            self._pending[key] = (feedback, self._now_s() + self._params["correction_window_s"])
            return
        self._send(key, feedback)

    def _send(self, key: tuple[str, str], feedback: HumanFeedback) -> None:
        self._answered[key] = feedback.feedback_id
        while len(self._answered) > 4 * self._params["selection_memory"]:
            self._answered.popitem(last=False)
        self._unacked[feedback.feedback_id] = (feedback, self._now_s(), 0)
        self._feedback_pub.publish(feedback)
        self._health.count(f"feedback.sent.{feedback.source}")
        self.get_logger().debug(
            f"sent {feedback.feedback_id} ({feedback.source}, "
            f"{feedback.operator_id}, {_thumbs(feedback.approved)}) for "
            f"request {feedback.request_id!r}"
        )

    def _send_due(self, now_s: float) -> None:
        for key, (feedback, due_s) in list(self._pending.items()):
            if now_s >= due_s:
                del self._pending[key]
                self._send(key, feedback)

    def _on_tablet_press(self, approved: bool, request_id: str, operator_id: str) -> tuple:
        """One tablet press -> exactly one ``HumanFeedback`` (source ``tablet``).

        Bound to the selection the operator saw (``request_id``), then the same delivery path
        as the gamepad. Returns ``(feedback_id, "")``, or ``("", reason)`` when refused.
        """
        selection = self._selections.get(request_id)
        if selection is None:
            reason = f"request {request_id!r} is unknown (never selected, or forgotten)"
            self._health.problem("tablet", reason)
            return "", reason
        feedback = HumanFeedback(
            approved=bool(approved), source=HumanFeedback.SOURCE_TABLET, operator_id=operator_id
        )
        feedback.task_reward = float("nan")
        self._deliver(feedback, selection)
        key = (request_id, operator_id)
        if feedback.feedback_id and (
            feedback.feedback_id in self._unacked or self._pending.get(key, (None,))[0] is feedback
        ):
            return feedback.feedback_id, ""
        return "", self._health.last_problem or "refused"

    def destroy_node(self) -> None:
        """Stop the tablet page (if any), then destroy the node."""
        if self._tablet is not None:
            self._tablet.stop()
        super().destroy_node()

    def _on_ack(self, msg: FeedbackAck) -> None:
        if self._unacked.pop(msg.feedback_id, None) is not None:
            self._health.count("feedback.acknowledged")
            if msg.status == FeedbackAck.STATUS_REJECTED:
                self._health.problem(
                    "feedback", f"compass refused {msg.feedback_id}: {msg.reason}"
                )

    def _resend(self) -> None:
        now_s = self._now_s()
        self._expire_held(now_s)
        self._send_due(now_s)
        for feedback_id, (feedback, sent_s, resends) in list(self._unacked.items()):
            # exponential back-off: a busy compass node is not flooded with re-sends
            if now_s - sent_s >= self._params["resend_after_s"] * 2 ** min(resends, 5):
                self._feedback_pub.publish(feedback)  # the compass applies an id only once
                self._unacked[feedback_id] = (feedback, now_s, resends + 1)
                self._health.count("feedback.resent")
        self._health.values["unacknowledged"] = str(len(self._unacked))
        self._health.values["waiting_for_selection"] = str(len(self._held))


def main(args=None) -> NoReturn:
    """Entry point of ``ros2 run moral_compass_ros feedback_node``."""
    return run_node(FeedbackNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
