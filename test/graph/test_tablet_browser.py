# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The tablet page in real headless Chromium, served by the real feedback node over loopback.

Playwright drives Debian's ``/usr/bin/chromium`` (never a downloaded browser); the feedback
node runs as a child process with the tablet enabled on an ephemeral port; this test process
plays planner, compass node and observer over DDS (private rclpy context, own domain id).
"""

import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import rclpy.node
from rclpy.executors import SingleThreadedExecutor

from moral_compass_ros import topics
from moral_compass_ros.msg import (
    ActionScore,
    ActionSelection,
    CandidateAction,
    FeedbackAck,
    HumanFeedback,
    MoralCompass,
)
from moral_compass_ros.qos import FEEDBACK_QOS, SELECTION_QOS, STATE_QOS
from moral_compass_ros.web.auth import hash_token
from ros_helpers import REPO_ROOT, ros_context, start_python, stop_process

from playwright import sync_api as playwright_api  # pinned in requirements.txt

CHROMIUM = "/usr/bin/chromium"
TOKEN = "tablet-test-token-7f3a9c"
NAMES = ["care", "fairness", "loyalty", "authority", "sanctity"]
PHONE = {"width": 390, "height": 844}
SCREENSHOT = REPO_ROOT / "doc" / "tablet.png"

pytestmark = pytest.mark.ros


def _compass(version, mean):
    rng = np.random.default_rng(version)
    particles = rng.dirichlet(20 * np.asarray(mean), size=32)
    return MoralCompass(
        value_names=NAMES,
        particles=particles.reshape(-1).tolist(),
        weights=[1 / 32] * 32,
        mean=list(mean),
        entropy=float(np.log(32)),
        effective_sample_size=32.0,
        version=version,
        applied_events=version - 1,
    )


def _selection():
    scores = [
        ActionScore(id="a0", predicted_approval=0.35, fingerprint_mean=[0.2] * 5),
        ActionScore(id="a1", predicted_approval=0.72, fingerprint_mean=[0.2] * 5),
    ]
    return ActionSelection(
        request_id="r-17",
        selected_id="a1",
        scores=scores,
        context=[0.0] * 3,
        selected=CandidateAction(id="a1", label="hand over the cup", features=[0.1] * 8),
        compass_version=1,
    )


class _Graph:
    """This test's side of the ROS graph, spun in a background thread."""

    def __init__(self, context):
        self.node = rclpy.node.Node("tablet_browser_test", context=context)
        self.feedback: list[HumanFeedback] = []
        self.compass_pub = self.node.create_publisher(MoralCompass, topics.COMPASS, STATE_QOS)
        self.selection_pub = self.node.create_publisher(
            ActionSelection, topics.SELECTION, SELECTION_QOS
        )
        self.ack_pub = self.node.create_publisher(FeedbackAck, topics.FEEDBACK_ACK, FEEDBACK_QOS)
        self.node.create_subscription(
            HumanFeedback, topics.FEEDBACK, self._on_feedback, FEEDBACK_QOS
        )
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _on_feedback(self, msg):  # plays the compass node: acknowledge, so no re-sends
        self.feedback.append(msg)
        self.ack_pub.publish(
            FeedbackAck(feedback_id=msg.feedback_id, status=FeedbackAck.STATUS_APPLIED)
        )

    def close(self):
        self.executor.shutdown()
        self.thread.join(5)
        self.node.destroy_node()


