"""Classifications, people's corrections, names and model usage, beside the patterns.

Everything lives in the pattern store's SQLite file, so a pattern, its classification and
the corrections made to it are saved and restored together. Rules kept here:

- A **name**, once a classifier or a person gave it, stays: later classifications never
  rename a pattern. Every name a pattern had before keeps resolving as an **alias**.
- A **field a person set** (name, description, verdict...) is never overwritten by a later
  classification; the correction, with its author, time and reason, is kept for ever and
  becomes an example in later prompts (``app.classify.examples``).
- Model answers are **cached** by pattern fingerprint, prompt version and model, so an
  unchanged system costs no tokens the second time.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from app.classify.verdict import (
    MAX_TEXT_LENGTH,
    Category,
    Classification,
    Source,
    Verdict,
    is_snake_case_name,
)
from app.discovery.patterns import SpanPattern
from app.discovery.store import PatternStore

CORRECTABLE = ("name", "description", "category", "verdict", "reasoning")

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS classifications (
        pattern_id INTEGER PRIMARY KEY,
        description TEXT NOT NULL,
        category TEXT NOT NULL,
        verdict TEXT NOT NULL,
        reasoning TEXT NOT NULL,
        source TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        prompt_version TEXT NOT NULL,
        model TEXT NOT NULL,
        person_fields TEXT NOT NULL,
        updated_unix_s REAL NOT NULL
    )""",
    """
    CREATE TABLE IF NOT EXISTS classification_cache (
        fingerprint TEXT NOT NULL,
        prompt_version TEXT NOT NULL,
        model TEXT NOT NULL,
        answer TEXT NOT NULL,
        created_unix_s REAL NOT NULL,
        PRIMARY KEY (fingerprint, prompt_version, model)
    )""",
    """
    CREATE TABLE IF NOT EXISTS aliases (
        name TEXT PRIMARY KEY,
        pattern_id INTEGER NOT NULL,
        created_unix_s REAL NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS aliases_by_pattern ON aliases (pattern_id)",
    """
    CREATE TABLE IF NOT EXISTS corrections (
        id INTEGER PRIMARY KEY,
        pattern_id INTEGER NOT NULL,
        field TEXT NOT NULL,
        value TEXT NOT NULL,
        reason TEXT NOT NULL,
        author TEXT NOT NULL,
        created_unix_s REAL NOT NULL
    )""",
    """
    CREATE TABLE IF NOT EXISTS model_usage (
        id INTEGER PRIMARY KEY,
        model TEXT NOT NULL,
        prompt_version TEXT NOT NULL,
        patterns INTEGER NOT NULL,
        calls INTEGER NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        cached INTEGER NOT NULL,
        fallbacks INTEGER NOT NULL,
        finished_unix_s REAL NOT NULL
    )""",
)


class CorrectionError(ValueError):
    """A correction that cannot be made; the message says why and what would work."""


@dataclass(frozen=True)
class StoredClassification:
    pattern_id: int
    classification: Classification
    fingerprint: str
    prompt_version: str
    model: str
    person_fields: frozenset[str]


@dataclass(frozen=True)
class Correction:
    id: int
    pattern_id: int
    field: str
    value: str
    reason: str
    author: str
    created_unix_s: float


@dataclass
class Usage:
    """What one classification run cost."""

    model: str
    prompt_version: str
    patterns: int = 0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached: int = 0
    """Patterns answered from the cache, at no cost."""
    fallbacks: int = 0
    """Patterns the model failed on, classified offline instead (and retried next run)."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def fingerprint(pattern: SpanPattern) -> str:
    """What a pattern is, not how busy it is: statistics changing costs no new answer."""
    identity = [
        pattern.service,
        pattern.span_kind,
        pattern.family.value,
        pattern.operation,
        [m.as_dict() for m in pattern.matchers],
    ]
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]


