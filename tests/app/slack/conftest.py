"""The Slack bot's test bench: a fake Slack Web API on loopback, requests signed as Slack signs
them and sent through the real FastAPI app and Bolt app, and pattern stores built from the
sample system.

slack_sdk talks to Slack with urllib, which the suite's respx guard does not see, so a guard
here refuses any socket connection that does not stay on this machine.
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import ipaddress
import itertools
import json
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from fastapi.testclient import TestClient

from app.api.server import create_app
from app.classify.run import classify_patterns, live_patterns
from app.discovery.patterns import SpanPattern
from app.discovery.run import discover_sample, pattern_store_path
from app.discovery.store import PatternStore
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.sample import faults_by_name
from app.settings import Settings

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-1-spanwise-test"
BOT_USER, BOT_ID, TEAM = "U0BOT", "B0BOT", "T0ACME"
USER = {"id": "U0ANA", "username": "ana", "name": "ana", "team_id": TEAM}
PUBLIC_URL = "https://spanwise.example.com"
GRAFANA_URL = "https://grafana.example.com"
WAIT_S = 10.0
"""Longest wait for an answer posted asynchronously; a passing test waits milliseconds."""


# --- no connection leaves the machine ----------------------------------------------------


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    connect = socket.socket.connect

    def guarded(sock: socket.socket, address: Any) -> Any:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            if not ipaddress.ip_address(host).is_loopback:
                raise AssertionError(f"a Slack test tried to reach {host}")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


# --- a fake Slack ------------------------------------------------------------------------


@dataclass
class SlackCall:
    path: str
    """``/api/chat.postMessage``, or ``/respond/<id>`` for a response_url."""
    headers: dict[str, str]
    payload: dict[str, Any]

    @property
    def method(self) -> str:
        return self.path.removeprefix("/api/")

    def blocks_text(self) -> str:
        """Every mrkdwn text of the message's blocks, in order, one per line."""
        texts: list[str] = []
        for block in self.payload.get("blocks", []):
            if block.get("type") == "section":
                texts.append(block["text"]["text"])
            elif block.get("type") == "context":
                texts += [element["text"] for element in block["elements"]]
        return "\n".join(texts)

    def buttons(self) -> list[dict[str, Any]]:
        return [
            {**element, "block_id": block["block_id"]}
            for block in self.payload.get("blocks", [])
            if block.get("type") == "actions"
            for element in block["elements"]
        ]


@dataclass
class FakeSlack:
    """Slack's Web API and response URLs as the bot uses them, recording every call.

    ``errors`` makes a method answer ``{"ok": false, "error": ...}``; ``posting`` can be
    cleared to hold ``chat.postMessage`` answers until it is set again."""

    url: str = ""
    calls: list[SlackCall] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    posting: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def record(self, call: SlackCall) -> None:
        with self.changed:
            self.calls.append(call)
            self.changed.notify_all()

    def answer(self, call: SlackCall) -> tuple[int, Any]:
        if call.path.startswith("/respond/"):
            return 200, "ok"
        if call.method in self.errors:
            return 200, {"ok": False, "error": self.errors[call.method]}
        if call.method == "auth.test":
            return 200, {
                "ok": True,
                "url": "https://acme.slack.com/",
                "team": "Acme",
                "user": "spanwise",
                "team_id": TEAM,
                "user_id": BOT_USER,
                "bot_id": BOT_ID,
            }
        if call.method == "chat.postMessage":
            assert self.posting.wait(WAIT_S), "chat.postMessage was held too long"
            ts = f"1800000000.{next(self._ts):06d}"
            return 200, {"ok": True, "channel": call.payload["channel"], "ts": ts}
        if call.method == "apps.connections.open":
            return 200, {"ok": True, "url": "wss://127.0.0.1:9/link"}
        return 404, {"ok": False, "error": "unknown_method"}

    def wait_for(
        self, found: Callable[[list[SlackCall]], list[SlackCall]], what: str
    ) -> list[SlackCall]:
        """The calls ``found`` picks, once it picks any; fails after ``WAIT_S``."""
        with self.changed:
            picked = self.changed.wait_for(lambda: found(list(self.calls)), WAIT_S)
        assert picked, f"Slack never got {what}; it got {[c.path for c in self.calls]}"
        return picked

    def posts(self, channel: str | None = None) -> list[SlackCall]:
        return [
            c
            for c in self.calls
            if c.method == "chat.postMessage" and channel in (None, c.payload.get("channel"))
        ]

    def wait_for_posts(self, count: int, *, thread: str) -> list[SlackCall]:
        def in_thread(calls: list[SlackCall]) -> list[SlackCall]:
            posts = [
                c
                for c in calls
                if c.method == "chat.postMessage" and c.payload.get("thread_ts") == thread
            ]
            return posts if len(posts) >= count else []

        return self.wait_for(in_thread, f"{count} post(s) in thread {thread}")

    def wait_for_response(self, response_id: str) -> SlackCall:
        path = f"/respond/{response_id}"
        return self.wait_for(lambda calls: [c for c in calls if c.path == path], path)[0]


def _handler(fake: FakeSlack) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if self.headers.get("Content-Type", "").startswith("application/json"):
                payload = json.loads(raw) if raw else {}
            else:
                payload = dict(parse_qsl(raw))
            call = SlackCall(self.path, {k.lower(): v for k, v in self.headers.items()}, payload)
            fake.record(call)
            status, body = fake.answer(call)
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            kind = "text/plain" if isinstance(body, str) else "application/json"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.posting.set()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield fake
    finally:
        fake.posting.set()
        server.shutdown()
        server.server_close()
        thread.join()


