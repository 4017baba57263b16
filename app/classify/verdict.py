"""What classifying a span pattern produces, whoever classifies it.

``Classification`` is the contract between Spanwise and its classifiers: the offline one
(``app.classify.offline``, rules over semantic conventions and statistics), a language model
(whose answer is validated against this model before it is used) and a person correcting
either. ``source`` says which of them produced it, so that a model answer that failed and
fell back to the offline classifier can be told apart and retried later.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[a-z][a-z0-9_]{2,79}$"
"""3 to 80 characters: a lower-case letter, then lower-case letters, digits and ``_``."""
MAX_NAME_LENGTH = 80
MAX_TEXT_LENGTH = 400


class Category(StrEnum):
    """What kind of work a pattern's spans do, from the side of the service that records them."""

    HTTP_SERVER = "http_server"
    """Answers HTTP requests (a route of the service)."""
    HTTP_CALL = "http_call"
    """Sends HTTP requests to another service or an outside API."""
    DB_QUERY = "db_query"
    """Runs a statement or command against a database."""
    CACHE = "cache"
    """Runs a command against a cache (Redis, Memcached and their kin)."""
    MESSAGING_PUBLISH = "messaging_publish"
    """Hands messages to a broker (publish, send, create)."""
    MESSAGING_CONSUME = "messaging_consume"
    """Takes messages from a broker and handles them (receive, process, settle)."""
    RPC_SERVER = "rpc_server"
    """Answers remote procedure calls (gRPC, JSON-RPC...)."""
    RPC_CALL = "rpc_call"
    """Makes remote procedure calls."""
    INTERNAL = "internal"
    """Work inside the service: a handler, a template render, a middleware step."""
    SERVER = "server"
    """Answers requests of a protocol none of the categories above names."""
    CLIENT = "client"
    """Calls out over a protocol none of the categories above names."""


class Verdict(StrEnum):
    KEEP = "keep"
    """Worth describing, charting and answering questions about."""
    NOISE = "noise"
    """Probes, static files, trivial high-volume steps: counted, but not worth attention."""


class Source(StrEnum):
    OFFLINE = "offline"
    """Rules over semantic conventions and statistics (also the fallback of the model)."""
    MODEL = "model"
    PERSON = "person"


def _snake_case(name: str) -> str:
    # The length and alphabet are checked by NAME_PATTERN; snake_case also means words
    # joined by single underscores.
    if "__" in name or name.endswith("_"):
        raise ValueError("a name is words joined by single underscores, e.g. postgres_query")
    return name


Name = Annotated[str, Field(pattern=NAME_PATTERN), AfterValidator(_snake_case)]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_LENGTH)]


class Classification(BaseModel):
    """A pattern's name, description, category and verdict, with the reason for the verdict.

    Text is stripped of surrounding whitespace before it is checked (model answers often
    end in a newline). Names are unique among a store's patterns; this model checks one
    name's form, ``app.classify.names.unique_names`` their uniqueness.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    name: Name
    """snake_case, ``<category or system>_<peer role>_<operation>_<object>``:
    ``http_call_stripe_post_charges``, ``postgres_query_select_orders``."""
    description: Text
    """One or two sentences: who calls what, to do what, with rate, p95 and errors."""
    category: Category
    verdict: Verdict
    reasoning: Text
    """Why the verdict: one line a person can check against the pattern."""
    source: Source


def is_snake_case_name(name: str) -> bool:
    """Whether ``name`` is a valid ``Classification.name``."""
    return re.fullmatch(NAME_PATTERN, name) is not None and "__" not in name and name[-1] != "_"
