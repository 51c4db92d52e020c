# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""Security: replayed and stale tablet requests, tokens out of every log, loopback
binding, and the legitimacy policy enforced on *every* input path.

The tablet's basic refusals (no session, cross-site, bad CSRF, login rate limit) are in
``test_tablet_server.py`` / ``test_tablet_browser.py``; this file adds what they lack.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import re
import time

import pytest
import yaml
from sensor_msgs.msg import Joy

from moral_compass_ros import topics
from moral_compass_ros.core.journal import FeedbackJournal
from moral_compass_ros.graph import GRAPH_NODES, GraphRunner, node_parameters
from moral_compass_ros.msg import (
    ActionSelection,
    CandidateAction,
    FeedbackAck,
    HumanFeedback,
    MoralCompass,
)
from moral_compass_ros.qos import FEEDBACK_QOS, JOY_QOS, SELECTION_QOS, STATE_QOS
from moral_compass_ros.web.auth import Operator, hash_token
from moral_compass_ros.web.server import PressOutcome, TabletServer
from moral_compass_ros.web.tablet_bridge import TABLET_SPECS
from graph_fixture import write_params
from reliability_helpers import SMALL_LEARNER
from ros_helpers import Probe, ros_context

TOKEN = "alice-secret-token-42"
VISITOR_TOKEN = "visitor-token-0123456789"


# ------------------------------------------------------------------------------ tablet server
@pytest.fixture
def server(caplog):
    caplog.set_level(logging.DEBUG)
    presses = []

    def on_press(verdict, request_id, operator_id):
        presses.append((verdict, request_id, operator_id))
        return PressOutcome(True, f"f{len(presses)}", "")

    srv = TabletServer(
        {"alice": Operator("alice", hash_token(TOKEN))},
        on_press,
        login_max_failures=3,
        session_ttl_s=1.0,
        logger=logging.getLogger("tablet-security-test"),
    )
    srv.start()
    srv.presses = presses
    yield srv
    srv.stop()
    assert TOKEN not in caplog.text, "a token reached the log"


