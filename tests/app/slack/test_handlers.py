"""The bot end to end: signed requests through the FastAPI app and the real Bolt app, the
answers read off the Web API calls the fake Slack received."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from html import unescape
from pathlib import Path

import pytest

from app.chat.conversations import Conversations
from app.classify.figures import duration_text, percent_text
from app.classify.run import live_patterns
from app.classify.store import ClassificationStore
from app.discovery.store import PatternStore
from app.slack.messages import ACTION_KEEP, ACTION_MARK_NOISE, ACTION_SHOW_TRACE, HELP, escape
from app.tenancy import tenant_store_path
from tests.app.slack.conftest import (
    BOT_TOKEN,
    BOT_USER,
    GRAFANA_URL,
    PUBLIC_URL,
    TEAM,
    USER,
    FakeSlack,
    SlackBench,
    SlackCall,
)

Bench = Callable[..., SlackBench]
SECRET = "sk_live_51FAKE"
"""How the sample system's Stripe key starts; payment sends it in a captured header."""


def answer_in_thread(bench: SlackBench, text: str, *, ts: str, **options: str) -> SlackCall:
    response = bench.mention(text, ts=ts, **options)
    assert response.status_code == 200, response.text
    return bench.fake.wait_for_posts(1, thread=options.get("thread_ts") or ts)[-1]


def cited(call: SlackCall) -> list[str]:
    return sorted({json.loads(b["value"])["pattern"] for b in call.buttons()})


def test_a_mention_is_answered_in_a_thread_with_the_cited_pattern_and_its_numbers(
    slack_bench: Bench, stripe: str
) -> None:
    bench = slack_bench()
    post = answer_in_thread(bench, f"<@{BOT_USER}> @{stripe} how slow is it?", ts="1.000100")

    assert post.payload["channel"] == "C0GENERAL" and post.payload["thread_ts"] == "1.000100"
    assert post.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    text = post.blocks_text()
    assert f"@{stripe}:" in text and "Latency over" in text
    assert f"<{PUBLIC_URL}/patterns/{stripe}|{stripe}>" in text
    assert f"<{GRAFANA_URL.replace('&', '&amp;')}" in text and "|Open in Grafana>" in text
    assert f"{PUBLIC_URL}/traces/" in text
    labels = [b["text"]["text"] for b in post.buttons()]
    assert labels == ["Show sample trace", "Mark as noise", "Keep"]
    assert cited(post) == [stripe]
    assert post.payload["text"] and len(post.payload["text"]) <= 300


def test_slack_gets_the_same_facts_as_the_api(
    slack_bench: Bench, slow_query: str, stripe: str
) -> None:
    bench = slack_bench()
    question = f"ask <@U0BOB> whether @{slow_query} is why checkout is slow"
    post = answer_in_thread(bench, f"<@{BOT_USER}> {question}", ts="2.000100")
    api = bench.http.post("/api/chat", json={"question": question}).json()

    sections = [b["text"]["text"] for b in post.payload["blocks"] if b["type"] == "section"]
    assert unescape(sections[0]) == api["answer"]  # "x -> y" arrives escaped as "x -&gt; y"
    assert api["mentions"] == [
        {"mention": f"@{slow_query}", "kind": "exact", "pattern": slow_query}
    ]  # <@U0BOB> is a Slack user, not a pattern
    assert cited(post) == [c["pattern"] for c in api["citations"]] == [slow_query]
    facts = api["facts"][0]
    numbers = sections[1]
    assert f"{facts['count']:,} spans" in numbers
    assert f"p50 {duration_text(facts['latency_ms']['p50'])}" in numbers
    assert f"p99 {duration_text(facts['latency_ms']['p99'])}" in numbers
    assert f"errors {percent_text(facts['errors']['rate'])}" in numbers
    for trace_id in api["citations"][0]["trace_ids"]:
        assert f"{PUBLIC_URL}/traces/{trace_id}|" in numbers
    # The query's short TraceQL makes a Grafana link that fits in a Slack message.
    (grafana,) = [c["grafana_url"] for c in api["citations"]]
    assert len(grafana) < 2000 and f"{escape(grafana)}|Open in Grafana>" in numbers


def test_a_follow_up_in_the_thread_goes_on_with_the_conversation(
    slack_bench: Bench, stripe: str
) -> None:
    bench = slack_bench()
    answer_in_thread(bench, f"<@{BOT_USER}> how slow is @{stripe}?", ts="3.000100")
    bench.mention(f"<@{BOT_USER}> and its error rate?", ts="3.000200", thread_ts="3.000100")
    first, follow = bench.fake.wait_for_posts(2, thread="3.000100")

    assert cited(follow) == [stripe]
    assert "Errors:" in follow.blocks_text() or "No errors" in follow.blocks_text()
    store = PatternStore(bench.settings.data_dir / "patterns.sqlite")
    turns = Conversations(store).history("slack:C0GENERAL:3.000100")
    assert [t.question for t in turns] == [f"how slow is @{stripe}?", "and its error rate?"]


