"""``spanwise slack``: the same bot over Socket Mode, and what it says when it cannot start."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_sdk.socket_mode.request import SocketModeRequest
from typer.testing import CliRunner, Result

from app.chat.services import ChatServices
from app.cli.main import cli
from app.discovery.run import pattern_store_path
from app.settings import Settings
from app.slack.bolt_app import build_bolt_app
from tests.app.slack.conftest import BOT_TOKEN, BOT_USER, USER, FakeSlack, event_body


def test_socket_mode_requests_are_answered_unsigned_and_retries_skipped(
    isolated_env: Path, tmp_path: Path, fake_slack: FakeSlack, sample_store: Path, stripe: str
) -> None:
    shutil.copy(sample_store, pattern_store_path(tmp_path))
    settings = Settings(
        data_dir=tmp_path,
        slack_bot_token=BOT_TOKEN,
        slack_app_token="xapp-1-test",
        slack_api_url=f"{fake_slack.url}/api/",
    )
    bolt = build_bolt_app(settings, ChatServices(settings), socket_mode=True)
    event = {"type": "app_mention", "channel": "C0GENERAL", "user": USER["id"]}
    event |= {"text": f"<@{BOT_USER}> @{stripe} how slow?", "ts": "20.000100"}
    body = event_body(event, event_id="Ev0SOCKET")

    first = run_bolt_app(bolt, SocketModeRequest("events_api", "envelope-1", body))
    assert first.status == 200
    post = fake_slack.wait_for_posts(1, thread="20.000100")[0]
    assert json.loads(post.buttons()[0]["value"])["pattern"] == stripe

    again = SocketModeRequest("events_api", "envelope-2", body, retry_attempt=1)
    retried = run_bolt_app(bolt, again)
    assert retried.status == 200 and retried.headers["x-slack-no-retry"] == ["1"]


def spanwise_slack(tmp_path: Path) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "slack"])


def test_without_tokens_it_says_which_to_set(isolated_env: Path, tmp_path: Path) -> None:
    result = spanwise_slack(tmp_path)
    assert result.exit_code == 2
    assert "SPANWISE_SLACK_BOT_TOKEN" in result.output
    assert "SPANWISE_SLACK_APP_TOKEN" in result.output
    assert "SIGNING_SECRET" not in result.output  # Socket Mode needs no signing secret


@pytest.mark.parametrize(
    ("method", "names"),
    [
        ("auth.test", "SPANWISE_SLACK_BOT_TOKEN"),
        ("apps.connections.open", "SPANWISE_SLACK_APP_TOKEN"),
    ],
)
def test_a_refused_token_is_named(
    isolated_env: Path,
    tmp_path: Path,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    names: str,
) -> None:
    monkeypatch.setenv("SPANWISE_SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SPANWISE_SLACK_APP_TOKEN", "xapp-1-test")
    monkeypatch.setenv("SPANWISE_SLACK_API_URL", f"{fake_slack.url}/api/")
    fake_slack.errors[method] = "invalid_auth"
    result = spanwise_slack(tmp_path)
    assert result.exit_code == 1
    assert "invalid_auth" in result.output and names in result.output
    assert "Traceback" not in result.output
