# Copyright 2026 The moral_compass_ros authors
# SPDX-License-Identifier: Apache-2.0
"""The tablet page's web server (aiohttp), ROS-free: sessions, CSRF, live state over SSE.

Why aiohttp: one maintained package (no separate ASGI server) gives an asyncio HTTP server
that runs in its own thread beside an rclpy executor, streams server-sent events with a plain
``StreamResponse``, and serves static files; no template engine or CDN is needed.

Security model (an operator's press moves a robot's values, so every press is attributable):

* Bound to ``127.0.0.1`` by default; a ``Host`` header outside the allowed set is refused
  (403), which defeats DNS rebinding.
* Login: operator id + token, checked against scrypt hashes (:mod:`.auth`), rate-limited per
  client address and per operator (429 + ``Retry-After``). The token travels only in the POST
  body and is never logged.
* Session: a random 256-bit id in a cookie ``HttpOnly; SameSite=Strict; Path=/`` (``Secure``
  with TLS), idle timeout; sessions live in memory only (a restart logs everybody out).
* Every API request without a valid session gets 401. Every POST must carry an ``Origin`` (or
  ``Referer``) equal to the page's own origin and, once logged in, the session's CSRF token in
  ``X-CSRF-Token``; POST bodies must be JSON. Otherwise 403.
* Strict Content-Security-Policy (scripts and styles from this server only), no framing.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import ssl
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

from aiohttp import web

from moral_compass_ros.web.auth import (
    OPERATOR_ID_PATTERN,
    LoginLimiter,
    Operator,
    authenticate,
)

STATIC_DIR = Path(__file__).resolve().parent
COOKIE_NAME = "mc_session"
CSRF_HEADER = "X-CSRF-Token"
VERDICTS = ("up", "down", "unsure")
HISTORY_LENGTH = 60
MAX_EVENT_STREAMS = 32
KEEPALIVE_S = 15.0
MAX_BODY_BYTES = 4096

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "img-src 'self'; connect-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # "same-origin" (not "no-referrer"): with no-referrer browsers send "Origin: null".
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class PressOutcome:
    """What became of a press: ``ok`` and the ``HumanFeedback`` id, or the refusal's reason."""

    ok: bool
    feedback_id: str = ""
    message: str = ""


@dataclass
class _Session:
    operator_id: str
    csrf: str
    last_seen: float


@dataclass
class _State:
    compass: Optional[dict] = None
    history: deque = field(default_factory=lambda: deque(maxlen=HISTORY_LENGTH))
    selection: Optional[dict] = None
    counts: Counter = field(default_factory=Counter)
    serial: int = 0


def _finite(value, default=None):
    value = float(value)
    return value if math.isfinite(value) else default


