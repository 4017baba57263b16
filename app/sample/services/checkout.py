"""The checkout service: placing an order (which publishes to Kafka), order status, cancelling."""

from __future__ import annotations

from app.sample import topology as tp
from app.sample.datastore_spans import postgres_query
from app.sample.faults import DEPLOY_VERSION
from app.sample.grpc_spans import GRPC_CODES, call_inventory
from app.sample.http_spans import (
    call_service,
    finish_client_span,
    finish_server_span,
    open_client_span,
    serve_call,
)
from app.sample.services.cart import clear_cart, get_cart
from app.sample.services.inventory import reserve_or_release
from app.sample.services.payment import charge_payment, get_payment, refund_payment
from app.sample.topology import Instance
from app.sample.trace_builder import OrderPlaced, Trace, close, record_exception
from connectors.spans import Span


def _update_order(
    t: Trace, inst: Instance, parent: Span, start: int, order: int, status: str, extra: str = ""
) -> int:
    statement = (
        f"UPDATE orders SET status = '{status}'{extra}, updated_at = now() WHERE id = {order}"
    )
    operation = tp.CO_UPDATE_ORDER_PAID if extra else tp.CO_UPDATE_ORDER
    span = postgres_query(t, operation, inst, parent, start, statement, t.lat(1.4))
    return span.end_unix_nano


def place_order(
    t: Trace, client: Span, start: int, caller: Instance, user: int
) -> tuple[int, int, None]:
    rng = t.rng
    co, server = serve_call(
        t, "checkout", tp.CO_CHECKOUT, client, start, caller, "POST", "/v1/checkout", "/v1/checkout"
    )
    cur, status, items = call_service(
        t,
        tp.CO_CALL_CART,
        co,
        server,
        start + t.lat(0.3),
        "GET",
        "cart",
        f"/v1/cart/{user}",
        get_cart,
        user,
        1,
    )
    if status != 200:
        return (
            finish_server_span(
                server, False, cur + t.lat(0.3), 502, f"cart: upstream answered {status}"
            ),
            502,
            None,
        )
    total = sum(quantity * price for _, quantity, price in items)
    order = tp.order_id(rng)
    statement = (
        "INSERT INTO orders (user_id, status, total_cents, currency, created_at) "
        f"VALUES ({user}, 'pending', {total}, 'EUR', now()) RETURNING id"
    )
    span = postgres_query(
        t, tp.CO_INSERT_ORDER, co, server, cur + t.lat(0.2), statement, t.lat(2.4)
    )
    process = t.open(
        tp.CO_PROCESS,
        co,
        server,
        span.end_unix_nano + t.lat(0.1),
        f"process order {order}",
        {"app.order.id": order, "app.order.items": len(items)},
    )
    cur, code, _ = call_inventory(
        t,
        tp.CO_GRPC_RESERVE,
        co,
        process,
        process.start_unix_nano + t.lat(0.1),
        "Reserve",
        reserve_or_release,
        items,
        True,
    )
    if code != 0:
        cur = _update_order(t, co, process, cur + t.lat(0.2), order, "failed")
        if code == 9:
            close(process, cur + t.lat(0.1))
            return finish_server_span(server, False, cur + t.lat(0.3), 409), 409, None
        message = f"reserve stock: rpc error: code = {GRPC_CODES[code].title().replace('_', '')}"
        close(process, cur + t.lat(0.1), message)
        status = 500 if code == 13 else 503
        return finish_server_span(server, False, cur + t.lat(0.3), status, message), status, None
    # shipping rates: an error here is logged and a flat rate used instead
    rates = open_client_span(
        t,
        tp.CO_CALL_RATES,
        co,
        process,
        cur + t.lat(0.2),
        "POST",
        f"https://{tp.SHIPPING_HOST}/v1/rates/estimate",
        tp.SHIPPING_HOST,
        443,
    )
    cur = finish_client_span(
        rates,
        False,
        rates.start_unix_nano + t.lat(210.0, 0.4),
        503 if rng.random() < 0.005 else 200,
    )
    cur, status, payment = call_service(
        t,
        tp.CO_CALL_PAYMENT,
        co,
        process,
        cur + t.lat(0.3),
        "POST",
        "payment",
        "/v1/payments",
        charge_payment,
        user,
        order,
        total,
    )
    if status != 201:
        cur, _, _ = call_inventory(
            t,
            tp.CO_GRPC_RELEASE,
            co,
            process,
            cur + t.lat(0.2),
            "Release",
            reserve_or_release,
            items,
            False,
        )
        if status == 402:
            cur = _update_order(t, co, process, cur + t.lat(0.2), order, "payment_declined")
            close(process, cur + t.lat(0.1))
            return finish_server_span(server, False, cur + t.lat(0.3), 402), 402, None
        cur = _update_order(t, co, process, cur + t.lat(0.2), order, "payment_error")
        message = f"payment: provider unavailable ({status} from payment service)"
        record_exception(
            process,
            cur,
            "*payment.ProviderError",
            message,
            "goroutine 4821 [running]:\n"
            "github.com/example/shop/checkout/internal/orders.(*Service).Process(...)\n"
            "\t/src/internal/orders/service.go:142 +0x3a8",
        )
        close(process, cur + t.lat(0.1), message)
        return finish_server_span(server, False, cur + t.lat(0.3), 502, message), 502, None
    cur = _update_order(
        t, co, process, cur + t.lat(0.2), order, "paid", f", payment_id = '{payment}'"
    )
    rows = ",\n       ".join(
        f"({order}, '{tp.sku(number)}', {quantity}, {price})" for number, quantity, price in items
    )
    statement = f"INSERT INTO order_items (order_id, sku, quantity, price_cents)\nVALUES {rows}"
    span = postgres_query(
        t,
        tp.CO_INSERT_ITEMS,
        co,
        process,
        cur + t.lat(0.2),
        statement,
        t.lat(1.8 + 0.2 * len(items)),
    )
    cur = _publish_order_placed(t, co, process, span.end_unix_nano + t.lat(0.1), order, user, total)
    close(process, cur + t.lat(0.1))
    cur, _, _ = call_service(
        t,
        tp.CO_CALL_CART_CLEAR,
        co,
        server,
        cur + t.lat(0.2),
        "DELETE",
        "cart",
        f"/v1/cart/{user}",
        clear_cart,
        user,
    )
    return finish_server_span(server, False, cur + t.lat(0.4), 201), 201, None


