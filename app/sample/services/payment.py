"""The payment service (Spring Boot): charges, lookups and refunds through Stripe."""

from __future__ import annotations

from urllib.parse import quote

from app.sample import topology as tp
from app.sample.datastore_spans import postgres_query
from app.sample.http_spans import (
    finish_client_span,
    finish_server_span,
    open_client_span,
    serve_call,
)
from app.sample.topology import Instance, Operation
from app.sample.trace_builder import NS_PER_MS, Trace, close, record_exception
from connectors.spans import Span

_DECLINES = (
    "insufficient_funds",
    "generic_decline",
    "do_not_honor",
    "expired_card",
    "incorrect_cvc",
)
_JAVA_FRAMES = (
    "\tat com.shop.payment.PaymentController.{method}(PaymentController.java:54)\n"
    "\tat java.base/jdk.internal.reflect.DirectMethodHandleAccessor.invoke"
    "(DirectMethodHandleAccessor.java:103)\n"
    "\tat org.springframework.web.method.support.InvocableHandlerMethod.doInvoke"
    "(InvocableHandlerMethod.java:255)\n"
    "\tat org.springframework.web.servlet.DispatcherServlet.doDispatch"
    "(DispatcherServlet.java:1089)\n"
    "\tat org.apache.catalina.core.ApplicationFilterChain.doFilter"
    "(ApplicationFilterChain.java:140)\n"
)


_CONTROLLERS = {
    tp.PA_CONTROLLER_CHARGE.label: ("PaymentController", "charge"),
    tp.PA_CONTROLLER_GET.label: ("PaymentController", "get"),
    tp.PA_CONTROLLER_REFUND.label: ("RefundController", "refund"),
}


def _payment_server(
    t: Trace,
    op: Operation,
    controller: Operation,
    client: Span,
    start: int,
    caller: Instance,
    method: str,
    path: str,
    route: str,
) -> tuple[Instance, Span, Span]:
    """The Tomcat server span and, inside it, Spring's span of the controller method."""
    inst, server = serve_call(t, "payment", op, client, start, caller, method, path, route)
    class_name, function = _CONTROLLERS[controller.label]
    handler = t.open(
        controller,
        inst,
        server,
        start + t.lat(0.4),
        f"{class_name}.{function}",
        {"code.namespace": f"com.shop.payment.{class_name}", "code.function": function},
    )
    return inst, server, handler


def _stripe(
    t: Trace,
    op: Operation,
    inst: Instance,
    parent: Span,
    start: int,
    method: str,
    path: str,
    median_ms: float,
    decline_share: float = 0.0,
) -> tuple[int, int]:
    """One call to api.stripe.com: ``(end, status)``; 5xx rarely, or often in a 5xx burst.

    A charge that goes through is declined (402) with probability ``decline_share``.
    """
    rng = t.rng
    client = open_client_span(
        t, op, inst, parent, start, method, f"https://{tp.STRIPE_HOST}{path}", tp.STRIPE_HOST, 443
    )
    if inst.ordinal == 2:  # a pod someone redeployed with header capture switched on
        client.attributes["http.request.header.authorization"] = [f"Bearer {t.run.secret_key}"]
        client.attributes["http.response.header.request_id"] = [tp.provider_id(rng, "req_", 14)]
    share = max(0.003, t.effects.provider_5xx_share)
    if rng.random() < share:
        status = 502 if rng.random() < 0.5 else 503
        end = start + t.lat(60.0, 0.8)
    else:
        status = 402 if decline_share and rng.random() < decline_share else 200
        end = start + t.lat(median_ms, 0.55)
    finish_client_span(client, True, end, status)
    return end, status


def _provider_failed(
    t: Trace, handler: Span, server: Span, end: int, status: int, method: str
) -> int:
    request = tp.provider_id(t.rng, "req_", 14)
    message = f"An unknown error occurred (status {status}); request-id: {request}"
    stack = (
        f"com.stripe.exception.ApiException: {message}\n"
        "\tat com.stripe.net.LiveStripeResponseGetter.handleApiError"
        "(LiveStripeResponseGetter.java:241)\n"
        "\tat com.stripe.net.LiveStripeResponseGetter.request(LiveStripeResponseGetter.java:72)\n"
        + _JAVA_FRAMES.format(method=method)
    )
    record_exception(handler, end, "com.stripe.exception.ApiException", message, stack)
    close(handler, end, message)
    return finish_server_span(server, True, end + t.lat(0.5), 502, "payment provider unavailable")


