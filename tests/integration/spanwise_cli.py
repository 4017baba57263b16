"""The real ``spanwise`` command line, run in this process, and what it leaves: the patterns
it stored, the traces it pulled."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from app.classify.run import live_patterns
from app.cli.main import cli
from app.discovery.patterns import SpanPattern
from app.discovery.run import pattern_store_path
from app.discovery.store import PatternStore
from connectors.otlp import decode_otlp_json
from connectors.spans import Span


def spanwise(*args: str | Path) -> Result:
    """``spanwise ARGS``; the caller checks ``exit_code`` (``output`` says why it failed)."""
    return CliRunner().invoke(cli, [str(arg) for arg in args])


@contextmanager
def isolated(cwd: Path) -> Iterator[None]:
    """No ``SPANWISE_*`` or OpenAI variable and no ``.env`` file reaches Settings.

    ``tests/conftest.py``'s ``isolated_env`` does this for one test; session fixtures that
    run the CLI once for several tests need it for the length of a block.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("SPANWISE_") or name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
                patch.delenv(name)
        patch.chdir(cwd)
        yield


def stored_patterns(data_dir: Path) -> list[SpanPattern]:
    """The live patterns (not merged away, with spans) of a data dir's default store."""
    store = PatternStore(pattern_store_path(data_dir))
    try:
        return live_patterns(store.load())
    finally:
        store.close()


def pulled_traces(path: Path) -> dict[str, list[Span]]:
    """Trace id -> spans, from a file of one OTLP/JSON trace a line; a trace split over
    two lines, or a line holding two traces, fails."""
    traces: dict[str, list[Span]] = {}
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        batch = decode_otlp_json(line)
        assert not batch.rejected, f"line {number}: {batch.rejected[:3]}"
        trace_ids = {span.trace_id for span in batch.spans}
        assert len(trace_ids) == 1, f"line {number} holds traces {sorted(trace_ids)}"
        (trace_id,) = trace_ids
        assert trace_id not in traces, f"trace {trace_id} is on two lines"
        traces[trace_id] = batch.spans
    return traces
