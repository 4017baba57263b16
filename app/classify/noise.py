"""Keep or noise: whether a pattern is worth a person's attention, and why.

A pattern is **noise** when it is one of these, checked in this order:

1. **A probe**: a health, readiness or liveness check (``/health``, ``/healthz``,
   ``/readyz``, ``/actuator/health/readiness``, ``/api/healthz``...), a metrics scrape
   (``/metrics``, ``/actuator/prometheus``), a ``/ping``, or the standard gRPC health
   service (``grpc.health.v1.Health/Check``). Words that are often part of real routes
   (``ready``, ``live``, ``ping``, ``metrics``) only count when they are the whole route,
   once ``api`` and versions are set aside; the ``z`` forms and ``health...`` words count
   anywhere.
2. **Static files**: a path the HTTP normalizer collapsed to ``{asset}``, a file with a
   web asset's extension, or a route under a static mount (``/static``, ``/assets``,
   ``/_next``, ``/webjars``, ``/favicon.ico``).
3. **Probe work**: every caller of the pattern is a probe (the Redis ``PING`` a ``/healthz``
   handler sends).
4. **A connection check**: a cache ``PING``/``ECHO``, a database ``SELECT ?`` with no table.
5. **A trivial internal step**: an internal span whose p95 is at most ``TRIVIAL_P95_MS``,
   that never failed, calls nothing, and comes at least ``TRIVIAL_MIN_RATE_PER_S`` times a
   second over at least ``TRIVIAL_MIN_COUNT`` spans. Such spans (a serializer, a getter, a
   middleware pass) say nothing their parent does not, and cost storage and attention.

Everything else is **kept**, with a one-line reason that says what it is worth.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.classify.description import UNITS, what
from app.classify.figures import duration_text, percent_text, rate_text
from app.classify.peers import is_cluster_host, peer_role, rpc_service_role
from app.classify.reading import Reading, read
from app.classify.verdict import Category, Verdict
from app.classify.words import listing, path_segments, system_display, words
from app.discovery.patterns import SpanPattern

TRIVIAL_P95_MS = 1.0
TRIVIAL_MIN_COUNT = 1000
TRIVIAL_MIN_RATE_PER_S = 1.0

_READINESS = frozenset({"readyz", "readiness"})
_LIVENESS = frozenset({"livez", "liveness"})
_HEALTH = frozenset(
    {"health", "healthz", "healthy", "healthcheck", "healthchecks", "health-check", "heartbeat"}
)
_WHOLE_ROUTE = {
    "ready": "readiness probe",
    "live": "liveness probe",
    "alive": "liveness probe",
    "ping": "ping",
    "metrics": "metrics scrape",
    "prometheus": "metrics scrape",
}
"""Words that make a probe only as the whole route: ``/ping``, not ``/v1/orders/ping``."""
_ACTUATOR = {"prometheus": "metrics scrape", "metrics": "metrics scrape", "info": "info probe"}
_STATIC_MOUNTS = frozenset({"static", "assets", "_next", "_nuxt", "webjars"})
_STATIC_EXTENSIONS = (
    ".js .mjs .css .map .png .jpg .jpeg .gif .svg .webp .avif .ico .woff .woff2 .ttf .otf .eot"
).split()
_GRPC_HEALTH = "grpc.health."
_CONNECTION_COMMANDS = frozenset({"PING", "ECHO"})

_HTTP = frozenset({Category.HTTP_SERVER, Category.HTTP_CALL})


def judge(
    pattern: SpanPattern, reading: Reading, graph: Mapping[int, SpanPattern]
) -> tuple[Verdict, str]:
    """The verdict and its one-line reason."""
    probe = probe_kind(reading)
    if probe is not None:
        return Verdict.NOISE, _probe_reason(probe, reading)
    if is_static(reading):
        return Verdict.NOISE, (
            f"Static files ({what(reading)}): served as they are, with no application "
            "work to explain."
        )
    parents = [graph[i] for i in sorted(pattern.parents) if i in graph]
    if parents and all(probe_kind(read(parent)) is not None for parent in parents):
        callers = listing(sorted({f"{p.service}'s {what(read(p))}" for p in parents}))
        return Verdict.NOISE, f"Runs only for health checks ({callers}), not for user traffic."
    if _is_connection_check(reading):
        return Verdict.NOISE, (
            f"A connection check ({what(reading)}): the client testing its connection, "
            "not application work."
        )
    if is_trivial(pattern, reading):
        stats = pattern.stats
        return Verdict.NOISE, (
            f"A trivial internal step: p95 {duration_text(stats.quantile_ms(0.95))}, never "
            f"fails, calls nothing, {rate_text(stats, 'runs')}; it adds volume, not insight."
        )
    return Verdict.KEEP, _keep_reason(pattern, reading, graph)


def probe_kind(reading: Reading) -> str | None:
    """``health check``, ``readiness probe``, ``liveness probe``, ``metrics scrape``,
    ``ping``, ``info probe``, or None for work that is no probe."""
    if reading.category in _HTTP:
        return _path_probe(reading.path)
    if reading.category in (Category.RPC_SERVER, Category.RPC_CALL):
        return "health check" if reading.rpc_service.startswith(_GRPC_HEALTH) else None
    if reading.category in (Category.INTERNAL, Category.SERVER, Category.CLIENT):
        found = set(words(reading.text))
        if found & _READINESS:
            return "readiness probe"
        if found & _LIVENESS:
            return "liveness probe"
        if found & _HEALTH:
            return "health check"
    return None


def _path_probe(path: str) -> str | None:
    segments = [segment.lower() for segment in path_segments(path)]
    if not segments:
        return None
    if segments[0] == "actuator" and len(segments) > 1:
        if segments[1] in _ACTUATOR:
            return _ACTUATOR[segments[1]]
    if any(segment in _READINESS for segment in segments):
        return "readiness probe"
    if any(segment in _LIVENESS for segment in segments):
        return "liveness probe"
    if any(segment in _HEALTH for segment in segments):
        return "health check"
    if len(segments) == 1 and segments[0] in _WHOLE_ROUTE:
        return _WHOLE_ROUTE[segments[0]]
    return None


def is_static(reading: Reading) -> bool:
    if reading.category not in _HTTP:
        return False
    path = reading.path.lower()
    raw = [segment for segment in path.split("/") if segment]
    if not raw:
        return False
    return (
        raw[-1] == "{asset}"
        or raw[-1].endswith(tuple(_STATIC_EXTENSIONS))
        or (raw[0] in _STATIC_MOUNTS and len(raw) > 1 and _is_file_part(raw[-1]))
    )


def _is_file_part(segment: str) -> bool:
    """A route's file part under a static mount: a placeholder, a wildcard, or a file."""
    return segment[0] in "{:<*" or "." in segment


