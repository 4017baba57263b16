"""The notification service: consumes ``orders.placed`` in traces of its own and mails."""

from __future__ import annotations

from app.sample import topology as tp
from app.sample.datastore_spans import postgres_query, redis_command
from app.sample.http_spans import finish_client_span, open_client_span
from app.sample.trace_builder import OrderPlaced, Trace, close, record_exception
from connectors.spans import SpanLink

_SELECT_USER = """
        SELECT u.email, u.first_name, u.locale
          FROM users u
          JOIN orders o ON o.user_id = u.id
         WHERE o.id = %(order_id)s
        """


def consume_order_placed(t: Trace, message: OrderPlaced) -> str:
    """The notification service consumes ``orders.placed`` and mails a confirmation."""
    rng = t.rng
    inst = t.pick("notification")
    root = t.open(
        tp.NO_CONSUME,
        inst,
        None,
        t.start_ns,
        f"{tp.ORDERS_TOPIC} process",
        {
            "messaging.system": "kafka",
            "messaging.destination": tp.ORDERS_TOPIC,
            "messaging.destination_kind": "topic",
            "messaging.operation": "process",
            "messaging.kafka.message_key": str(message.order),
            "messaging.kafka.partition": message.partition,
            "messaging.kafka.message_offset": message.offset,
            "messaging.kafka.consumer_group": "notification",
            "app.order.amount_cents": message.total_cents,
        },
    )
    root.links.append(
        SpanLink(message.trace_id, message.span_id, {"messaging.operation": "publish"})
    )
    span = postgres_query(
        t, tp.NO_SELECT_USER, inst, root, t.start_ns + t.lat(0.4), _SELECT_USER, t.lat(1.3)
    )
    key = f"notified:order:{message.order}"
    span, ok = redis_command(
        t,
        tp.NO_DEDUPE,
        inst,
        root,
        span.end_unix_nano + t.lat(0.2),
        "SET",
        f"SET {key} 1 NX EX 86400",
    )
    cur = span.end_unix_nano
    if ok and rng.random() < 0.01:  # a redelivered message: already notified
        close(root, cur + t.lat(0.2))
        return "notification"
    render = t.open(
        tp.NO_RENDER,
        inst,
        root,
        cur + t.lat(0.1),
        "render email order_confirmation",
        {"template": "order_confirmation"},
    )
    cur = close(render, render.start_unix_nano + t.lat(6.0, 0.4))
    url = f"https://{tp.MAIL_RELAY_HOST}/v3/mail/send"
    mail = open_client_span(
        t, tp.NO_SEND_MAIL, inst, root, cur + t.lat(0.2), "POST", url, tp.MAIL_RELAY_HOST, 443
    )
    failed = rng.random() < 0.01
    cur = finish_client_span(
        mail, True, mail.start_unix_nano + t.lat(140.0, 0.5), 503 if failed else 202
    )
    end = cur + t.lat(0.4)
    if failed:
        error = f"503 Server Error: Service Unavailable for url: {url}"
        record_exception(
            root,
            end,
            "requests.exceptions.HTTPError",
            error,
            "Traceback (most recent call last):\n"
            '  File "/app/notification/handlers.py", line 58, in on_order_placed\n'
            "    response.raise_for_status()\n"
            '  File "/usr/local/lib/python3.11/site-packages/requests/models.py", line 1024, '
            "in raise_for_status\n"
            "    raise HTTPError(http_error_msg, response=self)\n"
            f"requests.exceptions.HTTPError: {error}",
        )
        close(root, end, error)
    else:
        close(root, end)
    return "notification"
