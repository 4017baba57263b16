"""Retrieval runs offline: no socket may leave the machine, as on a fresh laptop.

The top-level guard fails unmocked httpx requests; this one fails any connection to an
address off the loopback range, whatever opens it (a model hub client, urllib, telemetry).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app.classify.run import classify_patterns, live_patterns
from app.classify.store import ClassificationStore, StoredClassification
from app.discovery.normalize import normalize
from app.discovery.patterns import SpanPattern
from app.discovery.run import DiscoveryRun, sample_batches, sample_source
from app.discovery.store import PatternStore
from retrieval.embeddings import MiniLMInt8


def _local(address: Any) -> bool:
    if isinstance(address, str | bytes):  # a Unix socket path
        return True
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name, which only a resolver (and so the network) can place
        return False


@contextmanager
def sockets_stay_local() -> Iterator[None]:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        if not _local(address):
            raise OSError(f"a retrieval test tried to reach {address!r}: it must run offline")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _local(address):
            raise OSError(f"a retrieval test tried to reach {address!r}: it must run offline")
        return real_connect_ex(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect_ex)
        yield


@pytest.fixture(scope="module", autouse=True)
def offline() -> Iterator[None]:
    with sockets_stay_local():
        yield


@pytest.fixture(scope="session")
def minilm() -> MiniLMInt8:
    """The offline model, loaded once (about half a second) with the network shut."""
    with sockets_stay_local():
        function = MiniLMInt8()
        function(["load the model now, offline"])
    return function


@dataclass(frozen=True)
class Sample:
    """The sample system after discovery and offline classification."""

    patterns: list[SpanPattern]
    """Every pattern, as ``PatternStore.load`` returns them (ids are positions)."""
    classifications: dict[int, StoredClassification]


@pytest.fixture(scope="session")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sample]:
    path: Path = tmp_path_factory.mktemp("sample") / "patterns.sqlite"
    store = PatternStore(path)
    run = DiscoveryRun(store, normalize, source=sample_source(8, 120))
    for batch in sample_batches(8, 120):
        run.accept(batch)
    run.finish()
    classify_patterns(store)
    patterns = store.load()
    classifications = ClassificationStore(store).current(live_patterns(patterns))
    yield Sample(patterns, classifications)
    store.close()