class Named(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def name(self) -> str: ...


class ClassificationStore:
    def __init__(self, patterns: PatternStore) -> None:
        self.patterns = patterns
        self._db = patterns.connection
        with patterns.transaction():
            for statement in _SCHEMA:
                self._db.execute(statement)

    # --- reading -----------------------------------------------------------------------

    def current(self, patterns: Iterable[Named]) -> dict[int, StoredClassification]:
        """The classification of each pattern that has one, by pattern id. Anything with
        the pattern's id and name will do: a ``SpanPattern`` or a list's head."""
        names = {p.id: p.name for p in patterns}
        found: dict[int, StoredClassification] = {}
        for row in self._db.execute(
            "SELECT pattern_id, description, category, verdict, reasoning, source, "
            "fingerprint, prompt_version, model, person_fields FROM classifications"
        ):
            pattern_id = int(row[0])
            if pattern_id not in names:
                continue
            classification = Classification.model_construct(
                name=names[pattern_id],
                description=row[1],
                category=Category(row[2]),
                verdict=Verdict(row[3]),
                reasoning=row[4],
                source=Source(row[5]),
            )
            found[pattern_id] = StoredClassification(
                pattern_id,
                classification,
                str(row[6]),
                str(row[7]),
                str(row[8]),
                frozenset(json.loads(row[9])),
            )
        return found

    def cached(self, fingerprint: str, prompt_version: str, model: str) -> dict[str, str] | None:
        row = self._db.execute(
            "SELECT answer FROM classification_cache "
            "WHERE fingerprint = ? AND prompt_version = ? AND model = ?",
            (fingerprint, prompt_version, model),
        ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def resolve(self, name: str) -> int | None:
        """The pattern a name or an old name (alias) means."""
        row = self._db.execute("SELECT id FROM patterns WHERE name = ?", (name,)).fetchone()
        if row is None:
            row = self._db.execute(
                "SELECT pattern_id FROM aliases WHERE name = ?", (name,)
            ).fetchone()
        return None if row is None else int(row[0])

    def aliases(self, pattern_id: int) -> list[str]:
        cursor = self._db.execute(
            "SELECT name FROM aliases WHERE pattern_id = ? ORDER BY created_unix_s", (pattern_id,)
        )
        return [str(row[0]) for row in cursor]

    def all_aliases(self) -> dict[int, list[str]]:
        """Every pattern's old names, oldest first, in one read."""
        found: dict[int, list[str]] = {}
        cursor = self._db.execute(
            "SELECT pattern_id, name FROM aliases ORDER BY created_unix_s, name"
        )
        for pattern_id, name in cursor:
            found.setdefault(int(pattern_id), []).append(str(name))
        return found

    def corrections(self) -> list[Correction]:
        cursor = self._db.execute(
            "SELECT id, pattern_id, field, value, reason, author, created_unix_s "
            "FROM corrections ORDER BY id"
        )
        return [Correction(*row) for row in cursor]

    def usage(self) -> list[Usage]:
        cursor = self._db.execute(
            "SELECT model, prompt_version, patterns, calls, prompt_tokens, completion_tokens, "
            "cached, fallbacks FROM model_usage ORDER BY id"
        )
        return [Usage(*row) for row in cursor]

    # --- writing -----------------------------------------------------------------------

    def save_run(
        self,
        results: Mapping[int, Classification],
        patterns: Mapping[int, SpanPattern],
        *,
        answers: Mapping[int, tuple[str, str, str]],
        new_answers: Mapping[tuple[str, str, str], dict[str, str]],
        usage: Usage,
    ) -> list[int]:
        """Store a run's classifications in one transaction; the ids of patterns it changed.

        ``answers`` maps a pattern id to the (fingerprint, prompt version, model) its
        classification was made for; ``new_answers`` are model answers to cache. Names:
        a pattern keeps a name it was given; one with only its provisional discovery name
        gets the classifier's, and the provisional one becomes an alias.
        """
        now = time.time()
        current = self.current(patterns.values())
        changed: list[int] = []
        with self.patterns.transaction():
            for key, answer in new_answers.items():
                self._db.execute(
                    "INSERT OR REPLACE INTO classification_cache "
                    "(fingerprint, prompt_version, model, answer, created_unix_s) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (*key, json.dumps(answer, sort_keys=True), now),
                )
            for pattern_id, classification in results.items():
                pattern = patterns[pattern_id]
                before = current.get(pattern_id)
                person = before.person_fields if before else frozenset()
                values = classification.model_dump(mode="json")
                if before is not None:
                    kept = before.classification.model_dump(mode="json")
                    for field in person:
                        values[field] = kept[field]
                else:
                    self._rename(pattern, classification.name, now)
                if before is None or any(
                    values[f] != before.classification.model_dump(mode="json")[f]
                    for f in ("description", "category", "verdict", "reasoning")
                ):
                    changed.append(pattern_id)
                fp, version, model = answers[pattern_id]
                self._db.execute(
                    "INSERT OR REPLACE INTO classifications (pattern_id, description, category, "
                    "verdict, reasoning, source, fingerprint, prompt_version, model, "
                    "person_fields, updated_unix_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        pattern_id,
                        values["description"],
                        values["category"],
                        values["verdict"],
                        values["reasoning"],
                        values["source"],
                        fp,
                        version,
                        model,
                        json.dumps(sorted(person)),
                        now,
                    ),
                )
            self._db.execute(
                "INSERT INTO model_usage (model, prompt_version, patterns, calls, prompt_tokens, "
                "completion_tokens, cached, fallbacks, finished_unix_s) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    usage.model,
                    usage.prompt_version,
                    usage.patterns,
                    usage.calls,
                    usage.prompt_tokens,
                    usage.completion_tokens,
                    usage.cached,
                    usage.fallbacks,
                    now,
                ),
            )
        return changed

    def correct(
        self, pattern: SpanPattern, field: str, value: str, *, reason: str, author: str
    ) -> Correction:
        """A person sets one field of a pattern's classification; it is kept for ever."""
        if field not in CORRECTABLE:
            raise CorrectionError(f"{field!r} cannot be corrected; one of {', '.join(CORRECTABLE)}")
        value = value.strip()
        if len(value) > MAX_TEXT_LENGTH or len(reason) > MAX_TEXT_LENGTH:
            raise CorrectionError(
                f"a {field} and a reason are at most {MAX_TEXT_LENGTH} characters; "
                f"this one has {max(len(value), len(reason))}"
            )
        if field == "name":
            if not is_snake_case_name(value):
                raise CorrectionError(
                    f"{value!r} is not a valid name: snake_case, 3 to 80 characters, "
                    "such as postgres_query_select_orders"
                )
        elif field == "category":
            _checked(Category, value)
        elif field == "verdict":
            _checked(Verdict, value)
        elif not value:
            raise CorrectionError(f"a {field} cannot be empty")
        now = time.time()
        try:
            return self._correct(pattern, field, value, reason, author, now)
        except sqlite3.IntegrityError as exc:  # the same name taken at the same moment
            raise CorrectionError(f"{value!r} was just taken by another pattern") from exc

    def _correct(
        self, pattern: SpanPattern, field: str, value: str, reason: str, author: str, now: float
    ) -> Correction:
        with self.patterns.transaction():
            if field == "name":
                owner = self.resolve(value)
                if owner is not None and owner != pattern.id:
                    held = "an old name of" if self._is_alias(value) else "the name of"
                    raise CorrectionError(
                        f"{value!r} is {held} another pattern; names and old names stay theirs"
                    )
            stored = self.current([pattern]).get(pattern.id)
            if stored is None:
                raise CorrectionError(
                    f"{pattern.name} is not classified yet: run `spanwise classify` first"
                )
            person = set(stored.person_fields) | {field}
            if field == "name":
                self._rename(pattern, value, now)
            else:
                self._db.execute(
                    f"UPDATE classifications SET {field} = ? WHERE pattern_id = ?",  # noqa: S608
                    (value, pattern.id),
                )
            if field == "verdict" and reason.strip():  # the person's why replaces the model's
                self._db.execute(
                    "UPDATE classifications SET reasoning = ? WHERE pattern_id = ?",
                    (reason.strip(), pattern.id),
                )
                person.add("reasoning")
            self._db.execute(
                "UPDATE classifications SET person_fields = ?, updated_unix_s = ? "
                "WHERE pattern_id = ?",
                (json.dumps(sorted(person)), now, pattern.id),
            )
            cursor = self._db.execute(
                "INSERT INTO corrections (pattern_id, field, value, reason, author, "
                "created_unix_s) VALUES (?, ?, ?, ?, ?, ?)",
                (pattern.id, field, value, reason, author, now),
            )
        return Correction(int(cursor.lastrowid or 0), pattern.id, field, value, reason, author, now)

    def _is_alias(self, name: str) -> bool:
        row = self._db.execute("SELECT 1 FROM aliases WHERE name = ?", (name,)).fetchone()
        return row is not None

    def _rename(self, pattern: SpanPattern, name: str, now: float) -> None:
        if name == pattern.name:
            return
        self._db.execute(
            "INSERT OR REPLACE INTO aliases (name, pattern_id, created_unix_s) VALUES (?, ?, ?)",
            (pattern.name, pattern.id, now),
        )
        self._db.execute("DELETE FROM aliases WHERE name = ?", (name,))
        self._db.execute("UPDATE patterns SET name = ? WHERE id = ?", (name, pattern.id))
        pattern.name = name


def _checked(kind: type[Category] | type[Verdict], value: str) -> None:
    try:
        kind(value)
    except ValueError as exc:
        choices = ", ".join(member.value for member in kind)
        raise CorrectionError(f"{value!r} is not one of {choices}") from exc
