"""A cap on model calls in flight, with a bounded queue: overload is refused, not queued forever.

Model calls are slow and cost money; a burst of questions must neither hang every caller
nor run up a bill. ``slot()`` lets ``concurrency`` calls run and up to ``queue`` more wait
(each at most ``wait_s``); a call beyond that, or one that waited too long, raises
``Overloaded``, which the API answers with 429 and a ``Retry-After``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Overloaded(Exception):
    """Too many model calls at once; try again after ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ModelGate:
    def __init__(self, concurrency: int, queue: int, *, wait_s: float = 30.0) -> None:
        self.concurrency = concurrency
        self.queue = queue
        self._wait_s = wait_s
        self._running = threading.BoundedSemaphore(concurrency)
        self._admitted = 0
        self._count_lock = threading.Lock()

    @property
    def admitted(self) -> int:
        """Calls running or waiting now."""
        return self._admitted

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._count_lock:
            if self._admitted >= self.concurrency + self.queue:
                raise Overloaded(
                    f"{self.concurrency} model calls are running and {self.queue} waiting",
                    retry_after_s=max(1, round(self._wait_s / 6)),
                )
            self._admitted += 1
        try:
            if not self._running.acquire(timeout=self._wait_s):
                raise Overloaded(
                    f"waited {self._wait_s:.0f} s for a model call slot",
                    retry_after_s=max(1, round(self._wait_s / 3)),
                )
            try:
                yield
            finally:
                self._running.release()
        finally:
            with self._count_lock:
                self._admitted -= 1
