"""``kill -9`` in the middle of a discovery run loses nothing committed before it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from app.classify.store import ClassificationStore
from app.cli.main import cli
from app.discovery.run import pattern_store_path
from app.discovery.store import PatternStore

WIDE = {"COLUMNS": "250", "USER": "sre-on-call"}
REPO = Path(__file__).resolve().parents[3]


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--data-dir", str(data_dir), *args], env=WIDE)
    return result.exit_code, result.output


def snapshot(data_dir: Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    store = PatternStore(pattern_store_path(data_dir))
    try:
        counts = {p.name: p.stats.count for p in store.load(sketches=False)}
        corrections = [(c.field, c.value) for c in ClassificationStore(store).corrections()]
    finally:
        store.close()
    return counts, corrections


def test_a_killed_discovery_run_keeps_what_was_committed_and_the_next_run_completes(
    tmp_path: Path,
) -> None:
    code, output = run(tmp_path, "discover", "--sample", "--traces", "200", "--seed", "5")
    assert code == 0, output
    counts, _ = snapshot(tmp_path)
    name = max(counts, key=lambda n: counts[n])
    code, output = run(tmp_path, "patterns", "reclassify", name, "noise", "--reason", "a probe")
    assert code == 0, output
    before = snapshot(tmp_path)

    command = [sys.executable, "-c", "from app.cli.main import main; main()"]
    command += ["--data-dir", str(tmp_path), "discover", "--sample", "--traces", "400000"]
    process = subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(4)  # well into the run: the sample system is streaming spans into discovery
    assert process.poll() is None, "the run ended before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)

    database = sqlite3.connect(pattern_store_path(tmp_path))
    assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    database.close()
    assert snapshot(tmp_path) == before

    code, output = run(tmp_path, "discover", "--sample", "--traces", "200", "--seed", "6")
    assert code == 0, output
    counts_after, corrections = snapshot(tmp_path)
    assert corrections == before[1]
    assert counts_after[name] > counts[name]
