"""The bot's listeners: each reads what Slack sent, asks the chat service or records a
correction, and posts the result as Block Kit.

- A mention of the bot in a channel, and any message in a direct conversation with it, is
  answered in a thread: the thread's first message's ``ts`` keys the chat conversation, so
  a follow-up in the thread ("@Spanwise and its error rate?") goes on with it. In channels
  the bot answers only when mentioned, and so reads nothing else there.
- ``/spanwise <question>`` is answered through the command's ``response_url``, to the asker
  only or in the channel (``settings.slack_slash_in_channel``).
- The buttons on a cited pattern show a sample trace, or record the verdict ``noise`` or
  ``keep`` with the Slack user as its author; their results go to the clicker only.

Bolt acknowledges an event before its listener runs, and each listener here acknowledges a
command or a click before any work, so Slack has its answer within its three seconds while
the question is answered on Bolt's worker threads. An error is logged in full and reaches
the user as one short line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from logging import Logger
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from app.chat.services import ChatServices
from app.model_gate import Overloaded
from app.settings import Settings
from app.slack.corrections import VerdictRefused, record_verdict
from app.slack.guards import RecentKeys
from app.slack.messages import (
    ACTION_KEEP,
    ACTION_MARK_NOISE,
    ACTION_SHOW_TRACE,
    HELP,
    Links,
    SlackMessage,
    answer_messages,
    error_notice,
    escape,
    notice,
    trace_message,
)
from app.slack.question import (
    MAX_QUESTION_CHARS,
    conversation_id,
    question_text,
    slack_author,
)
from app.slack.samples import is_trace_id, stored_trace
from app.slack.tenants import SlackTenants

SLASH_COMMAND = "/spanwise"
RESPONSE_URL_MESSAGES = 5
"""Slack accepts at most five messages through one ``response_url``."""
ANSWERED_MESSAGES = 10_000
MESSAGE_MEMORY_S = 60 * 60
_ANSWERED_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
"""Messages people wrote; edits, deletions, joins and bots' messages are not questions."""
_VERDICTS = {ACTION_MARK_NOISE: ("noise", "Mark as noise"), ACTION_KEEP: ("keep", "Keep")}


