"""One writer of a pattern store at a time, within this process.

Discovery keeps a run's patterns in memory from load to save; two runs (a Tempo run asked
through the API, the receiver's live discovery, a split or a merge) that overlap would each
save their own copy, and the later would undo the other's counts. Writers of a store take
its lock from load to save. Other processes (a CLI run beside ``spanwise serve``) are not
covered by it: live discovery's saves are refused when any writer saved patterns since its
copy was loaded (``PatternStore.writes``), and it loads them again.
"""

from __future__ import annotations

import threading
from pathlib import Path

_LOCKS: dict[Path, threading.RLock] = {}
_GUARD = threading.Lock()


def store_writer(path: Path) -> threading.RLock:
    """The lock of the pattern store at ``path``: ``with store_writer(path): ...``."""
    key = path.resolve()
    with _GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = threading.RLock()
        return lock
