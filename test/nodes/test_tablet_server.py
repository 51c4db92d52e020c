# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The tablet web server without ROS: login, sessions, CSRF, Origin/Host checks, presses, SSE."""

import http.client
import json
import logging
import threading
import time

import pytest

from moral_compass_ros.web.auth import Operator, hash_token
from moral_compass_ros.web.server import PressOutcome, TabletServer

TOKEN = "alice-secret-token-42"


class Recorder:
    """A fake delivery path: records presses, refuses request 'gone'."""

    def __init__(self):
        self.presses = []

    def __call__(self, verdict, request_id, operator_id):
        if request_id == "gone":
            return PressOutcome(False, "", "request 'gone' is unknown")
        self.presses.append((verdict, request_id, operator_id))
        return PressOutcome(True, f"f{len(self.presses)}", "")


@pytest.fixture
def server(caplog):
    caplog.set_level(logging.DEBUG)
    recorder = Recorder()
    srv = TabletServer(
        {"alice": Operator("alice", hash_token(TOKEN))},
        recorder,
        login_max_failures=3,
        login_window_s=60.0,
        logger=logging.getLogger("tablet-test"),
    )
    srv.start()
    srv.recorder = recorder
    yield srv
    srv.stop()
    assert TOKEN not in caplog.text, "a token reached the log"


def request(
    srv,
    method,
    path,
    body=None,
    cookie=None,
    origin="same",
    csrf=None,
    host=None,
    content_type="application/json",
):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    headers = {"Host": host or f"127.0.0.1:{srv.port}"}
    if origin == "same":
        headers["Origin"] = f"http://127.0.0.1:{srv.port}"
    elif origin:
        headers["Origin"] = origin
    if cookie:
        headers["Cookie"] = cookie
    if csrf:
        headers["X-CSRF-Token"] = csrf
    data = None
    if body is not None:
        data = json.dumps(body).encode() if content_type == "application/json" else body
        headers["Content-Type"] = content_type
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response, payload


def login(srv, operator="alice", token=TOKEN):
    response, payload = request(srv, "POST", "/api/login", {"operator": operator, "token": token})
    assert response.status == 200, payload
    set_cookie = response.getheader("Set-Cookie")
    cookie = set_cookie.split(";")[0]
    _, info = request(srv, "GET", "/api/session", cookie=cookie)
    return cookie, json.loads(info)["csrf"], set_cookie


def test_unauthenticated_requests_are_refused(server):
    for path in ("/api/state", "/api/session", "/events"):
        assert request(server, "GET", path)[0].status == 401
    assert request(server, "POST", "/api/press", {"verdict": "up"})[0].status == 401
    response, _ = request(server, "GET", "/")
    assert response.status == 303 and response.getheader("Location") == "/login"
    assert request(server, "GET", "/login")[0].status == 200
    assert request(server, "GET", "/api/state", cookie="mc_session=forged")[0].status == 401
    assert not server.recorder.presses


def test_login_sets_a_strict_httponly_cookie_and_the_page_opens(server):
    cookie, csrf, set_cookie = login(server)
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
    assert TOKEN not in set_cookie and len(csrf) >= 32
    response, page = request(server, "GET", "/", cookie=cookie)
    assert response.status == 200 and b'id="btn-up"' in page
    assert "script-src 'self'" in response.getheader("Content-Security-Policy")
    assert response.getheader("X-Frame-Options") == "DENY"


def test_wrong_token_then_rate_limit(server):
    for _ in range(3):
        assert (
            request(
                server, "POST", "/api/login", {"operator": "alice", "token": "wrong-token-xyz"}
            )[0].status
            == 401
        )
    response, _ = request(server, "POST", "/api/login", {"operator": "alice", "token": TOKEN})
    assert response.status == 429 and int(response.getheader("Retry-After")) > 0


def test_press_needs_csrf_same_origin_and_json(server):
    cookie, csrf, _ = login(server)
    server.publish_selection("r1", "a1", "hand over the cup", 0.7, 3)
    body = {"verdict": "up", "request_id": "r1"}
    assert request(server, "POST", "/api/press", body, cookie=cookie)[0].status == 403
    assert request(server, "POST", "/api/press", body, cookie=cookie, csrf="bad")[0].status == 403
    assert (
        request(
            server,
            "POST",
            "/api/press",
            body,
            cookie=cookie,
            csrf=csrf,
            origin="http://evil.example",
        )[0].status
        == 403
    )
    assert (
        request(server, "POST", "/api/press", body, cookie=cookie, csrf=csrf, origin=None)[
            0
        ].status
        == 403
    )  # neither Origin nor Referer
    assert (
        request(
            server,
            "POST",
            "/api/press",
            b"verdict=up",
            cookie=cookie,
            csrf=csrf,
            content_type="application/x-www-form-urlencoded",
        )[0].status
        == 415
    )
    assert not server.recorder.presses
    response, payload = request(server, "POST", "/api/press", body, cookie=cookie, csrf=csrf)
    assert response.status == 200 and json.loads(payload)["feedback_id"] == "f1"
    assert server.recorder.presses == [("up", "r1", "alice")]
    response, payload = request(
        server,
        "POST",
        "/api/press",
        {"verdict": "down", "request_id": "gone"},
        cookie=cookie,
        csrf=csrf,
    )
    assert response.status == 409 and "unknown" in json.loads(payload)["message"]
    assert (
        request(server, "POST", "/api/press", {"verdict": "maybe"}, cookie=cookie, csrf=csrf)[
            0
        ].status
        == 400
    )
    state = json.loads(request(server, "GET", "/api/state", cookie=cookie)[1])
    assert state["counts"] == {"up": 1, "down": 0, "unsure": 0}


def test_cross_site_login_and_foreign_host_are_refused(server):
    assert (
        request(
            server,
            "POST",
            "/api/login",
            {"operator": "alice", "token": TOKEN},
            origin="http://evil.example",
        )[0].status
        == 403
    )
    # DNS rebinding: the browser sends the attacker's host name in Host
    response, _ = request(server, "GET", "/login", host=f"evil.example:{server.port}")
    assert response.status == 403


def test_logout_ends_the_session(server):
    cookie, csrf, _ = login(server)
    assert request(server, "POST", "/api/logout", {}, cookie=cookie, csrf=csrf)[0].status == 200
    assert request(server, "GET", "/api/state", cookie=cookie)[0].status == 401


def test_event_stream_sends_state_on_change(server):
    cookie, _, _ = login(server)
    server.publish_compass(1, ["care", "fairness"], [0.5, 0.5], 1.2, 30.0)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/events", headers={"Cookie": cookie})
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type").startswith("text/event-stream")

    def next_state():
        lines = []
        while True:
            line = response.fp.readline().decode()
            if line == "\n" and any(item.startswith("data:") for item in lines):
                return json.loads([x for x in lines if x.startswith("data:")][0][5:])
            if line != "\n":
                lines.append(line.strip())

    assert next_state()["compass"]["version"] == 1
    threading.Timer(
        0.2, server.publish_compass, (2, ["care", "fairness"], [0.7, 0.3], 1.0, 25.0)
    ).start()
    t0 = time.monotonic()
    state = next_state()
    assert state["compass"]["version"] == 2 and time.monotonic() - t0 < 5
    assert [h["version"] for h in state["history"]] == [1, 2]
    conn.close()
