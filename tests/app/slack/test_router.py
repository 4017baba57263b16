"""``POST /slack/events`` refuses what Slack did not send, and says what to set when the bot
is not configured; the rest of Spanwise works either way."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.server import create_app
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings
from tests.app.slack.conftest import SlackBench, sign

Bench = Callable[..., SlackBench]
CHALLENGE = json.dumps(
    {
        "token": "t",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }
)  # noqa: E501


def test_slack_s_url_verification_gets_its_challenge_back(slack_bench: Bench) -> None:
    bench = slack_bench()
    answer = bench.post(CHALLENGE, "application/json")
    assert answer.status_code == 200
    assert answer.json() == {"challenge": json.loads(CHALLENGE)["challenge"]}


@pytest.mark.parametrize(
    "forge",
    [
        # no signature
        lambda body, now: {"x-slack-signature": None},
        # neither a signature nor a timestamp
        lambda body, now: {"x-slack-signature": None, "x-slack-request-timestamp": None},
        # signed with another secret
        lambda body, now: {"x-slack-signature": sign(body, now, "not-the-secret")},
        # signed, then the body changed
        lambda body, now: {"x-slack-signature": sign(body.replace("3eZ", "4eZ"), now)},
        # rightly signed, but six minutes old: a replay of a captured request
        lambda body, now: {
            "x-slack-request-timestamp": str(now - 360),
            "x-slack-signature": sign(body, now - 360),
        },
        # signed for a timestamp that is not a number
        lambda body, now: {"x-slack-request-timestamp": "soon", "x-slack-signature": "v0=00"},
    ],
    ids=["unsigned", "no-headers", "wrong-secret", "tampered", "old-timestamp", "bad-timestamp"],
)
def test_requests_slack_did_not_sign_are_refused_before_anything_runs(
    slack_bench: Bench, forge: Callable[[str, int], dict[str, str | None]]
) -> None:
    bench = slack_bench()
    now = int(time.time())
    sent: dict[str, str | None] = {
        "content-type": "application/json",
        "x-slack-request-timestamp": str(now),
        **forge(CHALLENGE, now),
    }
    headers = {name: value for name, value in sent.items() if value is not None}
    answer = bench.http.post("/slack/events", content=CHALLENGE.encode(), headers=headers)
    assert answer.status_code == 401
    assert "challenge" not in answer.text
    assert bench.fake.calls == []  # not even auth.test: the request went no further


def test_a_replayed_slash_command_is_refused(slack_bench: Bench) -> None:
    bench = slack_bench()
    form = "command=%2Fspanwise&text=&team_id=T0ACME&channel_id=C0GENERAL&user_id=U0ANA"
    now = int(time.time())
    signature = sign(form, now)
    sent = {"content-type": "application/x-www-form-urlencoded"}
    first = bench.post(form, sent["content-type"], timestamp=now, signature=signature)
    again = bench.post(form, sent["content-type"], timestamp=now, signature=signature)
    assert first.status_code == 200 and again.status_code == 401


def test_an_oversized_body_is_refused_unread(slack_bench: Bench) -> None:
    bench = slack_bench()
    answer = bench.post("x" * (1024 * 1024 + 1), "application/x-www-form-urlencoded")
    assert answer.status_code == 413 and bench.fake.calls == []


@pytest.mark.parametrize(
    ("settings", "named", "not_named"),
    [
        ({}, ["SPANWISE_SLACK_BOT_TOKEN", "SPANWISE_SLACK_SIGNING_SECRET"], []),
        (
            {"slack_bot_token": "xoxb-1"},
            ["SPANWISE_SLACK_SIGNING_SECRET"],
            ["SPANWISE_SLACK_BOT_TOKEN"],
        ),
        (  # a mapping to a name that cannot be a tenant: Slack stays off, Spanwise runs
            {
                "slack_bot_token": "xoxb-1",
                "slack_signing_secret": "s",
                "slack_tenants": {"T0ACME": "../etc"},
            },
            ["SPANWISE_SLACK_TENANTS['T0ACME']", "cannot name a tenant"],
            [],
        ),
    ],
    ids=["nothing", "no-secret", "bad-tenant"],
)
def test_without_slack_settings_the_route_says_what_to_set_and_the_rest_works(
    isolated_env: Path,
    tmp_path: Path,
    settings: dict[str, object],
    named: list[str],
    not_named: list[str],
) -> None:
    summary = IngestSummary()
    app = create_app(Settings(data_dir=tmp_path, **settings), SpanPipeline([summary]), summary)
    client = TestClient(app, base_url="http://127.0.0.1")  # isolated: no allowed hosts
    answer = client.post("/slack/events", content=b"{}")
    assert answer.status_code == 503
    detail = answer.json()["detail"]
    assert all(name in detail for name in named), detail
    assert not any(name in detail for name in not_named), detail
    assert client.get("/api/status").status_code == 200
