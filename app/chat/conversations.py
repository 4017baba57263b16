"""Conversations: each turn's question, answer and the patterns it was about, kept in SQLite.

History is what lets "and its error rate?" mean the pattern the conversation is about: the
patterns cited by the latest turn that cited any.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

from app.discovery.store import PatternStore

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversation_turns (
    conversation_id TEXT NOT NULL,
    turn INTEGER NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    cited TEXT NOT NULL,
    created_unix_s REAL NOT NULL,
    PRIMARY KEY (conversation_id, turn)
)
"""

HISTORY_TURNS = 6


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str
    cited: list[int]
    """Pattern ids the answer was about."""
    pointed: list[int] = field(default_factory=list)
    """Pattern ids its facts pointed to as where the time or the errors come from, the
    strongest first: what "that query" most likely means."""


class Conversations:
    def __init__(self, store: PatternStore) -> None:
        self._store = store
        self._db = store.connection
        with store.transaction():
            self._db.execute(_SCHEMA)

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def history(self, conversation_id: str, turns: int = HISTORY_TURNS) -> list[Turn]:
        cursor = self._db.execute(
            "SELECT question, answer, cited FROM conversation_turns WHERE conversation_id = ? "
            "ORDER BY turn DESC LIMIT ?",
            (conversation_id, turns),
        )
        return [_turn(q, a, json.loads(c)) for q, a, c in cursor][::-1]

    def add(
        self,
        conversation_id: str,
        question: str,
        answer: str,
        cited: list[int],
        pointed: list[int] | None = None,
    ) -> None:
        with self._store.transaction():
            row = self._db.execute(
                "SELECT COALESCE(MAX(turn), 0) FROM conversation_turns WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
            turn = int(row[0]) + 1
            self._db.execute(
                "INSERT INTO conversation_turns VALUES (?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    turn,
                    question,
                    answer,
                    json.dumps({"cited": cited, "pointed": pointed or []}),
                    time.time(),
                ),
            )

    def last_cited(self, conversation_id: str) -> list[int]:
        for turn in reversed(self.history(conversation_id)):
            if turn.cited:
                return turn.cited
        return []


def _turn(question: str, answer: str, ids: list[int] | dict[str, list[int]]) -> Turn:
    """A stored turn; turns stored before pointers were kept hold the cited ids alone."""
    if isinstance(ids, list):
        return Turn(question, answer, list(ids))
    return Turn(question, answer, list(ids["cited"]), list(ids.get("pointed", [])))
