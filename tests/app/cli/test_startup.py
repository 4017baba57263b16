"""A command imports what it needs when it runs: starting the CLI loads no model client,
no vector store, no ONNX runtime and no web framework."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("langchain", "langchain_core", "langchain_openai", "chromadb", "onnxruntime", "fastapi")


def test_importing_the_cli_loads_nothing_heavy() -> None:
    probe = f"import sys, app.cli.main; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == [], f"importing the CLI loads {loaded}: import them where they are used"
