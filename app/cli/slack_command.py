"""``spanwise slack``: the Slack bot over Socket Mode, for a Spanwise with no public URL.

The same bot as ``POST /slack/events`` serves, connected out to Slack instead of called by
it. Before connecting it checks the bot token (``auth.test``), so a wrong token is named as
such rather than failing on the first question.
"""

from __future__ import annotations

import threading
from typing import NoReturn
from urllib.error import URLError

import typer
from rich.markup import escape
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError

from app.cli.state import CliState, cli_state


def slack(ctx: typer.Context) -> None:
    """Run the Slack bot over Socket Mode until interrupted (Ctrl+C)."""
    state = cli_state(ctx)
    settings = state.settings
    from app.chat.services import ChatServices
    from app.slack.bolt_app import SLACK_API_URL, SlackNotConfigured, build_bolt_app

    try:
        bolt = build_bolt_app(settings, ChatServices(settings), socket_mode=True)
    except (SlackNotConfigured, ValueError) as exc:
        _fail(state, f"{exc}. The README's Slack section has the steps.", code=2)
    api = settings.slack_api_url or SLACK_API_URL
    try:
        identity = bolt.client.auth_test()
    except SlackApiError as exc:
        _fail(
            state,
            f"Slack refused the bot token ({exc.response.get('error')}): set "
            "SPANWISE_SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-...), "
            "from OAuth & Permissions, after installing the app to the workspace.",
        )
    except (URLError, OSError) as exc:
        _fail(state, f"could not reach Slack at {api} ({exc}); check the network or a proxy.")
    assert settings.slack_app_token is not None  # build_bolt_app checked it
    handler = SocketModeHandler(bolt, settings.slack_app_token.get_secret_value())
    try:
        try:
            handler.connect()
        except SlackApiError as exc:
            _fail(
                state,
                f"Slack refused the app-level token ({exc.response.get('error')}): set "
                "SPANWISE_SLACK_APP_TOKEN to an xapp- token with the connections:write "
                "scope (Basic Information > App-Level Tokens), and turn Socket Mode on.",
            )
        except (URLError, OSError) as exc:
            _fail(state, f"could not open a Socket Mode connection ({exc}).")
        state.console.print(
            f"Connected to Slack over Socket Mode as @{escape(str(identity.get('user')))} "
            f"in {escape(str(identity.get('team')))}; Ctrl+C stops.",
            soft_wrap=True,
        )
        threading.Event().wait()
    except KeyboardInterrupt:
        state.console.print("Disconnected from Slack.")
    finally:
        handler.close()


def _fail(state: CliState, message: str, *, code: int = 1) -> NoReturn:
    state.err_console.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)
