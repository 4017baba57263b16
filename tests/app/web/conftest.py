"""The explorer's test data, a real server for the browser, and the browser.

The store: the sample system (seed 6, 300 traces), classified offline, plus one trace
pushed as a client would push it, whose spans carry markup where span data can: a
``<script>`` in an attribute and an ``<img onerror>`` in a span name, an erroring span
that is its pattern's slowest, so that it is among the samples every page shows.

Browser tests run the real app under uvicorn on a free loopback port and drive Debian's
headless Chromium through chromedriver. Without Chromium they skip, except in CI (``CI``
set), where they fail. Screenshots go to ``$SPANWISE_TEST_ARTIFACTS`` (default
``.artifacts/screenshots`` in the repository).
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
import uvicorn
from fastapi import FastAPI

from app.api.server import create_app
from app.classify.run import classify_patterns
from app.discovery.normalize import normalize
from app.discovery.run import DiscoveryRun, discover_sample, pattern_store_path, sample_batches
from app.discovery.store import PatternStore
from app.ingest.pipeline import SpanPipeline
from app.ingest.summary import IngestSummary
from app.settings import Settings
from connectors.spans import Span, SpanKind, StatusCode
from tests.headless_chromium import chromium_missing, start_chromium

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

SEED, TRACES = 6, 300
SCRIPT = "<script>alert(1)</script>"
IMAGE = "<img src=x onerror=alert(2)>"
MARKED_TRACE = "5c7a1b2c3d4e5f60718293a4b5c6d7e8"
MARKED_ROUTE = "/products/:sku"
REPOSITORY = Path(__file__).resolve().parents[3]


def marked_trace(template: Span) -> list[Span]:
    """A frontend request like ``template`` (so it joins that pattern) whose data holds
    markup: an erroring server span, the slowest of its pattern, and an internal child."""
    start = template.start_unix_nano + 1_000_000_000
    server = msgspec.structs.replace(
        template,
        trace_id=MARKED_TRACE,
        span_id="a1b2c3d4e5f60718",
        parent_span_id=None,
        start_unix_nano=start,
        end_unix_nano=start + 9_000_000_000,
        attributes={**template.attributes, "app.note": SCRIPT},
        status_code=StatusCode.ERROR,
        status_message=f"failed: {SCRIPT}",
        events=[],
    )
    child = Span(
        trace_id=MARKED_TRACE,
        span_id="b1b2c3d4e5f60718",
        parent_span_id=server.span_id,
        name=f"render {IMAGE}",
        kind=SpanKind.INTERNAL,
        start_unix_nano=start + 1_000_000,
        end_unix_nano=start + 8_000_000_000,
        attributes={"app.note": SCRIPT},
        resource=template.resource,
    )
    return [server, child]


def build_store(path: Path) -> None:
    store = PatternStore(path)
    discover_sample(store, SEED, TRACES)
    template = next(
        span
        for batch in sample_batches(SEED, TRACES)
        for span in batch
        if span.kind is SpanKind.SERVER
        and span.resource.get("service.name") == "frontend"
        and span.attributes.get("http.route") == MARKED_ROUTE
    )
    pushed = DiscoveryRun(store, normalize)  # as spans pushed to the receiver arrive
    pushed.accept(marked_trace(template))
    pushed.finish()
    classify_patterns(store)
    store.close()


@pytest.fixture(scope="session")
def explorer_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The store, built once; tests that change it work on a copy (``data_dir``)."""
    path = tmp_path_factory.mktemp("explorer") / "patterns.sqlite"
    build_store(path)
    return path


def copy_store(template: Path, data_dir: Path) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, pattern_store_path(data_dir))
    return data_dir


@pytest.fixture
def data_dir(explorer_store: Path, tmp_path: Path) -> Path:
    return copy_store(explorer_store, tmp_path / "data")


def make_app(data_dir: Path, **settings: Any) -> FastAPI:
    summary = IngestSummary()
    return create_app(Settings(data_dir=data_dir, **settings), SpanPipeline([summary]), summary)


# --- a real server ------------------------------------------------------------------------


@dataclass
class RunningServer:
    url: str
    data_dir: Path
    stop: Callable[[], None]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(data_dir: Path, **settings: Any) -> RunningServer:
    """The whole app under uvicorn in a thread, as ``spanwise serve`` runs it."""
    port = _free_port()
    config = uvicorn.Config(
        make_app(data_dir, **settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return RunningServer(f"http://127.0.0.1:{port}", data_dir, stop)


@pytest.fixture(scope="session")
def server(
    explorer_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    running = start_server(copy_store(explorer_store, tmp_path_factory.mktemp("served")))
    yield running
    running.stop()


# --- the browser --------------------------------------------------------------------------


WATCHER = """
window.__alerts = [];
window.__violations = [];
window.__errors = [];
for (const name of ["alert", "confirm", "prompt"]) {
  window[name] = (message) => { window.__alerts.push(String(message)); };
}
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
window.addEventListener("error", (event) => { window.__errors.push(String(event.message)); });
"""
"""Run before any page script: records dialogs a page opens (a script that ran), what the
Content-Security-Policy blocked, and script errors, for ``assert_quiet``."""


def assert_quiet(driver: WebDriver) -> None:
    """The page opened no dialog, broke no policy and threw no error."""
    found = driver.execute_script("return [window.__alerts, window.__violations, window.__errors];")
    assert found == [[], [], []], found


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    missing = chromium_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"))
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCHER})
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    folder = Path(
        os.environ.get("SPANWISE_TEST_ARTIFACTS") or REPOSITORY / ".artifacts" / "screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def screenshot(browser: WebDriver, artifacts: Path) -> Callable[[str], Path]:
    """Save the whole page, beyond the window, as ``<artifacts>/<name>.png``."""

    def take(name: str) -> Path:
        browser.execute_script("window.scrollTo(0, 0)")  # the sticky bar at the top
        size = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        shot = browser.execute_cdp_cmd(
            "Page.captureScreenshot",
            {"captureBeyondViewport": True, "fromSurface": True, "clip": clip},
        )
        path = artifacts / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    return take