class SlackHandlers:
    def __init__(
        self,
        settings: Settings,
        services: ChatServices,
        tenants: SlackTenants,
        links: Links,
    ) -> None:
        self._settings = settings
        self._services = services
        self._tenants = tenants
        self._links = links
        # A direct message that also mentions the bot may come both as ``message`` and as
        # ``app_mention``: one Slack message is answered once.
        self._answered = RecentKeys(ANSWERED_MESSAGES, MESSAGE_MEMORY_S)

    def register(self, app: App) -> None:
        app.event("app_mention")(self.on_app_mention)
        app.event("message")(self.on_message)
        app.command(SLASH_COMMAND)(self.on_command)
        app.action(ACTION_SHOW_TRACE)(self.on_show_trace)
        app.action(ACTION_MARK_NOISE)(self.on_verdict)
        app.action(ACTION_KEEP)(self.on_verdict)

    # --- questions -------------------------------------------------------------------

    def on_app_mention(
        self, event: dict[str, Any], context: BoltContext, client: WebClient, logger: Logger
    ) -> None:
        self._answer_in_thread(event, context, client, logger)

    def on_message(
        self, event: dict[str, Any], context: BoltContext, client: WebClient, logger: Logger
    ) -> None:
        if event.get("channel_type") != "im":
            return  # in channels, only a mention asks (``app_mention``)
        if event.get("subtype") not in _ANSWERED_SUBTYPES or event.get("bot_id"):
            return
        self._answer_in_thread(event, context, client, logger)

    def _answer_in_thread(
        self, event: Mapping[str, Any], context: BoltContext, client: WebClient, logger: Logger
    ) -> None:
        channel, ts = str(event["channel"]), str(event["ts"])
        if not self._answered.add(f"{channel}:{ts}"):
            return
        thread = str(event.get("thread_ts") or ts)
        question = question_text(str(event.get("text") or ""), context.bot_user_id)
        messages = self._answer(
            question,
            tenant=self._tenants.tenant_for(context.team_id, channel),
            conversation=conversation_id(channel, thread),
            logger=logger,
        )
        for message in messages:
            try:
                client.chat_postMessage(
                    channel=channel,
                    thread_ts=thread,
                    text=message.text,
                    blocks=message.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except SlackApiError as exc:  # nowhere left to say it but the log
                logger.error("could not post to %s: %s", channel, exc.response.get("error"))
                return
            except (SlackRequestError, OSError) as exc:
                logger.error("could not reach Slack to post to %s: %s", channel, exc)
                return

    def _answer(
        self, question: str, *, tenant: str, conversation: str | None, logger: Logger
    ) -> list[SlackMessage]:
        if not question or question.lower() == "help":
            return [notice(HELP)]
        if len(question) > MAX_QUESTION_CHARS:
            return [notice(f"Please ask in fewer than {MAX_QUESTION_CHARS:,} characters.")]
        try:
            answer = self._services.for_tenant(tenant).ask(question, conversation)
            return answer_messages(answer, self._links)
        except Overloaded as exc:  # as the API's 429: the model is busy, not broken
            logger.warning("a Slack question for tenant %s was refused: %s", tenant, exc)
            return [
                notice(
                    "Spanwise is busy answering other questions: "
                    f"ask again in {exc.retry_after_s} s."
                )
            ]
        except Exception as exc:
            logger.exception("a Slack question for tenant %s could not be answered", tenant)
            return [error_notice("answer that", exc)]

    # --- the slash command -----------------------------------------------------------

    def on_command(
        self,
        ack: Ack,
        command: dict[str, Any],
        respond: Respond,
        context: BoltContext,
        logger: Logger,
    ) -> None:
        in_channel = self._settings.slack_slash_in_channel
        question = question_text(str(command.get("text") or ""), context.bot_user_id)
        if not question or question.lower() == "help":
            ack(text=HELP)
            return
        # In the channel, Slack shows the command itself too: the answer has its question.
        ack(response_type="in_channel" if in_channel else None)
        messages = self._answer(
            question,
            tenant=self._tenants.tenant_for(context.team_id, context.channel_id),
            conversation=None,
            logger=logger,
        )
        if len(messages) > RESPONSE_URL_MESSAGES:
            messages = messages[: RESPONSE_URL_MESSAGES - 1] + [
                notice("The rest of this answer is too long for Slack: ask `spanwise chat`.")
            ]
        for message in messages:
            sent = _send(
                logger,
                respond,
                text=message.text,
                blocks=message.blocks,
                response_type="in_channel" if in_channel else "ephemeral",
                unfurl_links=False,
                unfurl_media=False,
            )
            if not sent:
                return

    # --- buttons ---------------------------------------------------------------------

    def on_show_trace(
        self,
        ack: Ack,
        action: dict[str, Any],
        respond: Respond,
        context: BoltContext,
        logger: Logger,
    ) -> None:
        ack()
        self._reply_to_click(respond, lambda: self._sample_trace(action, context), logger)

    def _sample_trace(self, action: Mapping[str, Any], context: BoltContext) -> SlackMessage:
        trace_id = str(_action_value(action).get("trace", ""))
        if not is_trace_id(trace_id):
            return notice("This button names no trace.")
        tenant = self._tenants.tenant_for(context.team_id, context.channel_id)
        spans = stored_trace(self._settings, tenant, trace_id)
        return trace_message(trace_id, spans, self._links)

    def on_verdict(
        self,
        ack: Ack,
        action: dict[str, Any],
        body: dict[str, Any],
        respond: Respond,
        context: BoltContext,
        logger: Logger,
    ) -> None:
        ack()
        self._reply_to_click(respond, lambda: self._verdict(action, body, context), logger)

    def _verdict(
        self, action: Mapping[str, Any], body: Mapping[str, Any], context: BoltContext
    ) -> SlackMessage:
        verdict, label = _VERDICTS[str(action["action_id"])]
        name = str(_action_value(action).get("pattern", ""))
        tenant = self._tenants.tenant_for(context.team_id, context.channel_id)
        try:
            recorded = record_verdict(
                self._settings,
                tenant,
                name,
                verdict,
                author=slack_author(body.get("user") or {}),
                reason=f"'{label}' in Slack",
            )
        except VerdictRefused as exc:
            return notice(escape(str(exc)))
        return notice(
            f"Recorded: `{escape(recorded.pattern)}` is *{recorded.verdict}*, "
            f"by {escape(recorded.author)}. Later classifications keep it; "
            "`spanwise patterns corrections` lists it."
        )

    def _reply_to_click(
        self, respond: Respond, reply: Callable[[], SlackMessage], logger: Logger
    ) -> None:
        try:
            message = reply()
        except Exception as exc:
            logger.exception("a Slack button could not be handled")
            message = error_notice("do that", exc)
        _send(
            logger,
            respond,
            text=message.text,
            blocks=message.blocks,
            response_type="ephemeral",
            replace_original=False,
        )


def _send(logger: Logger, respond: Respond, **message: Any) -> bool:
    """Send through the ``response_url``; whether Slack took it (if not, the log says why:
    nowhere else is left to say it)."""
    try:
        response = respond(**message)
    except (SlackRequestError, OSError) as exc:
        logger.error("could not answer through the response_url: %s", exc)
        return False
    if response.status_code != 200:
        logger.error(
            "the response_url refused the answer: %s %s", response.status_code, response.body
        )
        return False
    return True


def _action_value(action: Mapping[str, Any]) -> dict[str, Any]:
    """A button's value as the answer's blocks wrote it; ``{}`` for anything else."""
    try:
        value = json.loads(str(action.get("value") or ""))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
