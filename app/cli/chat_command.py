"""``spanwise chat``: ask about patterns, once or in an interactive conversation."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from app.chat.index import retriever
from app.chat.model_answer import answerer_from_settings
from app.chat.service import ChatAnswer, ChatService, GrafanaLinks
from app.cli.state import cli_state
from app.discovery.run import pattern_store_path
from app.discovery.store import PatternStore

EXIT_WORDS = frozenset({"exit", "quit", ":q"})


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
    store = PatternStore(pattern_store_path(state.settings.data_dir))
    if not store.load():
        state.err_console.print(
            "no patterns yet: run `spanwise discover --sample` (or --file, or a Tempo window)"
        )
        raise typer.Exit(1)
    service = ChatService(
        store,
        grafana=GrafanaLinks.from_settings(state.settings),
        answerer=answerer_from_settings(state.settings, model=model),
        retrieve=retriever(state.settings, store),
    )
    if question is not None:
        answer = service.ask(question, conversation)
        if as_json:
            typer.echo(json.dumps(answer.as_dict(), indent=2))
        else:
            _show(state.console, answer)
        return
    state.console.print(
        "Ask about your span patterns (@name mentions one); an empty line or exit stops."
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
    for citation in answer.citations:
        console.print(
            f"  {citation['pattern']}: {citation['traceql']}",
            soft_wrap=True,
            markup=False,
            highlight=False,
        )
        if "grafana_url" in citation:
            console.print(f"  {citation['grafana_url']}", soft_wrap=True, markup=False)