def _is_connection_check(reading: Reading) -> bool:
    if reading.category is Category.CACHE:
        return reading.verb.upper() in _CONNECTION_COMMANDS
    if reading.category is Category.DB_QUERY:
        return not reading.target and reading.text.endswith(" SELECT ?")
    return False


def is_trivial(pattern: SpanPattern, reading: Reading) -> bool:
    stats = pattern.stats
    return (
        reading.category is Category.INTERNAL
        and stats.error_count == 0
        and not pattern.children
        and stats.count >= TRIVIAL_MIN_COUNT
        and stats.rate_per_s >= TRIVIAL_MIN_RATE_PER_S
        and stats.quantile_ms(0.95) <= TRIVIAL_P95_MS
    )


def _probe_reason(probe: str, reading: Reading) -> str:
    checked = {
        "readiness probe": "whether it is ready for traffic",
        "liveness probe": "whether it is alive",
        "metrics scrape": "its metrics",
        "info probe": "its build information",
    }.get(probe, "whether it is up")
    if reading.category in (Category.HTTP_CALL, Category.RPC_CALL):
        who = f"{reading.service} asking {_peer(reading)} {checked}"
    else:
        who = f"infrastructure asking {reading.service} {checked}"
    article = "An" if probe[0] in "aeiou" else "A"
    return f"{article} {probe} ({what(reading)}): {who}, not user traffic."


def _keep_reason(pattern: SpanPattern, reading: Reading, graph: Mapping[int, SpanPattern]) -> str:
    category = reading.category
    parents = sorted(pattern.parents.items(), key=lambda item: (-item[1], item[0]))
    top = next((graph[i] for i, _ in parents if i in graph), None)
    during = what(read(top)) if top is not None else "the operations that make it"
    if category in (Category.HTTP_SERVER, Category.RPC_SERVER, Category.SERVER):
        callers = sorted({graph[i].service for i in pattern.parents if i in graph})
        users = f"{listing(callers)} {'gets' if len(callers) == 1 else 'get'}"
        return (
            f"A real endpoint of {reading.service} (no probe, no static file): its latency "
            f"and errors are what {users if callers else 'its clients get'}."
        )
    if category in (Category.HTTP_CALL, Category.RPC_CALL, Category.CLIENT):
        return f"A dependency on {_peer(reading)}: its latency and errors add to {during}."
    if category is Category.DB_QUERY:
        on = reading.target or system_display(reading.system) or "the database"
        return f"Database work on {on}: its time and failures add to {during}."
    if category is Category.CACHE:
        on = reading.target or system_display(reading.system) or "the cache"
        return f"Cache work on {on}: its time and failures add to {during}."
    if category is Category.MESSAGING_PUBLISH:
        return (
            f"Hands {reading.target or 'messages'} over to its consumers: a slow or failed "
            "publish delays or loses their work."
        )
    if category is Category.MESSAGING_CONSUME:
        return (
            f"Where {reading.target or 'incoming'} messages are handled: its time and "
            "failures decide consumer lag."
        )
    return f"An internal step that {listing(_substance(pattern))}: not a trivial one."


def _peer(reading: Reading) -> str:
    if reading.category is Category.RPC_CALL:
        return rpc_service_role(reading.rpc_service) or reading.rpc_service or "a service"
    if reading.host:
        role = peer_role(reading.host)
        return role if role is not None and is_cluster_host(reading.host) else reading.host
    return "another service"


def _substance(pattern: SpanPattern) -> list[str]:
    """Why an internal step is not trivial (see ``is_trivial``)."""
    stats = pattern.stats
    facts: list[str] = []
    p95 = stats.quantile_ms(0.95)
    if p95 > TRIVIAL_P95_MS:
        facts.append(f"takes time (p95 {duration_text(p95)})")
    if stats.error_count:
        facts.append(f"fails ({percent_text(stats.error_rate)})")
    if pattern.children:
        facts.append("calls other operations")
    if stats.count < TRIVIAL_MIN_COUNT or stats.rate_per_s < TRIVIAL_MIN_RATE_PER_S:
        facts.append(f"is not high-volume ({rate_text(stats, UNITS[Category.INTERNAL])})")
    return facts or ["is not trivial"]
