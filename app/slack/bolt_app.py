"""The Bolt app that both HTTP mode and Socket Mode run, built from the settings.

``SlackNotConfigured`` says which settings are missing, by their environment variables, so a
route or a command can tell the operator what to set. Building the app calls no Slack API:
the bot's identity (``auth.test``) is asked on the first request, not at start-up, so the
Spanwise server starts whether or not Slack answers.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from app.chat.services import ChatServices
from app.settings import Settings
from app.slack.guards import (
    EVENT_MEMORY_S,
    REMEMBERED_KEYS,
    SIGNATURE_WINDOW_S,
    RecentKeys,
    ignore_handled_events,
    reject_replays,
)
from app.slack.handlers import SlackHandlers
from app.slack.messages import Links
from app.slack.tenants import SlackTenants

SLACK_API_URL = "https://slack.com/api/"
SLACK_TIMEOUT_S = 10
LISTENER_THREADS = 8
RATE_LIMIT_RETRIES = 2

_SETTINGS_HELP = {
    "slack_bot_token": "SPANWISE_SLACK_BOT_TOKEN (the Bot User OAuth Token, xoxb-...)",
    "slack_signing_secret": "SPANWISE_SLACK_SIGNING_SECRET (Basic Information > Signing Secret)",
    "slack_app_token": "SPANWISE_SLACK_APP_TOKEN (an app-level token, xapp-..., with the "
    "connections:write scope)",
}


class SlackNotConfigured(RuntimeError):
    """Settings the Slack bot needs are missing; the message names them and where to find
    their values."""


def missing_settings(settings: Settings, *, socket_mode: bool) -> list[str]:
    """The ``Settings`` fields the bot still needs: over HTTP a bot token and a signing
    secret; over Socket Mode a bot token and an app-level token."""
    needed = ["slack_bot_token", "slack_app_token" if socket_mode else "slack_signing_secret"]
    return [name for name in needed if getattr(settings, name) is None]


def require_settings(settings: Settings, *, socket_mode: bool) -> None:
    missing = missing_settings(settings, socket_mode=socket_mode)
    if missing:
        mode = "Socket Mode" if socket_mode else "HTTP mode (POST /slack/events)"
        raise SlackNotConfigured(
            f"the Slack bot in {mode} is not configured: set "
            + " and ".join(_SETTINGS_HELP[name] for name in missing)
        )


def slack_web_client(settings: Settings) -> WebClient:
    """The Web API client answers are posted with (``settings.slack_api_url``, else Slack's)."""
    base_url = settings.slack_api_url or SLACK_API_URL
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = WebClient(token=token, base_url=base_url.rstrip("/") + "/", timeout=SLACK_TIMEOUT_S)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES))
    return client


def build_bolt_app(settings: Settings, services: ChatServices, *, socket_mode: bool = False) -> App:
    """The bot, with its guards and listeners; ``SlackNotConfigured`` when settings are
    missing, ``ValueError`` when ``slack_tenants`` names an invalid tenant."""
    require_settings(settings, socket_mode=socket_mode)
    tenants = SlackTenants.checked(settings.slack_tenants)
    secret = settings.slack_signing_secret
    app = App(
        name="spanwise",
        logger=logging.getLogger("spanwise.slack"),
        client=slack_web_client(settings),
        signing_secret=secret.get_secret_value() if secret else "",
        # Socket Mode requests come over Slack's own socket and carry no signature.
        request_verification_enabled=not socket_mode,
        token_verification_enabled=False,
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="slack"),
    )
    app.use(reject_replays(RecentKeys(REMEMBERED_KEYS, SIGNATURE_WINDOW_S)))
    app.use(ignore_handled_events(RecentKeys(REMEMBERED_KEYS, EVENT_MEMORY_S)))
    SlackHandlers(settings, services, tenants, Links.from_settings(settings)).register(app)
    return app