def test_a_direct_message_is_answered_in_its_thread_and_bots_are_not(
    slack_bench: Bench, stripe: str
) -> None:
    bench = slack_bench()
    dm = {"type": "message", "channel": "D0ANA", "channel_type": "im", "user": USER["id"]}
    bench.event({**dm, "text": "hello", "ts": "4.000050", "bot_id": "B0OTHER"})
    bench.event({**dm, "text": "edited", "ts": "4.000060", "subtype": "message_changed"})
    channel = {**dm, "channel": "C0GENERAL", "channel_type": "channel"}
    bench.event({**channel, "text": f"@{stripe} slow?", "ts": "4.000070"})  # not asked
    bench.event({**dm, "text": f"@{stripe} how busy is it?", "ts": "4.000100"})

    post = bench.fake.wait_for_posts(1, thread="4.000100")[0]
    assert post.payload["channel"] == "D0ANA" and cited(post) == [stripe]
    assert len(bench.fake.posts()) == 1


def test_a_message_that_comes_as_a_mention_and_as_a_dm_is_answered_once(
    slack_bench: Bench, stripe: str
) -> None:
    bench = slack_bench()
    text = f"<@{BOT_USER}> @{stripe} errors?"
    event = {"channel": "D0ANA", "user": USER["id"], "text": text, "ts": "5.000100"}
    bench.event({**event, "type": "app_mention"})
    bench.event({**event, "type": "message", "channel_type": "im"})
    bench.mention(f"<@{BOT_USER}> @{stripe} and now?", ts="5.000200", channel="D0ANA")
    bench.fake.wait_for_posts(1, thread="5.000200")
    assert len(bench.fake.wait_for_posts(1, thread="5.000100")) == 1


def test_a_bare_mention_gets_help(slack_bench: Bench) -> None:
    bench = slack_bench()
    post = answer_in_thread(bench, f"<@{BOT_USER}|spanwise>", ts="6.000100")
    assert post.blocks_text() == HELP and post.buttons() == []


def test_the_answer_is_posted_after_slack_has_its_acknowledgement(
    slack_bench: Bench, stripe: str
) -> None:
    bench = slack_bench()
    bench.http.post("/slack/events")  # the first request warms the app: not measured
    bench.fake.posting.clear()  # chat.postMessage hangs until set
    started = time.perf_counter()
    response = bench.mention(f"<@{BOT_USER}> @{stripe} how slow?", ts="7.000100")
    acknowledged_s = time.perf_counter() - started
    assert response.status_code == 200 and acknowledged_s < 1.0
    posted = bench.fake.wait_for_posts(1, thread="7.000100")  # asked, still unanswered
    bench.fake.posting.set()
    assert cited(posted[0]) == [stripe]


def test_a_retried_event_is_acknowledged_and_not_answered_again(
    slack_bench: Bench, stripe: str
) -> None:
    bench = slack_bench()
    first = bench.mention(f"<@{BOT_USER}> @{stripe}?", ts="8.000100", event_id="Ev0RETRY")
    assert first.status_code == 200 and "x-slack-no-retry" not in first.headers
    bench.fake.wait_for_posts(1, thread="8.000100")
    retry = bench.mention(
        f"<@{BOT_USER}> @{stripe}?",
        ts="8.000100",
        event_id="Ev0RETRY",
        headers={"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"},
    )
    assert retry.status_code == 200 and retry.headers["x-slack-no-retry"] == "1"
    # A later question is answered; by then a wrongly handled retry would have posted too.
    answer_in_thread(bench, f"<@{BOT_USER}> @{stripe} again?", ts="8.000200")
    assert len([p for p in bench.fake.posts() if p.payload["thread_ts"] == "8.000100"]) == 1


@pytest.mark.parametrize(
    ("team", "channel", "tenant"),
    [
        (TEAM, "C0GENERAL", "acme"),  # the workspace's tenant
        (TEAM, "C0SHARED", "default"),  # a channel's mapping wins over its workspace's
        ("T0OTHER", "C0GENERAL", "default"),  # unmapped: the default tenant
    ],
)
def test_a_workspace_or_channel_asks_its_own_tenant(
    slack_bench: Bench, sample_store: Path, stripe: str, team: str, channel: str, tenant: str
) -> None:
    bench = slack_bench(slack_tenants={TEAM: "acme", "C0SHARED": "default"})
    acme = PatternStore(tenant_store_path(bench.settings, "acme"))
    acme.close()
    Path(acme.path).write_bytes(sample_store.read_bytes())
    acme = PatternStore(acme.path)
    pattern = next(p for p in acme.load(sketches=False) if p.name == stripe)
    ClassificationStore(acme).correct(
        pattern, "description", "Acme's own card charges.", reason="", author="test"
    )
    acme.close()

    post = answer_in_thread(
        bench, f"<@{BOT_USER}> what is @{stripe}?", ts="9.000100", channel=channel, team=team
    )
    assert ("Acme's own card charges" in post.blocks_text()) == (tenant == "acme")


