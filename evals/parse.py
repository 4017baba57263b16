"""Reading an answer: the numbers it states, the patterns it names, where it talks of one.

Answers are prose, written by Spanwise's renderer or by a model, so the readers here accept
the ways people write numbers: ``p99 306 ms``, ``p99 of 0.31 s``, ``1,234 spans``,
``1.2k requests``, ``(12.7x)``, ``12.7 times slower``, ``4.5 calls per span``, ``16,025 per
hour``, ``4.5 requests/s``, ``from 15:19 UTC to 15:22 UTC``. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_NUMBER = r"(\d[\d,]*(?:\.\d+)?|\.\d+)"
_SCALE = r"\s?([kKmM])?\b"
_DURATION = re.compile(
    _NUMBER + r"\s*(ms|milliseconds?|µs|us|microseconds?|s|sec|secs|seconds?|min|minutes?)\b"
)
_DURATION_UNITS_MS = {
    "ms": 1.0,
    "millisecond": 1.0,
    "milliseconds": 1.0,
    "µs": 0.001,
    "us": 0.001,
    "microsecond": 0.001,
    "microseconds": 0.001,
    "s": 1000.0,
    "sec": 1000.0,
    "secs": 1000.0,
    "second": 1000.0,
    "seconds": 1000.0,
    "min": 60_000.0,
    "minute": 60_000.0,
    "minutes": 60_000.0,
}
QUANTILE_WORDS = {
    "p50": r"\bp50\b|\bmedian\b",
    "p95": r"\bp95\b|95th percentile",
    "p99": r"\bp99\b|99th percentile",
    "max": r"\bmax\b|\bmaximum\b|\bslowest\b|\blongest\b",
}
_COUNT_NOUNS = (
    r"spans?|calls?|requests?|queries|query|messages?|commands?|executions?|operations?"
    r"|times|hits|polls?|probes?"
)
_COUNT = re.compile(
    _NUMBER
    + _SCALE
    + r"\s+(?:(?!per\b|ms\b|s\b|of\b)[a-zA-Z\-]+\s+){0,2}?(?:"
    + _COUNT_NOUNS
    + r")\b(?!\s*/|\s+per\b)"
)
_OF_TOTAL = re.compile(_NUMBER + r"\s+(?:out\s+)?of\s+" + _NUMBER + r"\b")
_ERROR_WORDS = re.compile(r"error|fail|5\d\d\b|4\d\d\b|exception|timed? ?out|timeouts?", re.I)
_NO_ERRORS = re.compile(r"\bno (?:errors?|failures?)\b|\bnever fail|\b0 errors\b", re.I)
_PERCENT = re.compile(_NUMBER + r"\s*%")
_ERROR_COUNT = re.compile(_NUMBER + r"\s+(?:of them\s+)?(?:errors?|failures?|failed)\b", re.I)
_RATE = re.compile(
    _NUMBER
    + _SCALE
    + r"\s*(?:[a-zA-Z\-]+\s*)?(?:per\s+(hour|minute|second|min|sec|s|h)\b"
    + r"|an?\s+(hour|minute|second)\b|/\s?(h|hr|hour|min|m|s|sec|second)\b)",
    re.I,
)
_RATE_PER_HOUR = {
    "hour": 1.0,
    "h": 1.0,
    "hr": 1.0,
    "minute": 60.0,
    "min": 60.0,
    "m": 60.0,
    "second": 3600.0,
    "sec": 3600.0,
    "s": 3600.0,
}
_FACTOR = re.compile(_NUMBER + r"\s*(?:x\b|×|times\b)", re.I)
_PER_PARENT = re.compile(
    _NUMBER
    + r"\s+(?:[a-zA-Z\-]+\s+)?(?:calls?|queries|query|selects?|statements?|round[- ]trips?)"
    + r"\s+(?:per|each|for every|for each)\s+(?:span|request|call|parent|load|cart)",
    re.I,
)
_CLOCK_RANGE = re.compile(
    r"(\d{1,2}):(\d{2})(?::\d{2})?(?:\s*UTC)?\s*(?:to|until|till|and|-|–|—)\s*"
    r"(?:\d{4}-\d{2}-\d{2}[ T])?(\d{1,2}):(\d{2})",
    re.I,
)
_AT_NAME = re.compile(r"(?<![\w@<])@([A-Za-z0-9_][A-Za-z0-9_.\-]*[A-Za-z0-9_])")
_SENTENCE_END = re.compile(r"(?<=[.;!?])\s+(?=[A-Z@(])|\n")


def number(text: str, scale: str | None = None) -> float:
    value = float(text.replace(",", ""))
    if scale in ("k", "K"):
        value *= 1_000
    elif scale in ("m", "M"):
        value *= 1_000_000
    return value


def names_pattern(text: str, name: str) -> bool:
    """Whether ``text`` names the pattern ``name`` (with or without ``@``), as a whole name:
    ``postgres_query_select_products`` is not named by ``..._products_by_category_id``."""
    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text, re.IGNORECASE) is not None


def at_names(text: str) -> list[str]:
    """Every ``@name`` the text uses, lower-cased, in order."""
    return [match.lower() for match in _AT_NAME.findall(text)]


def paragraphs(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]


def first_named(text: str, names: Iterable[str] = ()) -> str | None:
    """The pattern a text names first: by ``@name``, or by any of ``names`` written bare."""
    found: list[tuple[int, str]] = [
        (match.start(), match.group(1).lower()) for match in _AT_NAME.finditer(text)
    ]
    for name in names:
        match = re.search(rf"(?<![\w@]){re.escape(name)}(?![\w])", text, re.IGNORECASE)
        if match is not None:
            found.append((match.start(), name.lower()))
    return min(found)[1] if found else None


def about(text: str, name: str, names: Iterable[str] = ()) -> str:
    """What an answer says about the pattern ``name``: the paragraphs that lead with it
    (name it before any other pattern), and elsewhere the sentences that name it.

    A paragraph about another pattern that mentions this one in passing ("@b added 111 ms
    per span") lends it that sentence only, not the other pattern's numbers.
    """
    known = [n for n in names if n.lower() != name.lower()] + [name]
    found = []
    for part in paragraphs(text):
        if not names_pattern(part, name):
            continue
        if first_named(part, known) == name.lower():
            found.append(part)
        else:
            found += [s for s in sentences(part) if names_pattern(s, name)]
    return "\n\n".join(found)


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def durations_ms_after(text: str, keyword: str, window: int = 40) -> list[float]:
    """Durations (in ms) written within ``window`` characters after a keyword regex."""
    found = []
    for match in re.finditer(keyword, text, re.IGNORECASE):
        tail = text[match.end() : match.end() + window]
        first = _DURATION.search(tail)
        if first is not None:
            found.append(number(first.group(1)) * _DURATION_UNITS_MS[first.group(2).lower()])
    return found


def quantiles_ms(text: str, metric: str) -> list[float]:
    """What the text says the p50/p95/p99/max latency is, in ms."""
    return durations_ms_after(text, QUANTILE_WORDS[metric])


def counts(text: str) -> list[float]:
    """Counts of things: ``258 spans``, ``1,200 requests``, the total of ``3 of 179``."""
    found = [number(m.group(1), m.group(2)) for m in _COUNT.finditer(text)]
    found += [number(m.group(2)) for m in _OF_TOTAL.finditer(text)]
    return found


def error_counts(text: str) -> list[float]:
    found: list[float] = []
    for sentence in sentences(text):
        if _NO_ERRORS.search(sentence):
            found.append(0.0)
        if not _ERROR_WORDS.search(sentence):
            continue
        found += [number(m.group(1)) for m in _OF_TOTAL.finditer(sentence)]
        found += [number(m.group(1)) for m in _ERROR_COUNT.finditer(sentence)]
    return found


def error_rates(text: str) -> list[float]:
    """Error rates as fractions: percentages said of errors, and 0 for "no errors"."""
    found: list[float] = []
    for sentence in sentences(text):
        if _NO_ERRORS.search(sentence):
            found.append(0.0)
        if _ERROR_WORDS.search(sentence):
            found += [number(m.group(1)) / 100 for m in _PERCENT.finditer(sentence)]
    return found


def rates_per_hour(text: str) -> list[float]:
    found = []
    for match in _RATE.finditer(text):
        unit = next(u for u in match.groups()[2:] if u is not None).lower()
        found.append(number(match.group(1), match.group(2)) * _RATE_PER_HOUR[unit])
    return found


def factors(text: str) -> list[float]:
    """Slowdowns written as ``12.7x`` or ``12.7 times``."""
    return [number(m.group(1)) for m in _FACTOR.finditer(text)]


def calls_per_parent(text: str) -> list[float]:
    return [number(m.group(1)) for m in _PER_PARENT.finditer(text)]


def clock_ranges(text: str) -> list[tuple[float, float]]:
    """``HH:MM ... to HH:MM`` ranges, as minutes of the day."""
    return [
        (int(h1) * 60 + int(m1), int(h2) * 60 + int(m2))
        for h1, m1, h2, m2 in _CLOCK_RANGE.findall(text)
    ]


def lags_s(text: str) -> list[float]:
    """Durations (in s) in the sentences that speak of lag or delay."""
    found = []
    for sentence in sentences(text):
        if re.search(r"\blag|behind|delay|late\b|backlog|wait", sentence, re.I):
            found += [
                number(m.group(1)) * _DURATION_UNITS_MS[m.group(2).lower()] / 1000
                for m in _DURATION.finditer(sentence)
            ]
    return found


def excerpt(text: str, limit: int = 400) -> str:
    """The start of a text, cut at a word, for reports."""
    flat = text.strip()
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + " ..."


_TABLE_GAP = re.compile(r"\s{2,}")


def untabled(text: str) -> str:
    """Tables written out as sentences, a paragraph per row, so the readers above read
    them as they read prose: a comparison's ``pattern  service  spans ... p99  errors``
    header and its ``@name ...`` rows become ``@name: 215 spans, p99 339 ms, 5 errors``."""
    lines = text.split("\n")
    out: list[str] = []
    header: list[str] | None = None
    for line in lines:
        cells = _TABLE_GAP.split(line.strip())
        if cells[0] == "pattern" and len(cells) > 2:
            header = cells
            continue
        if header is not None and line.startswith("@") and len(cells) == len(header):
            said = []
            for column, value in zip(header[1:], cells[1:], strict=True):
                if column == "spans":
                    said.append(f"{value} spans")
                elif column == "errors":
                    count, _, share = value.partition(" ")
                    said.append("no errors" if count == "0" else f"{count} errors {share}".strip())
                else:
                    said.append(f"{column} {value}")
            out.extend(["", f"{cells[0]}: " + ", ".join(said) + ".", ""])
            continue
        header = None
        out.append(line)
    return "\n".join(out)


_CALL_SHARE = re.compile(r"(\d+(?:\.\d+)?)%\s+of\s+(?:its|the)\s+calls", re.I)


def call_shares(text: str) -> list[float]:
    """Shares of calls as fractions: ``5.1% of its calls``."""
    return [number(m.group(1)) / 100 for m in _CALL_SHARE.finditer(text)]
