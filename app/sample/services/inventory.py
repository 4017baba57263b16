"""The inventory service (gRPC): products, stock, and reserving stock in a transaction."""

from __future__ import annotations

from app.sample import topology as tp
from app.sample.datastore_spans import postgres_query, redis_command
from app.sample.grpc_spans import finish_grpc_server_span, open_grpc_server_span
from app.sample.topology import Instance
from app.sample.trace_builder import NS_PER_MS, Trace, close, record_exception
from connectors.spans import Span

LineItem = tuple[int, int, int]
"""(product number, quantity, unit price in cents)"""


def get_product(
    t: Trace, client: Span, start: int, caller: Instance, number: int
) -> tuple[int, int, str, None]:
    sku = tp.sku(number)
    inst, server = open_grpc_server_span(t, tp.IN_GET_PRODUCT, client, start, caller, "GetProduct")
    missing = t.rng.random() < 0.02
    cache, ok = redis_command(
        t, tp.IN_CACHE_GET_PRODUCT, inst, server, start + t.lat(0.2), "GET", f"GET product:{sku}"
    )
    cur = cache.end_unix_nano
    code, message = 0, ""
    if missing or not ok or t.rng.random() < 0.15:
        statement = (
            "SELECT id, sku, name, description, price_cents, category_id FROM products "
            f"WHERE sku = '{sku}'"
        )
        span = postgres_query(
            t, tp.IN_SELECT_PRODUCT, inst, server, cur + t.lat(0.1), statement, t.lat(1.3, 0.4)
        )
        cur = span.end_unix_nano
        if missing:
            code, message = 5, f"product {sku} not found"
        elif ok:
            statement = f"SETEX product:{sku} 300 ?"
            span, _ = redis_command(
                t, tp.IN_CACHE_SET_PRODUCT, inst, server, cur + t.lat(0.1), "SETEX", statement
            )
            cur = span.end_unix_nano
    return finish_grpc_server_span(server, cur + t.lat(0.3), code, message), code, message, None


def list_products(
    t: Trace, client: Span, start: int, caller: Instance, category: int
) -> tuple[int, int, str, None]:
    rng = t.rng
    inst, server = open_grpc_server_span(
        t, tp.IN_LIST_PRODUCTS, client, start, caller, "ListProducts"
    )
    offset = 0 if rng.random() < 0.7 else 24 * rng.randrange(1, 4)
    statement = (
        "SELECT id, sku, name, price_cents\n"
        "  FROM products\n"
        f" WHERE category_id = {category}\n"
        " ORDER BY created_at DESC\n"
        f" LIMIT 24 OFFSET {offset}"
    )
    # without the (category_id, created_at) index this is a sequential scan and a sort
    duration = int(t.lat(5.5, 0.45) * t.effects.slow_query_factor(rng))
    span = postgres_query(
        t, tp.IN_SELECT_CATEGORY, inst, server, start + t.lat(0.3), statement, duration
    )
    count = 24 if offset == 0 else rng.randrange(3, 25)
    skus = ", ".join(f"'{tp.sku(tp.product_number(rng))}'" for _ in range(count))
    statement = f"SELECT sku, available FROM inventory WHERE sku IN ({skus})"
    span = postgres_query(
        t,
        tp.IN_SELECT_STOCK_LIST,
        inst,
        server,
        span.end_unix_nano + t.lat(0.1),
        statement,
        t.lat(1.0 + 0.06 * count, 0.35),
    )
    return finish_grpc_server_span(server, span.end_unix_nano + t.lat(0.6), 0), 0, "", None


def get_stock(
    t: Trace, client: Span, start: int, caller: Instance, number: int
) -> tuple[int, int, str, int]:
    inst, server = open_grpc_server_span(t, tp.IN_GET_STOCK, client, start, caller, "GetStock")
    statement = f"SELECT sku, available FROM inventory WHERE sku = '{tp.sku(number)}'"
    span = postgres_query(
        t, tp.IN_SELECT_STOCK, inst, server, start + t.lat(0.2), statement, t.lat(0.9, 0.35)
    )
    available = 0 if t.rng.random() < 0.03 else t.rng.randrange(1, 400)
    return finish_grpc_server_span(server, span.end_unix_nano + t.lat(0.2), 0), 0, "", available


