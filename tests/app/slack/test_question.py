"""What a Slack message asks: the bot's mention out, everything else for the chat's parser."""

from __future__ import annotations

import pytest

from app.chat.mentions import find_mentions
from app.slack.question import conversation_id, question_text, slack_author


@pytest.mark.parametrize(
    ("text", "question", "mentions"),
    [
        (
            "<@U0BOT> @postgres_query_select_orders slow?",
            "@postgres_query_select_orders slow?",
            ["postgres_query_select_orders"],
        ),
        # the bot's mention with its label, anywhere in the text
        (
            "why is @checkout_db slow <@U0BOT|spanwise>?",
            "why is @checkout_db slow ?",
            ["checkout_db"],
        ),
        # another user's mention stays, and is no pattern mention
        ("<@U0BOT> ask <@U0ANA> about @cart_get", "ask <@U0ANA> about @cart_get", ["cart_get"]),
        # what people typed comes escaped from Slack
        ("<@U0BOT> p99 &gt; 200 &amp; @cart_get", "p99 > 200 & @cart_get", ["cart_get"]),
        # channel references, links and @here are not pattern mentions either
        (
            "<@U0BOT> <#C0OPS|ops> <!here> <https://x.example/@a|x>",
            "<#C0OPS|ops> <!here> <https://x.example/@a|x>",
            [],
        ),
        ("<@U0BOT>", "", []),
    ],
)
def test_the_bot_s_mention_is_taken_out_and_the_rest_is_left_to_the_parser(
    text: str, question: str, mentions: list[str]
) -> None:
    asked = question_text(text, "U0BOT")
    assert asked == question
    assert [m.name for m in find_mentions(asked)] == mentions


def test_without_the_bot_s_id_slack_mentions_are_still_no_pattern_mentions() -> None:
    asked = question_text("<@U0BOT> @cart_get errors?", None)
    assert [m.name for m in find_mentions(asked)] == ["cart_get"]


def test_a_thread_is_a_conversation_of_its_channel() -> None:
    assert conversation_id("C0GENERAL", "1.000100") != conversation_id("C0OTHER", "1.000100")
    assert len(conversation_id("C0123456789ABC", "1712345678.123456")) <= 64  # as the API takes


@pytest.mark.parametrize(
    ("user", "author"),
    [
        ({"id": "U0ANA", "username": "ana", "name": "ana"}, "ana (Slack U0ANA)"),
        ({"id": "U0ANA", "name": "ana.s"}, "ana.s (Slack U0ANA)"),
        ({"id": "U0ANA"}, "Slack user U0ANA"),
        ({"id": "U0ANA", "username": "a" * 200}, ("a" * 200 + " (Slack U0ANA)")[:120]),
    ],
)
def test_the_author_of_a_correction_names_the_slack_user(user: dict[str, str], author: str) -> None:
    assert slack_author(user) == author