def _publish_order_placed(
    t: Trace, co: Instance, parent: Span, start: int, order: int, user: int, total: int
) -> int:
    rng = t.rng
    partition = order % 6
    span = t.open(
        tp.CO_PUBLISH,
        co,
        parent,
        start,
        f"{tp.ORDERS_TOPIC} publish",
        {
            "messaging.system": "kafka",
            "messaging.destination.name": tp.ORDERS_TOPIC,
            "messaging.operation.type": "publish",
            "messaging.kafka.message.key": str(order),
            "messaging.destination.partition.id": str(partition),
            "messaging.client.id": co.resource["k8s.pod.name"],
            "messaging.message.body.size": rng.randrange(380, 900),
            "server.address": tp.KAFKA_BROKER,
            "server.port": 9092,
        },
    )
    end = close(span, start + t.lat(2.5, 0.6))
    t.messages.append(
        OrderPlaced(
            trace_id=t.trace_id,
            span_id=span.span_id,
            produced_ns=start,
            consumed_ns=end + t.lat(25.0, 0.8),
            seed=rng.getrandbits(64),
            order=order,
            user=user,
            total_cents=total,
            partition=partition,
            offset=731_000 + t.slot,
        )
    )
    return end


def get_order(
    t: Trace, client: Span, start: int, caller: Instance, order: int
) -> tuple[int, int, None]:
    rng = t.rng
    co, server = serve_call(
        t,
        "checkout",
        tp.CO_ORDER,
        client,
        start,
        caller,
        "GET",
        f"/v1/orders/{order}",
        "/v1/orders/{orderId}",
    )
    cur = start + t.lat(0.3)
    if t.effects.deploy_extra_ms:
        cur += t.lat(t.effects.deploy_extra_ms, 0.25)
    if co.resource["service.version"] == DEPLOY_VERSION:  # 1.43.0 moved the query to sqlc
        statement = (
            "-- name: GetOrder :one\n"
            "select id, user_id, status, total_cents, currency, payment_id, created_at\n"
            f"from orders\nwhere id = {order}"
        )
    else:
        statement = (
            "SELECT id, user_id, status, total_cents, currency, payment_id, created_at "
            f"FROM orders WHERE id = {order}"
        )
    span = postgres_query(t, tp.CO_SELECT_ORDER, co, server, cur, statement, t.lat(1.1))
    cur = span.end_unix_nano
    if rng.random() < 0.03:
        return finish_server_span(server, False, cur + t.lat(0.3), 404), 404, None
    statement = f"SELECT sku, quantity, price_cents FROM order_items WHERE order_id = {order}"
    span = postgres_query(
        t, tp.CO_SELECT_ITEMS, co, server, cur + t.lat(0.1), statement, t.lat(1.0)
    )
    payment = tp.uuid4(rng)
    cur, _, _ = call_service(
        t,
        tp.CO_CALL_PAYMENT_GET,
        co,
        server,
        span.end_unix_nano + t.lat(0.1),
        "GET",
        "payment",
        f"/v1/payments/{payment}",
        get_payment,
        payment,
    )
    if rng.random() < 0.45:
        url = f"https://{tp.SHIPPING_HOST}/v1/tracking?carrier_code=ups&tracking_number={tp.tracking_number(rng)}"
        tracking = open_client_span(
            t, tp.CO_CALL_TRACKING, co, server, cur + t.lat(0.2), "GET", url, tp.SHIPPING_HOST, 443
        )
        cur = finish_client_span(
            tracking, False, tracking.start_unix_nano + t.lat(180.0, 0.45), 200
        )
    return finish_server_span(server, False, cur + t.lat(0.4), 200), 200, None