def test_an_error_reaches_the_user_as_one_short_line(
    slack_bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    bench = slack_bench(slack_tenants={"C0BROKEN": "broken"})
    broken = tenant_store_path(bench.settings, "broken")
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"this is not a SQLite database, whatever its name says" * 100)

    post = answer_in_thread(bench, f"<@{BOT_USER}> why?", ts="10.000100", channel="C0BROKEN")
    text = post.blocks_text()
    assert text.startswith("Sorry, Spanwise could not answer that (DatabaseError).")
    assert len(text) < 200 and "Traceback" not in text and str(broken.parent) not in text
    assert "Traceback" in caplog.text  # the details are in the server's log


def test_a_busy_model_is_said_so_as_the_api_says_429(slack_bench: Bench, stripe: str) -> None:
    bench = slack_bench(openai_api_key="sk-test", model_max_concurrency=1, model_max_queue=0)
    with bench.http.app.state.chat_services.gate.slot():  # the one model call allowed
        post = answer_in_thread(bench, f"<@{BOT_USER}> @{stripe} why?", ts="10.000200")
    assert post.blocks_text().startswith("Spanwise is busy answering other questions: ask again")


@pytest.mark.parametrize("in_channel", [False, True])
def test_the_slash_command_answers_to_the_asker_or_in_the_channel(
    slack_bench: Bench, stripe: str, in_channel: bool
) -> None:
    bench = slack_bench(slack_slash_in_channel=in_channel)
    ack = bench.command(f"@{stripe} how slow?", response_id="cmd1")
    assert ack.status_code == 200
    expected = "in_channel" if in_channel else "ephemeral"
    if in_channel:  # the command itself shows in the channel, with the answer
        assert ack.json()["response_type"] == "in_channel"
    answer = bench.fake.wait_for_response("cmd1")
    assert answer.payload["response_type"] == expected
    assert f"@{stripe}:" in answer.blocks_text() and cited(answer) == [stripe]
    assert bench.fake.posts() == []


def test_the_slash_command_without_a_question_gets_help(slack_bench: Bench) -> None:
    bench = slack_bench()
    ack = bench.command("  ", response_id="cmd2")
    assert ack.status_code == 200 and ack.text == HELP  # shown to the asker only


def button(post: SlackCall, action_id: str) -> dict[str, object]:
    return next(b for b in post.buttons() if b["action_id"] == action_id)


def test_the_verdict_buttons_record_corrections_by_the_slack_user(
    slack_bench: Bench, stripe: str
) -> None:
    bench = slack_bench()
    post = answer_in_thread(bench, f"<@{BOT_USER}> @{stripe}?", ts="11.000100")

    for action_id, verdict, response_id in [
        (ACTION_MARK_NOISE, "noise", "click1"),
        (ACTION_KEEP, "keep", "click2"),
    ]:
        assert (
            bench.click(button(post, action_id), post, response_id=response_id).status_code == 200
        )
        reply = bench.fake.wait_for_response(response_id)
        assert reply.payload["response_type"] == "ephemeral"
        assert reply.payload["replace_original"] is False
        assert f"`{stripe}` is *{verdict}*, by ana (Slack U0ANA)" in reply.blocks_text()
        store = PatternStore(bench.settings.data_dir / "patterns.sqlite")
        classifications = ClassificationStore(store)
        correction = classifications.corrections()[-1]
        assert (correction.field, correction.value) == ("verdict", verdict)
        assert correction.author == "ana (Slack U0ANA)"
        assert correction.reason
        pattern = next(p for p in live_patterns(store.load(sketches=False)) if p.name == stripe)
        current = classifications.current([pattern])[pattern.id]
        assert current.classification.verdict.value == verdict
        assert "verdict" in current.person_fields
        store.close()


def test_show_sample_trace_lists_its_spans_and_no_span_attributes(
    slack_bench: Bench, stripe: str
) -> None:
    bench = slack_bench()
    post = answer_in_thread(bench, f"<@{BOT_USER}> @{stripe}?", ts="12.000100")
    show = button(post, ACTION_SHOW_TRACE)
    trace_id = json.loads(str(show["value"]))["trace"]

    bench.click(show, post, response_id="click3")
    reply = bench.fake.wait_for_response("click3")
    text = reply.blocks_text()
    assert reply.payload["response_type"] == "ephemeral"
    assert f"*Sample trace* `{trace_id}`" in text
    assert f"<{PUBLIC_URL}/traces/{trace_id}|Spanwise>" in text and "|Grafana>" in text
    assert f" · payment · {stripe} · " in text
    every_call = json.dumps([c.payload for c in bench.fake.calls])
    assert SECRET not in every_call and "http.request.header" not in every_call


def test_posting_failures_are_logged_not_raised(
    slack_bench: Bench, fake_slack: FakeSlack, stripe: str, caplog: pytest.LogCaptureFixture
) -> None:
    bench = slack_bench()
    fake_slack.errors["chat.postMessage"] = "not_in_channel"
    bench.mention(f"<@{BOT_USER}> @{stripe}?", ts="13.000100")
    bench.fake.wait_for_posts(1, thread="13.000100")
    deadline = time.monotonic() + 5
    while "not_in_channel" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "could not post to C0GENERAL: not_in_channel" in caplog.text
