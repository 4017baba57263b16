"""Traces a Tempo run could not fetch, kept beside the pattern store for ``--resume``.

A run from Tempo that fetched most of its traces keeps what it fetched: the patterns are
saved, and the traces that still failed after the client's retries are written here with
why. ``spanwise discover --resume`` fetches exactly these, and only these, later.
"""

from __future__ import annotations

import json
from pathlib import Path

FILE_NAME = "failed-traces.json"


def failed_path(store_path: Path) -> Path:
    return store_path.parent / FILE_NAME


def write_failed(store_path: Path, failed: list[tuple[str, str]], query: str) -> Path:
    path = failed_path(store_path)
    kept = {trace_id: reason for trace_id, reason in read_failed(store_path)}
    kept.update(dict(failed))
    path.write_text(
        json.dumps(
            {"query": query, "traces": [{"trace_id": t, "why": w} for t, w in kept.items()]},
            indent=1,
        )
    )
    return path


def read_failed(store_path: Path) -> list[tuple[str, str]]:
    path = failed_path(store_path)
    if not path.is_file():
        return []
    document = json.loads(path.read_text())
    return [(entry["trace_id"], entry["why"]) for entry in document.get("traces", [])]


def replace_failed(store_path: Path, failed: list[tuple[str, str]]) -> None:
    """After a resume: the traces that still fail, or no file when none does."""
    path = failed_path(store_path)
    if not failed:
        path.unlink(missing_ok=True)
        return
    path.write_text(
        json.dumps({"traces": [{"trace_id": t, "why": w} for t, w in failed]}, indent=1)
    )