def cancel_order(
    t: Trace, client: Span, start: int, caller: Instance, order: int
) -> tuple[int, int, None]:
    rng = t.rng
    co, server = serve_call(
        t,
        "checkout",
        tp.CO_CANCEL,
        client,
        start,
        caller,
        "POST",
        f"/v1/orders/{order}/cancel",
        "/v1/orders/{orderId}/cancel",
    )
    statement = (
        "SELECT id, user_id, status, total_cents, currency, payment_id, created_at "
        f"FROM orders WHERE id = {order}"
    )
    span = postgres_query(
        t, tp.CO_SELECT_ORDER, co, server, start + t.lat(0.3), statement, t.lat(1.1)
    )
    cur = span.end_unix_nano
    if rng.random() < 0.2:  # already shipped
        return finish_server_span(server, False, cur + t.lat(0.3), 409), 409, None
    cur, status, _ = call_service(
        t,
        tp.CO_CALL_REFUND,
        co,
        server,
        cur + t.lat(0.2),
        "POST",
        "payment",
        "/v1/refunds",
        refund_payment,
        order,
    )
    if status != 200:
        message = f"refund: provider unavailable ({status} from payment service)"
        return finish_server_span(server, False, cur + t.lat(0.3), 502, message), 502, None
    items = [(tp.product_number(rng), rng.randrange(1, 3), 0) for _ in range(rng.randrange(1, 4))]
    cur, _, _ = call_inventory(
        t,
        tp.CO_GRPC_RELEASE,
        co,
        server,
        cur + t.lat(0.2),
        "Release",
        reserve_or_release,
        items,
        False,
    )
    cur = _update_order(t, co, server, cur + t.lat(0.2), order, "cancelled")
    return finish_server_span(server, False, cur + t.lat(0.3), 200), 200, None
