"""API tokens: made once, shown once, stored only as a hash; each belongs to one tenant.

A token reads ``sw_<id>_<secret>``: the id finds its row, the 32-byte secret is what
proves it. Only the SHA-256 of the whole token is stored: the secret is random, so a slow
password hash would add nothing but latency to every request. A revoked token stays listed
(who made it, when, when it was revoked) and never authenticates again.

Roles: ``read`` browses and chats; ``write`` may also correct patterns and run discovery;
``ingest`` may only push spans to the OTLP receiver.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from app.tenancy import check_tenant

TOKEN_PREFIX = "sw_"
AUTH_STORE_FILE = "auth.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    tenant TEXT NOT NULL,
    role TEXT NOT NULL,
    name TEXT NOT NULL,
    created_unix REAL NOT NULL,
    revoked_unix REAL
)
"""


class Role(StrEnum):
    READ = "read"
    WRITE = "write"
    INGEST = "ingest"


@dataclass(frozen=True)
class Grant:
    """What a request presenting a valid token may do, and for which tenant."""

    token_id: str
    tenant: str
    role: Role


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    tenant: str
    role: Role
    name: str
    created_unix: float
    revoked_unix: float | None


def auth_store_path(data_dir: Path) -> Path:
    return data_dir / AUTH_STORE_FILE


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Tokens in SQLite beside the pattern store; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def create(self, tenant: str, role: Role, name: str = "") -> tuple[TokenInfo, str]:
        """A new token: its record, and the token itself, which is never shown again."""
        check_tenant(tenant)
        token_id = secrets.token_hex(4)
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO tokens (id, hash, tenant, role, name, created_unix)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (token_id, _digest(token), tenant, role.value, name, now),
            )
        return TokenInfo(token_id, tenant, role, name, now, None), token

    def tokens(self) -> list[TokenInfo]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, tenant, role, name, created_unix, revoked_unix FROM tokens"
                " ORDER BY created_unix"
            ).fetchall()
        return [TokenInfo(r[0], r[1], Role(r[2]), r[3], r[4], r[5]) for r in rows]

    def active_count(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT count(*) FROM tokens WHERE revoked_unix IS NULL")
            return int(row.fetchone()[0])

    def revoke(self, token_id: str) -> bool:
        """Whether a token that could still authenticate was revoked."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE tokens SET revoked_unix = ? WHERE id = ? AND revoked_unix IS NULL",
                (time.time(), token_id),
            )
        return cursor.rowcount == 1

    def authenticate(self, token: str) -> Grant | None:
        """The grant of a valid, unrevoked token; ``None`` for anything else."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        token_id, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
        if not token_id or not secret:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT hash, tenant, role FROM tokens WHERE id = ? AND revoked_unix IS NULL",
                (token_id,),
            ).fetchone()
        if row is None or not hmac.compare_digest(row[0], _digest(token)):
            return None
        return Grant(token_id, row[1], Role(row[2]))