class TabletServer:
    """Serves the tablet page in a background thread; thread-safe state updates.

    Parameters
    ----------
    operators : mapping of str to Operator
        Who may log in (from :func:`moral_compass_ros.web.auth.load_operators`).
    on_press : callable (verdict, request_id, operator_id) -> PressOutcome
        Called for every authenticated press (verdict in ``up``, ``down``, ``unsure``), from
        a worker thread; it may block up to a few seconds.
    host : str
        Address to bind (``127.0.0.1`` by default; ``0.0.0.0`` exposes the page to the LAN).
    port : int
        TCP port; 0 = an ephemeral port (see :attr:`url` after :meth:`start`).
    allowed_hosts : sequence of str
        Extra host names (``robot.local``) or ``host:port`` accepted in the ``Host`` header,
        besides loopback names and the bound address.
    session_ttl_s : float
        A session ends after this long without a request.
    login_max_failures, login_window_s : int, float
        Login rate limit per client address and per operator.
    ssl_context : ssl.SSLContext, optional
        Serve HTTPS (cookies then get ``Secure``).
    logger : object with ``info`` and ``warning`` methods, optional
        Where logins, refusals and the URL are logged (never a token).
    """

    def __init__(
        self,
        operators: Mapping[str, Operator],
        on_press: Callable[[str, str, str], PressOutcome],
        host: str = "127.0.0.1",
        port: int = 0,
        allowed_hosts: Sequence[str] = (),
        session_ttl_s: float = 43200.0,
        login_max_failures: int = 5,
        login_window_s: float = 60.0,
        ssl_context: Optional[ssl.SSLContext] = None,
        logger=None,
    ):
        if not 0 <= int(port) <= 65535:
            raise ValueError(f"port must be in [0, 65535], got {port}")
        self._operators = dict(operators)
        self._on_press = on_press
        self.host, self.port = host, int(port)
        self._extra_hosts = [h.strip().lower() for h in allowed_hosts if h.strip()]
        self._session_ttl_s = float(session_ttl_s)
        self._limiter = LoginLimiter(login_max_failures, login_window_s)
        self._ssl = ssl_context
        self._logger = logger
        self._sessions: dict[str, _Session] = {}
        self._state = _State()
        self._lock = threading.Lock()  # guards _state (written by ROS callbacks)
        self._streams: set[asyncio.Event] = set()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self._thread: Optional[threading.Thread] = None
        self._stopping = False

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def scheme(self) -> str:
        """``http`` or ``https``."""
        return "https" if self._ssl else "http"

    @property
    def url(self) -> str:
        """The page's URL (valid after :meth:`start`)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"{self.scheme}://{host}:{self.port}/"

    def start(self, timeout_s: float = 10.0) -> str:
        """Bind and serve in a daemon thread; return :attr:`url`.

        Raises
        ------
        OSError
            If the address cannot be bound (e.g. the port is taken).
        """
        started = threading.Event()
        failure: list[BaseException] = []

        def serve():
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._open())
            except OSError as error:
                failure.append(error)
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, name="tablet-server", daemon=True)
        self._thread.start()
        if not started.wait(timeout_s):
            raise TimeoutError("the tablet server did not start")
        if failure:
            raise failure[0]
        self._info(f"tablet page: {self.url}")
        return self.url

    async def _open(self) -> None:
        app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[self._guard_middleware])
        app.router.add_get("/", self._page)
        app.router.add_get("/login", self._login_page)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/favicon.ico", self._no_icon)
        app.router.add_post("/api/login", self._login)
        app.router.add_post("/api/logout", self._logout)
        app.router.add_get("/api/session", self._session_info)
        app.router.add_get("/api/state", self._state_json)
        app.router.add_post("/api/press", self._press)
        app.router.add_get("/events", self._events)
        self._runner = web.AppRunner(app, access_log=None)  # no access log: no URLs in logs
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self._ssl)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    def stop(self, timeout_s: float = 5.0) -> None:
        """End every event stream, close the server and join its thread (idempotent)."""
        if self._loop is None or self._thread is None or not self._thread.is_alive():
            return
        self._stopping = True
        self._loop.call_soon_threadsafe(self._wake_streams)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout_s)

    # One call site per severity: rclpy's logger refuses a call site whose severity changes.
    def _info(self, message: str) -> None:
        if self._logger is not None:
            self._logger.info(message)

    def _warn(self, message: str) -> None:
        if self._logger is not None:
            self._logger.warning(message)

    # -- state updates (any thread) --------------------------------------------------------
    def publish_compass(
        self,
        version: int,
        value_names: Sequence[str],
        mean: Sequence[float],
        entropy: float,
        ess: float,
        applied_events: int = 0,
    ) -> None:
        """Show a new compass (keeps the last ``HISTORY_LENGTH`` versions for the chart)."""
        compass = {
            "version": int(version),
            "value_names": [str(n) for n in value_names],
            "mean": [_finite(v, 0.0) for v in mean],
            "entropy": _finite(entropy),
            "ess": _finite(ess),
            "applied_events": int(applied_events),
        }
        with self._lock:
            history = self._state.history
            if history and history[-1]["version"] == compass["version"]:
                history.pop()
            if history and len(history[-1]["mean"]) != len(compass["mean"]):
                history.clear()
            history.append({"version": compass["version"], "mean": compass["mean"]})
            self._state.compass = compass
        self._changed()

    def publish_selection(
        self,
        request_id: str,
        action_id: str,
        label: str,
        predicted_approval: Optional[float],
        compass_version: int,
    ) -> None:
        """Show the last executed action and its predicted approval (0..1 or None)."""
        selection = {
            "request_id": str(request_id),
            "action_id": str(action_id),
            "label": str(label) or str(action_id),
            "predicted_approval": None
            if predicted_approval is None
            else _finite(predicted_approval),
            "compass_version": int(compass_version),
        }
        with self._lock:
            self._state.selection = selection
        self._changed()

    def state(self) -> dict:
        """The JSON state every page receives."""
        with self._lock:
            return {
                "compass": self._state.compass,
                "history": list(self._state.history),
                "selection": self._state.selection,
                "counts": {v: self._state.counts[v] for v in VERDICTS},
                "serial": self._state.serial,
            }

    def _changed(self) -> None:
        with self._lock:
            self._state.serial += 1
        if self._loop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._wake_streams)
            except RuntimeError:  # loop closed between the check and the call
                pass

    def _wake_streams(self) -> None:
        for event in self._streams:
            event.set()

    # -- request guards ----------------------------------------------------------------------
    def _allowed_hosts(self) -> set[str]:
        names = {"127.0.0.1", "localhost", "[::1]"}
        if self.host not in ("0.0.0.0", "::", ""):
            names.add(f"[{self.host}]" if ":" in self.host else self.host)
        allowed = {f"{n}:{self.port}" for n in names}
        for extra in self._extra_hosts:
            allowed.add(extra if ":" in extra.rsplit("]", 1)[-1] else f"{extra}:{self.port}")
        return allowed

    def _session(self, request: web.Request) -> Optional[_Session]:
        session_id = request.cookies.get(COOKIE_NAME, "")
        session = self._sessions.get(session_id) if session_id else None
        if session is None:
            return None
        now = time.monotonic()
        if now - session.last_seen > self._session_ttl_s:
            del self._sessions[session_id]
            return None
        session.last_seen = now
        return session

    def _same_origin(self, request: web.Request) -> bool:
        own = f"{self.scheme}://{request.host.lower()}"
        origin = request.headers.get("Origin")
        if origin is not None:
            return origin.lower() == own
        referer = request.headers.get("Referer", "")
        return referer.lower().startswith(own + "/")

    @web.middleware
    async def _guard_middleware(self, request: web.Request, handler):
        if request.host.lower() not in self._allowed_hosts():
            response = web.json_response({"error": "host not allowed"}, status=403)
        elif request.method == "POST" and not self._same_origin(request):
            self._warn(f"tablet: cross-site {request.method} {request.path} refused")
            response = web.json_response({"error": "cross-site request refused"}, status=403)
        else:
            try:
                response = await handler(request)
            except web.HTTPException as error:  # raised (returning one is deprecated)
                for key, value in SECURITY_HEADERS.items():
                    error.headers.setdefault(key, value)
                raise
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        return response

    def _require(self, request: web.Request, csrf: bool = False) -> _Session:
        session = self._session(request)
        if session is None:
            raise web.HTTPUnauthorized(
                text='{"error": "log in first"}', content_type="application/json"
            )
        if csrf and not secrets.compare_digest(request.headers.get(CSRF_HEADER, ""), session.csrf):
            self._warn(
                f"tablet: POST {request.path} without a valid CSRF token "
                f"refused (operator {session.operator_id})"
            )
            raise web.HTTPForbidden(
                text='{"error": "missing or bad CSRF token"}', content_type="application/json"
            )
        return session

    @staticmethod
    async def _json_body(request: web.Request) -> dict:
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(
                text='{"error": "send JSON"}', content_type="application/json"
            )
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError) as error:
            raise web.HTTPBadRequest(
                text='{"error": "body is not JSON"}', content_type="application/json"
            ) from error
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(
                text='{"error": "body must be a JSON object"}', content_type="application/json"
            )
        return body

    # -- pages -------------------------------------------------------------------------------
    async def _page(self, request: web.Request) -> web.StreamResponse:
        if self._session(request) is None:
            raise web.HTTPSeeOther("/login")
        return web.FileResponse(STATIC_DIR / "tablet.html")

    async def _login_page(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC_DIR / "login.html")

    async def _no_icon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in ("tablet.js", "tablet.css", "login.js"):
            raise web.HTTPNotFound()
        return web.FileResponse(STATIC_DIR / name)

    # -- API ---------------------------------------------------------------------------------
    async def _login(self, request: web.Request) -> web.Response:
        body = await self._json_body(request)
        operator_id, token = str(body.get("operator", "")), str(body.get("token", ""))
        client = f"addr:{request.remote}"
        keys = (
            (client, f"op:{operator_id}") if OPERATOR_ID_PATTERN.match(operator_id) else (client,)
        )
        wait = self._limiter.retry_after(*keys)
        if wait > 0:
            self._warn(f"tablet: login rate limit hit ({request.remote})")
            return web.json_response(
                {"error": "too many failed logins; wait"},
                status=429,
                headers={"Retry-After": str(int(math.ceil(wait)))},
            )
        ok = (
            bool(token)
            and OPERATOR_ID_PATTERN.match(operator_id) is not None
            and len(token) <= 256
            and await asyncio.get_running_loop().run_in_executor(
                None, authenticate, self._operators, operator_id, token
            )
        )
        if not ok:
            self._limiter.failed(*keys)
            # Only a known operator id is logged: a person who typed the token into the
            # operator field must not find it in the log.
            shown = operator_id if operator_id in self._operators else "<unknown operator>"
            self._warn(f"tablet: failed login for operator {shown} from {request.remote}")
            return web.json_response({"error": "unknown operator or wrong token"}, status=401)
        self._limiter.succeeded(*keys)
        session_id = secrets.token_urlsafe(32)
        self._sessions[session_id] = _Session(
            operator_id, secrets.token_urlsafe(32), time.monotonic()
        )
        self._info(f"tablet: operator {operator_id} logged in from {request.remote}")
        response = web.json_response({"operator": operator_id})
        response.set_cookie(
            COOKIE_NAME,
            session_id,
            httponly=True,
            samesite="Strict",
            path="/",
            secure=self._ssl is not None,
        )
        return response

    async def _logout(self, request: web.Request) -> web.Response:
        session = self._require(request, csrf=True)
        self._sessions.pop(request.cookies.get(COOKIE_NAME, ""), None)
        self._info(f"tablet: operator {session.operator_id} logged out")
        response = web.json_response({"ok": True})
        response.del_cookie(COOKIE_NAME, path="/")
        return response

    async def _session_info(self, request: web.Request) -> web.Response:
        session = self._require(request)
        return web.json_response({"operator": session.operator_id, "csrf": session.csrf})

    async def _state_json(self, request: web.Request) -> web.Response:
        self._require(request)
        return web.json_response(self.state())

    async def _press(self, request: web.Request) -> web.Response:
        session = self._require(request, csrf=True)
        body = await self._json_body(request)
        verdict, request_id = str(body.get("verdict", "")), str(body.get("request_id", ""))
        if verdict not in VERDICTS:
            return web.json_response(
                {"error": f"verdict must be one of {list(VERDICTS)}"}, status=400
            )
        if len(request_id) > 256:
            return web.json_response({"error": "request_id too long"}, status=400)
        outcome = await asyncio.get_running_loop().run_in_executor(
            None, self._on_press, verdict, request_id, session.operator_id
        )
        if outcome.ok:
            with self._lock:
                self._state.counts[verdict] += 1
            self._changed()
        return web.json_response(
            {"ok": outcome.ok, "feedback_id": outcome.feedback_id, "message": outcome.message},
            status=200 if outcome.ok else 409,
        )

    async def _events(self, request: web.Request) -> web.StreamResponse:
        session = self._require(request)
        if len(self._streams) >= MAX_EVENT_STREAMS:
            return web.json_response({"error": "too many open pages"}, status=503)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
            }
        )
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        await response.prepare(request)
        wake = asyncio.Event()
        self._streams.add(wake)
        sent_serial = -1
        try:
            while not self._stopping:
                if self._session(request) is not session:  # logged out or expired
                    await response.write(b"event: logout\ndata: {}\n\n")
                    break
                state = self.state()
                if state["serial"] != sent_serial:
                    sent_serial = state["serial"]
                    await response.write(f"event: state\ndata: {json.dumps(state)}\n\n".encode())
                else:
                    await response.write(b": keep-alive\n\n")
                wake.clear()
                try:
                    await asyncio.wait_for(wake.wait(), KEEPALIVE_S)
                except asyncio.TimeoutError:
                    pass
        except ConnectionResetError:
            pass  # the page went away
        finally:
            self._streams.discard(wake)
        return response