_DEADLOCK_MESSAGE = (
    "deadlock detected\n"
    "DETAIL:  Process {a} waits for ShareLock on transaction {x}; blocked by process {b}.\n"
    "Process {b} waits for ShareLock on transaction {y}; blocked by process {a}.\n"
    "HINT:  See server log for query details.\n"
    'CONTEXT:  while updating tuple ({page},{tuple}) in relation "inventory"'
)
_DEADLOCK_STACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/inventory/reservations.py", line 77, in reserve\n'
    "    cur.execute(UPDATE_RESERVE.format(quantity=quantity, sku=sku))\n"
    '  File "/usr/local/lib/python3.12/site-packages/psycopg/cursor.py", line 732, in execute\n'
    "    raise ex.with_traceback(None)\n"
    "psycopg.errors.DeadlockDetected: {message}"
)


def _transaction(
    t: Trace, inst: Instance, server: Span, start: int, items: list[LineItem], reserve: bool
) -> tuple[int, int, str]:
    """Reserve or release stock row by row in one transaction: ``(end, grpc code, message)``."""
    rng = t.rng
    span = postgres_query(t, tp.IN_BEGIN, inst, server, start, "BEGIN", t.lat(0.25))
    cur = span.end_unix_nano
    outcome = rng.random()
    failing = rng.randrange(len(items))
    code, message = 0, ""
    for index, (number, quantity, _) in enumerate(items):
        sku = tp.sku(number)
        if reserve:
            slow = rng.random() < 0.05
            duration = int(rng.uniform(700, 2500) * NS_PER_MS) if slow else t.lat(1.4, 0.4)
            statement = (
                f"SELECT sku, available, reserved FROM inventory WHERE sku = '{sku}' FOR UPDATE"
            )
            span = postgres_query(
                t, tp.IN_SELECT_FOR_UPDATE, inst, server, cur + t.lat(0.1), statement, duration
            )
            cur = span.end_unix_nano
            if index == failing and outcome < 0.01:
                code, message = 9, f"insufficient stock for {sku}"
                break
            op = tp.IN_UPDATE_RESERVE
            statement = (
                f"UPDATE inventory SET available = available - {quantity}, "
                f"reserved = reserved + {quantity} WHERE sku = '{sku}'"
            )
        else:
            op = tp.IN_UPDATE_RELEASE
            statement = (
                f"UPDATE inventory SET available = available + {quantity}, "
                f"reserved = reserved - {quantity} WHERE sku = '{sku}'"
            )
        deadlock = reserve and index == failing and 0.01 <= outcome < 0.014
        duration = int(rng.uniform(1000, 1040) * NS_PER_MS) if deadlock else t.lat(1.2, 0.4)
        span = postgres_query(t, op, inst, server, cur + t.lat(0.1), statement, duration)
        cur = span.end_unix_nano
        if deadlock:
            pids = rng.sample(range(30000, 60000), 2)
            xid = rng.randrange(9_000_000, 9_900_000)
            detail = _DEADLOCK_MESSAGE.format(
                a=pids[0],
                b=pids[1],
                x=xid,
                y=xid + 1,
                page=rng.randrange(1, 900),
                tuple=rng.randrange(1, 60),
            )
            record_exception(
                span,
                cur,
                "psycopg.errors.DeadlockDetected",
                detail,
                _DEADLOCK_STACK.format(message=detail),
            )
            close(span, cur, "deadlock detected")
            code, message = 13, "deadlock detected"
            break
    if code:
        span = postgres_query(
            t, tp.IN_ROLLBACK, inst, server, cur + t.lat(0.1), "ROLLBACK", t.lat(0.3)
        )
    else:
        span = postgres_query(
            t, tp.IN_COMMIT, inst, server, cur + t.lat(0.1), "COMMIT", t.lat(1.6, 0.4)
        )
    return span.end_unix_nano, code, message


def reserve_or_release(
    t: Trace, client: Span, start: int, caller: Instance, items: list[LineItem], reserve: bool
) -> tuple[int, int, str, None]:
    """``Reserve`` (``reserve`` true) or ``Release`` the stock of ``items``."""
    op, method = (tp.IN_RESERVE, "Reserve") if reserve else (tp.IN_RELEASE, "Release")
    inst, server = open_grpc_server_span(t, op, client, start, caller, method)
    cur, code, message = _transaction(t, inst, server, start + t.lat(0.3), items, reserve)
    return finish_grpc_server_span(server, cur + t.lat(0.3), code, message), code, message, None
