"""The frontend's building blocks: the root span of a browser request, its session, its page."""

from __future__ import annotations

from app.sample import topology as tp
from app.sample.datastore_spans import redis_command
from app.sample.faults import INJECTIONS
from app.sample.http_spans import finish_server_span, open_server_span
from app.sample.topology import Instance, Operation
from app.sample.trace_builder import Trace, close
from connectors.spans import Span


def open_frontend_root(
    t: Trace, op: Operation, method: str, path: str, query: str, route: str
) -> tuple[Span, Instance]:
    """The root span of a browser's request, with the pod that serves it."""
    rng = t.rng
    user_agent = tp.BROWSER_AGENTS[int(rng.random() * len(tp.BROWSER_AGENTS))]
    share = t.effects.injection_share
    if share and rng.random() < share / 4:
        user_agent = f"Mozilla/5.0 (compatible; {rng.choice(INJECTIONS)})"
    fe = t.pick("frontend")
    root = open_server_span(
        t,
        op,
        fe,
        None,
        t.start_ns,
        method,
        path,
        query,
        route,
        peer=tp.client_address(rng),
        user_agent=user_agent,
    )
    return root, fe


def load_session(t: Trace, fe: Instance, root: Span, start: int) -> tuple[int, bool]:
    """Express's auth middleware, which loads the session from Redis."""
    auth = t.open(
        tp.FE_AUTH,
        fe,
        root,
        start,
        "middleware - auth",
        {"express.name": "auth", "express.type": "middleware"},
    )
    session_key = f"session:{tp.hex_id(t.rng, 32)}"
    span, ok = redis_command(
        t, tp.FE_SESSION, fe, auth, start + t.lat(0.05), "HGETALL", f"HGETALL {session_key}"
    )
    return close(auth, span.end_unix_nano + t.lat(0.05)), ok


def render_template(
    t: Trace, op: Operation, fe: Instance, root: Span, start: int, template: str
) -> int:
    span = t.open(op, fe, root, start, f"render template {template}", {"template": template})
    return close(span, start + t.lat(3.5, 0.45))


def finish_frontend_root(root: Span, end: int, status: int, error: str | None = None) -> None:
    """Answer the browser: the frontend's instrumentation follows the current conventions."""
    finish_server_span(root, False, end, status, error)


def upstream_status(status: int) -> tuple[int, str | None]:
    """What the frontend answers when a service it called answered ``status``."""
    if status >= 500:
        return 502, f"upstream answered {status}"
    return status, None


def open_signed_in_root(
    t: Trace, op: Operation, method: str, path: str, route: str
) -> tuple[Span, Instance, int, int] | None:
    """Root and session of a route for signed-in users: ``(root, pod, user, now)``.

    None when the session store failed and the frontend already answered 503.
    """
    user = tp.user_id(t.rng)
    root, fe = open_frontend_root(t, op, method, path, "", route)
    root.attributes["app.user.id"] = str(user)
    cur, ok = load_session(t, fe, root, t.start_ns + t.lat(0.15))
    if not ok:
        finish_frontend_root(root, cur + t.lat(0.3), 503, "session store unavailable")
        return None
    return root, fe, user, cur + t.lat(0.1)