def _request(srv, method, path, body=None, cookie=None, csrf=None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    headers = {"Host": f"127.0.0.1:{srv.port}", "Origin": f"http://127.0.0.1:{srv.port}"}
    if cookie:
        headers["Cookie"] = cookie
    if csrf:
        headers["X-CSRF-Token"] = csrf
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, payload


def _login(srv, operator="alice", token=TOKEN):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.request(
        "POST",
        "/api/login",
        body=json.dumps({"operator": operator, "token": token}),
        headers={
            "Host": f"127.0.0.1:{srv.port}",
            "Content-Type": "application/json",
            "Origin": f"http://127.0.0.1:{srv.port}",
        },
    )
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    cookie = response.getheader("Set-Cookie").split(";")[0]
    conn.close()
    status, info = _request(srv, "GET", "/api/session", cookie=cookie)
    return cookie, json.loads(info)["csrf"]


PRESS = {"verdict": "up", "request_id": "r1"}


def test_a_press_replayed_after_logout_is_refused(server):
    cookie, csrf = _login(server)
    assert _request(server, "POST", "/api/press", PRESS, cookie, csrf)[0] == 200
    assert _request(server, "POST", "/api/logout", {}, cookie, csrf)[0] == 200
    assert _request(server, "POST", "/api/press", PRESS, cookie, csrf)[0] == 401  # replay
    assert server.presses == [("up", "r1", "alice")]


def test_a_csrf_token_is_bound_to_its_session(server):
    cookie_1, csrf_1 = _login(server)
    cookie_2, csrf_2 = _login(server)
    assert csrf_1 != csrf_2 and cookie_1 != cookie_2
    assert _request(server, "POST", "/api/press", PRESS, cookie_2, csrf_1)[0] == 403
    assert _request(server, "POST", "/api/logout", {}, cookie_1, csrf_1)[0] == 200
    assert _request(server, "POST", "/api/press", PRESS, cookie_2, csrf_1)[0] == 403  # old one
    assert server.presses == []


def test_a_press_replayed_after_the_session_expired_is_refused(server):
    cookie, csrf = _login(server)
    time.sleep(1.5)  # session_ttl_s = 1 s without a request (a lower bound, not a timing test)
    assert _request(server, "POST", "/api/press", PRESS, cookie, csrf)[0] == 401
    assert server.presses == []


def test_a_token_typed_into_the_operator_field_never_reaches_the_log(server, caplog):
    for _ in range(2):
        status, _ = _request(server, "POST", "/api/login", {"operator": TOKEN, "token": "x" * 12})
        assert status == 401
    assert "failed login" in caplog.text
    assert TOKEN not in caplog.text  # (caplog holds only this phase's records: check here)


def test_the_page_binds_loopback_unless_configured():
    srv = TabletServer({}, lambda *a: PressOutcome(False))
    try:
        srv.start()
        assert srv.host == "127.0.0.1"
        assert srv._runner.addresses[0][0] == "127.0.0.1"
    finally:
        srv.stop()
    spec = next(s for s in TABLET_SPECS if s.name == "tablet_host")
    assert spec.default == "127.0.0.1" and spec.read_only


# ------------------------------------------------------------------------------ every path
NODES = {n.name: n for n in GRAPH_NODES}


class _Probe(Probe):
    """Publishes on every input path and hears the acks, the feedback and the compass."""

    def __init__(self, context):
        super().__init__(context, "security_probe")
        self.acks, self.feedback, self.compasses = [], [], []
        n = self.node
        self.selection_pub = n.create_publisher(ActionSelection, topics.SELECTION, SELECTION_QOS)
        self.joy_pub = n.create_publisher(Joy, topics.JOY, JOY_QOS)
        self.raw_pub = n.create_publisher(HumanFeedback, topics.FEEDBACK_RAW, FEEDBACK_QOS)
        self.feedback_pub = n.create_publisher(HumanFeedback, topics.FEEDBACK, FEEDBACK_QOS)
        n.create_subscription(FeedbackAck, topics.FEEDBACK_ACK, self.acks.append, FEEDBACK_QOS)
        n.create_subscription(HumanFeedback, topics.FEEDBACK, self.feedback.append, FEEDBACK_QOS)
        n.create_subscription(MoralCompass, topics.COMPASS, self.compasses.append, STATE_QOS)


def _tablet_url(log_dir, timeout_s=120.0) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        log = log_dir / "feedback_node.log"
        if log.exists():
            match = re.search(r"tablet page: (http://127\.0\.0\.1:(\d+)/)", log.read_text())
            if match:
                return match.group(2)
        time.sleep(0.1)
    log = log_dir / "feedback_node.log"
    raise AssertionError(
        "the feedback node never logged its tablet URL:\n"
        + (log.read_text()[-3000:] if log.exists() else "(no log)")
    )


def _tablet_press(port: str, request_id: str) -> int:
    headers = {
        "Host": f"127.0.0.1:{port}",
        "Origin": f"http://127.0.0.1:{port}",
        "Content-Type": "application/json",
    }
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    conn.request(
        "POST", "/api/login", json.dumps({"operator": "visitor", "token": VISITOR_TOKEN}), headers
    )
    response = conn.getresponse()
    response.read()
    assert response.status == 200
    cookie = response.getheader("Set-Cookie").split(";")[0]
    conn.request("GET", "/api/session", headers={**headers, "Cookie": cookie})
    csrf = json.loads(conn.getresponse().read())["csrf"]
    conn.request(
        "POST",
        "/api/press",
        json.dumps({"verdict": "up", "request_id": request_id}),
        {**headers, "Cookie": cookie, "X-CSRF-Token": csrf},
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


@pytest.mark.ros
def test_a_forbidden_operator_cannot_move_the_compass_through_any_input_path(tmp_path):
    """Joy (joy_operator_id = visitor), feedback/raw, the tablet and `feedback` directly: the
    compass node refuses all four (one enforcement point), then an allowed answer on the same
    path still gets through (so the refusals are the policy, not a broken path)."""
    operators = tmp_path / "operators.yaml"
    operators.write_text(
        f'operators:\n  - id: visitor\n    token_hash: "{hash_token(VISITOR_TOKEN)}"\n'
    )
    params = write_params(tmp_path, **SMALL_LEARNER)
    # Node-specific YAML keys outrank `-p` (which rcl files under /**): edit the YAML itself.
    config = yaml.safe_load(params.read_text())
    node_parameters(config, "feedback_node").update(
        tablet_enabled=True,
        tablet_port=0,
        tablet_operators_file=str(operators),
        joy_operator_id="visitor",
        max_rate_hz=100.0,
    )
    params.write_text(yaml.safe_dump(config))
    nodes = [NODES["compass_node"], NODES["feedback_node"]]
    with (
        ros_context() as context,
        GraphRunner(nodes, params_files=[params], log_dir=tmp_path / "logs") as runner,
    ):
        runner.start()
        probe = _Probe(context)
        try:
            port = _tablet_url(tmp_path / "logs")
            n = probe.node
            assert probe.spin_until(
                lambda: (
                    probe.compasses
                    and probe.feedback_pub.get_subscription_count() >= 2
                    and probe.raw_pub.get_subscription_count() > 0
                    and probe.joy_pub.get_subscription_count() > 0
                    and n.count_subscribers(topics.SELECTION) >= 2
                    and n.count_publishers(topics.FEEDBACK) >= 2
                ),
                120,
            )
            version = probe.compasses[-1].version
            # one selection per input path: an operator answers each selection once
            for request_id in ("r-sec-tab", "r-sec", "r-sec-joy"):  # joy answers the latest
                selection = ActionSelection(
                    request_id=request_id,
                    selected_id="r-sec-a0",
                    context=[0.1] * 3,
                    selected=CandidateAction(id="r-sec-a0", label="go", features=[0.3] * 8),
                )
                probe.selection_pub.publish(selection)
            probe.spin_until(lambda: False, 1.0)  # the feedback node binds answers to it

            probe.joy_pub.publish(Joy(buttons=[0] * 12))  # 1. joy
            probe.joy_pub.publish(Joy(buttons=[1] + [0] * 11))
            probe.joy_pub.publish(Joy(buttons=[0] * 12))
            probe.raw_pub.publish(
                HumanFeedback(
                    request_id="r-sec",
                    approved=True,  # 2. raw
                    task_reward=math.nan,
                    operator_id="visitor",
                )
            )
            assert _tablet_press(port, "r-sec-tab") == 200  # 3. tablet
            direct = HumanFeedback(
                feedback_id="direct-visitor",
                request_id="r-sec",  # 4. direct
                action=selection.selected,
                context=[0.1] * 3,
                approved=True,
                task_reward=math.nan,
                source="sim",
                operator_id="visitor",
                weight=1.0,
            )
            probe.feedback_pub.publish(direct)

            def refusals():
                return {
                    f.source
                    for f in probe.feedback
                    if any(
                        a.feedback_id == f.feedback_id and a.status == FeedbackAck.STATUS_REJECTED
                        for a in probe.acks
                    )
                }

            assert probe.spin_until(lambda: refusals() >= {"joy", "topic", "tablet", "sim"}, 60), (
                refusals(),
                [(a.feedback_id, a.reason) for a in probe.acks],
            )
            for ack in probe.acks:
                assert ack.status == FeedbackAck.STATUS_REJECTED
                assert "operator 'visitor' may not shape the compass" in ack.reason
            assert all(f.operator_id == "visitor" for f in probe.feedback)
            probe.spin_until(lambda: False, 1.5)  # a leaked answer would show up by now
            assert probe.compasses[-1].version == version

            # control: an allowed operator on the same raw path moves it (the path works)
            probe.raw_pub.publish(
                HumanFeedback(
                    request_id="r-sec", approved=True, task_reward=math.nan, operator_id="alice"
                )
            )
            assert probe.spin_until(lambda: probe.compasses[-1].version == version + 1, 60)
            assert runner.dead() == {}
        finally:
            probe.close()
    journal = FeedbackJournal(tmp_path / "state" / "journal.jsonl", readonly=True)
    assert [e.operator for _, e in journal.read()] == ["alice"]
