"""The Slack app manifest asks for what the bot uses, and sends it all to one URL."""

from __future__ import annotations

from importlib.resources import files

import yaml

from app.slack.handlers import SLASH_COMMAND


def test_the_manifest_matches_what_the_bot_handles() -> None:
    manifest = yaml.safe_load((files("app.slack") / "manifest.yaml").read_text())
    settings = manifest["settings"]
    (command,) = manifest["features"]["slash_commands"]
    urls = {
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        command["url"],
    }
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")
    assert command["command"] == SLASH_COMMAND
    assert settings["interactivity"]["is_enabled"] is True
    assert sorted(settings["event_subscriptions"]["bot_events"]) == ["app_mention", "message.im"]
    # each scope for a thing it does: read mentions and DMs, post answers, the command
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == [
        "app_mentions:read",
        "chat:write",
        "commands",
        "im:history",
    ]
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert settings["socket_mode_enabled"] is False  # HTTP mode; the README says when to flip
