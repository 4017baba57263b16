"""The cart service (ASP.NET Core): carts in Redis, product rows from Postgres."""

from __future__ import annotations

from app.sample import topology as tp
from app.sample.datastore_spans import postgres_query, redis_command
from app.sample.grpc_spans import GRPC_CODES, call_inventory
from app.sample.http_spans import finish_server_span, serve_call
from app.sample.services.inventory import LineItem, get_stock
from app.sample.topology import Instance
from app.sample.trace_builder import Trace
from connectors.spans import Span, SpanEvent


def _cart_failed(server: Span, redis: Span, end: int) -> tuple[int, int, None]:
    """An unhandled RedisTimeoutException: ASP.NET Core records it and answers 500."""
    timeout = redis.events[-1].attributes
    server.events.append(SpanEvent("exception", end, dict(timeout)))
    return finish_server_span(server, True, end, 500, timeout["exception.message"]), 500, None


def get_cart(
    t: Trace, client: Span, start: int, caller: Instance, user: int, min_items: int
) -> tuple[int, int, list[LineItem] | None]:
    rng = t.rng
    inst, server = serve_call(
        t, "cart", tp.CA_GET, client, start, caller, "GET", f"/v1/cart/{user}", "/v1/cart/{userId}"
    )
    key = f"cart:user:{user}"
    span, ok = redis_command(
        t, tp.CA_HGETALL, inst, server, start + t.lat(0.4), "HGETALL", f"HGETALL {key}"
    )
    cur = span.end_unix_nano
    if not ok:
        return _cart_failed(server, span, cur + t.lat(0.5))
    count = 0 if min_items == 0 and rng.random() < 0.15 else rng.randrange(max(1, min_items), 9)
    items = [
        (
            tp.product_number(rng),
            1 if rng.random() < 0.75 else rng.randrange(2, 4),
            rng.randrange(299, 24999),
        )
        for _ in range(count)
    ]
    if items and t.effects.n_plus_one:
        for number, _, _ in items:
            statement = f"select id, sku, name, price_cents from products where id = {number}"
            span = postgres_query(
                t,
                tp.CA_SELECT_PRODUCT,
                inst,
                server,
                cur + t.lat(0.15),
                statement,
                t.lat(1.1, 0.35),
            )
            cur = span.end_unix_nano
    elif items:
        ids = ", ".join(str(number) for number, _, _ in items)
        statement = f"select id, sku, name, price_cents from products where id in ({ids})"
        span = postgres_query(
            t,
            tp.CA_SELECT_PRODUCTS,
            inst,
            server,
            cur + t.lat(0.15),
            statement,
            t.lat(1.2 + 0.1 * len(items), 0.35),
        )
        cur = span.end_unix_nano
    return finish_server_span(server, True, cur + t.lat(0.6), 200), 200, items


def add_to_cart(
    t: Trace, client: Span, start: int, caller: Instance, user: int, number: int, quantity: int
) -> tuple[int, int, None]:
    inst, server = serve_call(
        t,
        "cart",
        tp.CA_ADD,
        client,
        start,
        caller,
        "POST",
        f"/v1/cart/{user}/items",
        "/v1/cart/{userId}/items",
    )
    cur, code, available = call_inventory(
        t,
        tp.CA_GRPC_GET_STOCK,
        inst,
        server,
        start + t.lat(0.4),
        "GetStock",
        get_stock,
        number,
    )
    if code != 0:
        return (
            finish_server_span(
                server, True, cur + t.lat(0.3), 503, f"inventory: {GRPC_CODES[code]}"
            ),
            503,
            None,
        )
    if available < quantity:
        return finish_server_span(server, True, cur + t.lat(0.3), 409), 409, None
    key = f"cart:user:{user}"
    span, ok = redis_command(
        t,
        tp.CA_HINCRBY,
        inst,
        server,
        cur + t.lat(0.1),
        "HINCRBY",
        f"HINCRBY {key} {tp.sku(number)} {quantity}",
    )
    if not ok:
        return _cart_failed(server, span, span.end_unix_nano + t.lat(0.5))
    span, _ = redis_command(
        t,
        tp.CA_EXPIRE,
        inst,
        server,
        span.end_unix_nano + t.lat(0.05),
        "EXPIRE",
        f"EXPIRE {key} 2592000",
    )
    return finish_server_span(server, True, span.end_unix_nano + t.lat(0.4), 201), 201, None


def clear_cart(
    t: Trace, client: Span, start: int, caller: Instance, user: int
) -> tuple[int, int, None]:
    inst, server = serve_call(
        t,
        "cart",
        tp.CA_CLEAR,
        client,
        start,
        caller,
        "DELETE",
        f"/v1/cart/{user}",
        "/v1/cart/{userId}",
    )
    span, ok = redis_command(
        t, tp.CA_DEL, inst, server, start + t.lat(0.3), "DEL", f"DEL cart:user:{user}"
    )
    if not ok:
        return _cart_failed(server, span, span.end_unix_nano + t.lat(0.5))
    return finish_server_span(server, True, span.end_unix_nano + t.lat(0.3), 204), 204, None
