"""``spanwise chat``: ask about patterns, once or in an interactive conversation."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from app.cli.state import CliState, cli_state, pattern_store_with_patterns
from app.tenancy import DEFAULT_TENANT

if TYPE_CHECKING:  # the chat, LangChain and retrieval are imported when a question comes
    from app.chat.service import ChatAnswer, ChatService
    from app.discovery.store import PatternStore
    from app.settings import Settings

EXIT_WORDS = frozenset({"exit", "quit", ":q"})
SHOWN_QUERY_CHARS = 400


def chat(
    ctx: typer.Context,
    question: str | None = typer.Argument(
        None, help='e.g. "@postgres_query_select_orders why is this slow?"; none: interactive.'
    ),
    as_json: bool = typer.Option(False, "--json", help="The whole answer document as JSON."),
    conversation: str | None = typer.Option(
        None, "--conversation", help="Go on with a conversation (its id is in --json output)."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Model name, when a model is configured [gpt-4o-mini]."
    ),
) -> None:
    """Ask about span patterns; answers state the computed facts and cite their patterns."""
    state = cli_state(ctx)
    store = pattern_store_with_patterns(state)
    service = chat_service(state.settings, store, model=model, tenant=state.tenant)
    if question is not None:
        answer = service.ask(question, conversation)
        if as_json:
            typer.echo(json.dumps(answer.as_dict(), indent=2))
        else:
            _show(state.console, answer)
        return
    chat_loop(state, service, conversation=conversation)


def chat_service(
    settings: Settings, store: PatternStore, *, model: str | None, tenant: str = DEFAULT_TENANT
) -> ChatService:
    from app.chat.index import retriever
    from app.chat.model_answer import answerer_from_settings
    from app.chat.service import ChatService, GrafanaLinks
    from app.facts.live import live_source
    from app.tempo_runner import tempo_runner

    return ChatService(
        store,
        grafana=GrafanaLinks.from_settings(settings),
        answerer=answerer_from_settings(settings, model=model),
        retrieve=retriever(settings, store, tenant),
        live=live_source(settings),
        live_window_s=settings.chat_window_s,
        tempo=tempo_runner(settings),
    )


def chat_loop(
    state: CliState,
    service: ChatService,
    *,
    conversation: str | None = None,
    first: str | None = None,
) -> None:
    """Questions from the terminal until an empty line, ``exit`` or end of input."""
    state.console.print(
        "Ask about your span patterns (@name mentions one); an empty line or exit stops."
        + (f" For example: {first}" if first else ""),
        soft_wrap=True,
        markup=False,
    )
    while True:
        try:
            asked = input("you> ").strip()
        except EOFError:
            break
        if not asked or asked.lower() in EXIT_WORDS:
            break
        answer = service.ask(asked, conversation)
        conversation = answer.conversation_id
        _show(state.console, answer)


def _show(console: Console, answer: ChatAnswer) -> None:
    console.print(answer.answer, soft_wrap=True, markup=False, highlight=False)
    if answer.mode == "model":
        for line in answer.model_notes():
            console.print(line, soft_wrap=True, markup=False, highlight=False, style="dim")
    for citation in answer.citations:
        query = citation["traceql"]
        if len(query) > SHOWN_QUERY_CHARS:  # SQL patterns' regexes run to kilobytes
            query = f"TraceQL of {len(query):,} characters (in --json)"
        console.print(
            f"  {citation['pattern']}: {query}", soft_wrap=True, markup=False, highlight=False
        )
        if "grafana_url" in citation:
            console.print(f"  {citation['grafana_url']}", soft_wrap=True, markup=False)