def charge_payment(
    t: Trace, client: Span, start: int, caller: Instance, user: int, order: int, amount: int
) -> tuple[int, int, str | None]:
    rng = t.rng
    inst, server, handler = _payment_server(
        t,
        tp.PA_CHARGE,
        tp.PA_CONTROLLER_CHARGE,
        client,
        start,
        caller,
        "POST",
        "/v1/payments",
        "/v1/payments",
    )
    cur = handler.start_unix_nano + t.lat(0.3)
    span = postgres_query(
        t,
        tp.PA_SELECT_CUSTOMER,
        inst,
        handler,
        cur,
        "SELECT stripe_customer_id FROM payment_customers WHERE user_id = ?",
        t.lat(1.1),
    )
    cur = span.end_unix_nano
    customer = tp.provider_id(rng, "cus_", 14)
    path = rng.random()
    calls: list[tuple[Operation, str, str, float]] = []
    if path < 0.12:
        calls.append(
            (
                tp.PA_STRIPE_FIND_CUSTOMER,
                "GET",
                f"/v1/customers?email={quote(tp.email(user))}&limit=1",
                170.0,
            )
        )
        calls.append((tp.PA_STRIPE_NEW_CUSTOMER, "POST", "/v1/customers", 210.0))
    elif path < 0.37:
        calls.append((tp.PA_STRIPE_GET_CUSTOMER, "GET", f"/v1/customers/{customer}", 150.0))
    for op, method, url, median in calls:
        cur, status = _stripe(t, op, inst, handler, cur + t.lat(0.5), method, url, median)
        if status >= 500:
            return (
                _provider_failed(t, handler, server, cur + t.lat(0.3), status, "charge"),
                502,
                None,
            )
    if path < 0.12:
        span = postgres_query(
            t,
            tp.PA_INSERT_CUSTOMER,
            inst,
            handler,
            cur + t.lat(0.3),
            "INSERT INTO payment_customers (user_id, stripe_customer_id, created_at) "
            "VALUES (?, ?, ?)",
            t.lat(2.0),
        )
        cur = span.end_unix_nano
    # stripe-java retries a 5xx once after a short backoff
    for attempt in range(2):
        if attempt:
            cur += int(rng.uniform(450, 550) * NS_PER_MS)
        cur, status = _stripe(
            t,
            tp.PA_STRIPE_CHARGE,
            inst,
            handler,
            cur + t.lat(0.5),
            "POST",
            "/v1/charges",
            320.0,
            decline_share=0.03,
        )
        if status < 500:
            break
    if status >= 500:
        return _provider_failed(t, handler, server, cur + t.lat(0.3), status, "charge"), 502, None
    charge = tp.provider_id(rng, "ch_3", 23)
    declined = status == 402
    payment = tp.uuid4(rng)
    span = postgres_query(
        t,
        tp.PA_INSERT_PAYMENT,
        inst,
        handler,
        cur + t.lat(0.4),
        "INSERT INTO payments "
        "(id, order_id, user_id, amount_cents, currency, stripe_charge_id, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        t.lat(2.2),
    )
    cur = span.end_unix_nano + t.lat(0.3)
    if declined:
        code = rng.choice(_DECLINES)
        message = f"Your card was declined. (decline_code={code}, charge={charge})"
        stack = (
            f"com.shop.payment.CardDeclinedException: {message}\n"
            "\tat com.shop.payment.StripeGateway.charge(StripeGateway.java:142)\n"
            "\tat com.shop.payment.PaymentService.charge(PaymentService.java:88)\n"
            + _JAVA_FRAMES.format(method="charge")
            + f"Caused by: com.stripe.exception.CardException: Your card was declined.; "
            f"code: card_declined; request-id: {tp.provider_id(rng, 'req_', 14)}\n"
            "\tat com.stripe.net.LiveStripeResponseGetter.handleApiError"
            "(LiveStripeResponseGetter.java:228)\n"
            "\t... 42 more"
        )
        record_exception(handler, cur, "com.shop.payment.CardDeclinedException", message, stack)
        close(handler, cur, message)
        return finish_server_span(server, True, cur + t.lat(0.4), 402), 402, None
    close(handler, cur)
    return finish_server_span(server, True, cur + t.lat(0.4), 201), 201, payment


def get_payment(
    t: Trace, client: Span, start: int, caller: Instance, payment: str
) -> tuple[int, int, None]:
    inst, server, handler = _payment_server(
        t,
        tp.PA_GET,
        tp.PA_CONTROLLER_GET,
        client,
        start,
        caller,
        "GET",
        f"/v1/payments/{payment}",
        "/v1/payments/{paymentId}",
    )
    span = postgres_query(
        t,
        tp.PA_SELECT_PAYMENT,
        inst,
        handler,
        handler.start_unix_nano + t.lat(0.3),
        "SELECT id, order_id, status, amount_cents, currency, stripe_charge_id "
        "FROM payments WHERE id = ?",
        t.lat(1.0),
    )
    end = close(handler, span.end_unix_nano + t.lat(0.3))
    return finish_server_span(server, True, end + t.lat(0.3), 200), 200, None


def refund_payment(
    t: Trace, client: Span, start: int, caller: Instance, order: int
) -> tuple[int, int, None]:
    inst, server, handler = _payment_server(
        t,
        tp.PA_REFUND,
        tp.PA_CONTROLLER_REFUND,
        client,
        start,
        caller,
        "POST",
        "/v1/refunds",
        "/v1/refunds",
    )
    span = postgres_query(
        t,
        tp.PA_SELECT_CHARGE,
        inst,
        handler,
        handler.start_unix_nano + t.lat(0.3),
        "SELECT id, stripe_charge_id, amount_cents FROM payments WHERE order_id = ?",
        t.lat(1.0),
    )
    cur, status = _stripe(
        t,
        tp.PA_STRIPE_REFUND,
        inst,
        handler,
        span.end_unix_nano + t.lat(0.4),
        "POST",
        "/v1/refunds",
        350.0,
    )
    if status >= 500:
        return _provider_failed(t, handler, server, cur + t.lat(0.3), status, "refund"), 502, None
    span = postgres_query(
        t,
        tp.PA_UPDATE_PAYMENT,
        inst,
        handler,
        cur + t.lat(0.3),
        "UPDATE payments SET status = ?, refunded_at = ? WHERE id = ?",
        t.lat(1.5),
    )
    end = close(handler, span.end_unix_nano + t.lat(0.3))
    return finish_server_span(server, True, end + t.lat(0.3), 200), 200, None