def _wait(predicate, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def _read_url(proc, lines, timeout_s=60.0):
    def pump():
        for line in proc.stdout:
            lines.append(line)

    threading.Thread(target=pump, daemon=True).start()
    pattern = re.compile(r"tablet page: (http://127\.0\.0\.1:\d+/)")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in list(lines):
            match = pattern.search(line)
            if match:
                return match.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError("feedback_node did not log its tablet URL:\n" + "".join(lines))


def test_operator_logs_in_sees_compass_and_thumbs_up_reaches_dds(tmp_path):
    # Never skipped: scripts/setup.sh installs Debian's chromium, so a missing browser fails.
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: run scripts/setup.sh"
    operators = tmp_path / "operators.yaml"
    operators.write_text(f'operators:\n  - id: alice\n    token_hash: "{hash_token(TOKEN)}"\n')
    log_dir = tmp_path / "ros_log"
    node_proc = start_python(
        [
            "-m",
            "moral_compass_ros.nodes.feedback_node",
            "--ros-args",
            "-p",
            "tablet_enabled:=true",
            "-p",
            "tablet_port:=0",
            "-p",
            f"tablet_operators_file:={operators}",
        ],
        ROS_LOG_DIR=str(log_dir),
        ROS_HOME=str(tmp_path / "ros_home"),
    )
    output: list[str] = []
    try:
        url = _read_url(node_proc, output)
        with ros_context() as context:
            graph = _Graph(context)
            try:
                _run_browser(url, graph)
            finally:
                graph.close()
    finally:
        output_text = stop_process(node_proc) + "".join(output)
    logs = output_text + "".join(
        p.read_text(errors="replace") for p in log_dir.rglob("*") if p.is_file()
    )
    assert "tablet page: http://127.0.0.1:" in logs
    assert "operator alice logged in" in logs
    assert TOKEN not in logs, "the operator's token reached a log"


def _run_browser(url, graph):
    expect = playwright_api.expect
    node = graph.node
    _wait(
        lambda: (
            node.count_subscribers(topics.SELECTION) >= 1
            and node.count_subscribers(topics.COMPASS) >= 1
            and node.count_publishers(topics.FEEDBACK) >= 1
        ),
        30,
        "the feedback node's topics",
    )
    graph.compass_pub.publish(_compass(1, [0.3, 0.25, 0.2, 0.15, 0.1]))
    graph.selection_pub.publish(_selection())

    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            context = browser.new_context(
                viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
            )
            page = context.new_page()
            page.set_default_timeout(20_000)
            problems = []
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

            # -- log in ------------------------------------------------------------------
            page.goto(url)
            expect(page).to_have_url(re.compile(r"/login$"))
            page.fill("#operator", "alice")
            page.fill("#token", "wrong-token-000")
            page.click("#login-button")
            expect(page.locator("#login-error")).not_to_be_empty()
            page.fill("#token", TOKEN)
            page.click("#login-button")
            expect(page).to_have_url(url)
            expect(page.locator("#operator-name")).to_have_text("alice")

            # -- see the last action and the compass ---------------------------------------
            expect(page.locator("#action-label")).to_have_text("hand over the cup")
            expect(page.locator("#predicted-approval")).to_have_text("72 %")
            expect(page.locator("#compass-version")).to_have_text("v1")
            expect(page.locator("#compass-chart rect.bar")).to_have_count(len(NAMES))
            expect(page.locator("#compass-chart")).to_have_attribute("data-version", "1")
            expect(page.locator("#connection")).to_have_text("live")

            # -- thumbs up becomes exactly one HumanFeedback over DDS ---------------------
            expect(page.locator("#btn-up")).to_be_enabled()
            page.click("#btn-up")
            expect(page.locator("#press-status")).to_contain_text("sent")
            _wait(lambda: graph.feedback, 15, "the HumanFeedback on 'feedback'")
            feedback = graph.feedback[0]
            assert feedback.source == HumanFeedback.SOURCE_TABLET
            assert feedback.operator_id == "alice" and feedback.approved is True
            assert feedback.request_id == "r-17" and feedback.action.id == "a1"
            assert feedback.feedback_id

            # -- "can't tell" is counted, nothing is sent ----------------------------------
            page.click("#btn-unsure")
            expect(page.locator("#press-status")).to_contain_text("can't tell")
            expect(page.locator("#counts")).to_contain_text("1 good")
            expect(page.locator("#counts")).to_contain_text("1 can't tell")

            # -- a new compass version updates the chart live ------------------------------
            graph.compass_pub.publish(_compass(2, [0.5, 0.2, 0.1, 0.1, 0.1]))
            expect(page.locator("#compass-version")).to_have_text("v2")
            expect(page.locator("#compass-chart")).to_have_attribute("data-version", "2")
            expect(page.locator("#history-chart polyline")).to_have_count(len(NAMES))
            page.wait_for_timeout(300)
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            # -- refusals: no credentials, cross-site POST, missing CSRF token -------------
            anonymous = p.request.new_context(base_url=url)
            assert anonymous.get("api/state").status == 401
            assert anonymous.get("events").status == 401
            refused = anonymous.post(
                "api/press",
                headers={"Origin": url.rstrip("/")},
                data={"verdict": "up", "request_id": "r-17"},
            )
            assert refused.status == 401
            anonymous.dispose()
            csrf = page.evaluate("fetch('/api/session').then(r => r.json()).then(b => b.csrf)")
            cross_site = context.request.post(
                url + "api/press",
                headers={"Origin": "http://evil.example", "X-CSRF-Token": csrf},
                data={"verdict": "down", "request_id": "r-17"},
            )
            assert cross_site.status == 403
            form_csrf = context.request.post(  # a classic cross-site HTML form
                url + "api/press",
                headers={"Origin": "http://evil.example"},
                form={"verdict": "down", "request_id": "r-17"},
            )
            assert form_csrf.status == 403
            no_token = context.request.post(
                url + "api/press",
                headers={"Origin": url.rstrip("/")},
                data={"verdict": "down", "request_id": "r-17"},
            )
            assert no_token.status == 403

            time.sleep(1.5)  # a re-send or a leaked press would show up by now
            ids = {f.feedback_id for f in graph.feedback}
            assert len(ids) == 1, f"expected exactly one HumanFeedback, got {graph.feedback}"
            assert not [pr for pr in problems if "401" not in pr], problems
        finally:
            browser.close()