# --- pattern stores ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Discovered and classified (offline) from the sample system, with a slow query; each
    test copies it."""
    path = tmp_path_factory.mktemp("slack_template") / "patterns.sqlite"
    store = PatternStore(path)
    discover_sample(store, 42, 300, faults_by_name(["slow_query"]))
    classify_patterns(store)
    store.close()
    return path


def pattern_named(path: Path, service: str, part: str) -> SpanPattern:
    store = PatternStore(path)
    try:
        return next(
            p
            for p in live_patterns(store.load(sketches=False))
            if p.service == service and part in p.operation
        )
    finally:
        store.close()


@pytest.fixture(scope="session")
def stripe(sample_store: Path) -> str:
    """The name of payment's Stripe charge call: a short TraceQL, so a Grafana link fits."""
    return pattern_named(sample_store, "payment", "api.stripe.com /v1/charges").name


@pytest.fixture(scope="session")
def slow_query(sample_store: Path) -> str:
    """The name of inventory's category query, the one the slow_query fault slows down."""
    return pattern_named(sample_store, "inventory", "WHERE category_id = ?").name


# --- Spanwise with Slack, and Slack's requests to it -------------------------------------


def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    """Slack's v0 signature, computed here from its definition rather than by slack_sdk."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


_EVENT_IDS = itertools.count(1)


def event_body(
    event: dict[str, Any], *, team: str = TEAM, event_id: str | None = None
) -> dict[str, Any]:
    """An Events API callback as Slack sends it, over HTTP or Socket Mode."""
    return {
        "token": "legacy-verification-token",
        "team_id": team,
        "api_app_id": "A0SPANWISE",
        "event": {"team": team, "event_ts": event.get("ts"), **event},
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_EVENT_IDS):08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": team, "user_id": BOT_USER, "is_bot": True, "enterprise_id": None}
        ],
    }


@dataclass
class SlackBench:
    """Spanwise's server with the Slack bot, and helpers sending what Slack sends."""

    http: TestClient
    settings: Settings
    fake: FakeSlack

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        timestamp = int(time.time()) if timestamp is None else timestamp
        sent = {
            "content-type": content_type,
            "x-slack-request-timestamp": str(timestamp),
            "x-slack-signature": signature or sign(body, timestamp),
            **(headers or {}),
        }
        return self.http.post("/slack/events", content=body.encode(), headers=sent)

    def event(
        self,
        event: dict[str, Any],
        *,
        team: str = TEAM,
        event_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        return self.post(
            json.dumps(event_body(event, team=team, event_id=event_id)),
            "application/json",
            headers=headers,
        )

    def mention(
        self,
        text: str,
        *,
        ts: str,
        channel: str = "C0GENERAL",
        thread_ts: str | None = None,
        team: str = TEAM,
        event_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        event = {"type": "app_mention", "user": USER["id"], "text": text, "ts": ts}
        event["channel"] = channel
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event, team=team, event_id=event_id, headers=headers)

    def command(
        self, text: str, *, response_id: str, channel: str = "C0GENERAL", team: str = TEAM
    ) -> httpx.Response:
        form = {
            "token": "legacy-verification-token",
            "team_id": team,
            "team_domain": "acme",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": USER["id"],
            "user_name": USER["username"],
            "command": "/spanwise",
            "text": text,
            "api_app_id": "A0SPANWISE",
            "response_url": f"{self.fake.url}/respond/{response_id}",
            "trigger_id": "1.2.3",
        }
        return self.post(urlencode(form), "application/x-www-form-urlencoded")

    def click(
        self, button: dict[str, Any], message: SlackCall, *, response_id: str, team: str = TEAM
    ) -> httpx.Response:
        """A click on a button of a message the bot posted, as Slack sends it."""
        channel = message.payload["channel"]
        payload = {
            "type": "block_actions",
            "user": USER,
            "api_app_id": "A0SPANWISE",
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": "1800000000.000001",
                "channel_id": channel,
                "is_ephemeral": False,
                "thread_ts": message.payload.get("thread_ts"),
            },
            "trigger_id": "1.2.3",
            "team": {"id": team, "domain": "acme"},
            "channel": {"id": channel, "name": "general"},
            "message": {"type": "message", "text": message.payload.get("text", "")},
            "response_url": f"{self.fake.url}/respond/{response_id}",
            "actions": [{**button, "action_ts": str(time.time())}],
        }
        body = urlencode({"payload": json.dumps(payload)})
        return self.post(body, "application/x-www-form-urlencoded")


@pytest.fixture
def slack_bench(
    isolated_env: Path, tmp_path: Path, fake_slack: FakeSlack, sample_store: Path
) -> Callable[..., SlackBench]:
    """``slack_bench(**settings)``: the Spanwise server on a copy of the sample store, with
    the Slack bot pointed at the fake Slack."""

    def make(**overrides: Any) -> SlackBench:
        data_dir = tmp_path / "data"
        data_dir.mkdir(exist_ok=True)
        shutil.copy(sample_store, pattern_store_path(data_dir))
        options: dict[str, Any] = {
            "data_dir": data_dir,
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_api_url": f"{fake_slack.url}/api/",
            "public_url": PUBLIC_URL,
            "grafana_url": GRAFANA_URL,
        }
        settings = Settings(**{**options, **overrides})
        summary = IngestSummary()
        app = create_app(settings, SpanPipeline([summary]), summary)
        return SlackBench(TestClient(app), settings, fake_slack)

    return make
