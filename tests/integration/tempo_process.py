"""A real Grafana Tempo for the integration tests: finding its start script, starting, stopping.

Tempo is started from a ``start-tempo`` script (``../shared/tempo/README.md``), never taken
as the URL of one already running: the tests compare exact counts over a window, so they need
a Tempo that holds nothing but the spans they pushed.

Where the script is: ``SPANWISE_TEST_TEMPO_START`` when it is set (then only there: an explicit
setting is never swapped for a default behind one's back), else ``<repo>/../shared/tempo/
start-tempo``. When there is none, or it cannot start Tempo, the tests are skipped with the
reason and what to set; ``SPANWISE_REQUIRE_TEMPO=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

START_ENV = "SPANWISE_TEST_TEMPO_START"
REQUIRE_ENV = "SPANWISE_REQUIRE_TEMPO"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_START = REPO_ROOT.parent / "shared" / "tempo" / "start-tempo"
READY_TIMEOUT_S = 120
"""How long start-tempo waits for /ready (15-20 s is usual on a 2-core machine)."""
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class TempoInstance:
    """One running Tempo, as start-tempo wrote it to ``<directory>/env``."""

    url: str
    """The HTTP API: search, traces, metrics."""
    otlp_http: str
    """POST OTLP/HTTP to ``<otlp_http>/v1/traces``."""
    pid: int
    directory: Path
    multitenancy: bool

    @property
    def log(self) -> Path:
        return self.directory / "tempo.log"

    def stop(self) -> None:
        """kill -9: a SIGTERM can hang for minutes in Tempo's query frontend shutdown."""
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@dataclass(frozen=True)
class TempoLauncher:
    """Starts Tempos from the script the environment names, or says why it cannot."""

    script: Path | None
    missing: str
    """Why there is no script, and what to set; empty when there is one."""
    required: bool

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> TempoLauncher:
        required = environ.get(REQUIRE_ENV, "").strip().lower() in ("1", "true", "yes")
        named = environ.get(START_ENV)
        script = Path(named).expanduser() if named else DEFAULT_START
        if script.is_file():
            return cls(script.resolve(), "", required)
        where = f"{START_ENV}={named}" if named else f"{START_ENV} is not set and {script}"
        return cls(
            None,
            f"no Grafana Tempo to test against: {where} does not exist. Set {START_ENV} to the "
            "path of a start-tempo script (see ../shared/tempo/README.md)",
            required,
        )

    def start(self, directory: Path, *, multitenancy: bool = False) -> TempoInstance:
        """A Tempo started in ``directory``; skips (fails when required) when it cannot."""
        if self.script is None:
            self.unavailable(self.missing)
        command = [str(self.script), str(directory), "--timeout", str(READY_TIMEOUT_S)]
        if not os.access(self.script, os.X_OK):
            command.insert(0, sys.executable)
        if multitenancy:
            command.append("--multitenancy")
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=READY_TIMEOUT_S + 60,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.unavailable(f"{self.script} could not start Tempo: {exc}")
        if done.returncode != 0:
            self.unavailable(
                f"{self.script} could not start Tempo (exit {done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-2000:]}"
            )
        return _instance(directory, multitenancy)

    def unavailable(self, reason: str) -> NoReturn:
        if self.required:
            pytest.fail(f"{reason} ({REQUIRE_ENV}=1: a missing Tempo is a failure)")
        pytest.skip(reason)


def _instance(directory: Path, multitenancy: bool) -> TempoInstance:
    values = dict(
        line.split("=", 1) for line in (directory / "env").read_text().splitlines() if "=" in line
    )
    instance = TempoInstance(
        url=values["TEMPO_URL"],
        otlp_http=values["TEMPO_OTLP_HTTP"],
        pid=int(values["TEMPO_PID"]),
        directory=directory,
        multitenancy=multitenancy,
    )
    for url in (instance.url, instance.otlp_http):
        if urlsplit(url).hostname not in LOOPBACK:
            instance.stop()
            pytest.fail(f"start-tempo gave {url}: the tests reach no network but loopback")
    return instance
