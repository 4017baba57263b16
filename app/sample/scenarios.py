"""What a request from outside does: a browser at the frontend, or a probe at any service.

Each scenario builds one trace from its root and returns the scenario's name; ``pick_scenario``
draws one by its share of the traffic.
"""

from __future__ import annotations

import itertools
import random
from bisect import bisect
from collections.abc import Callable
from urllib.parse import quote, quote_plus

from app.sample import topology as tp
from app.sample.datastore_spans import redis_command
from app.sample.faults import INJECTIONS
from app.sample.grpc_spans import GRPC_CODES, call_inventory, finish_grpc_server_span
from app.sample.http_spans import call_service, finish_server_span, open_server_span
from app.sample.services.cart import add_to_cart, get_cart
from app.sample.services.checkout import cancel_order, get_order, place_order
from app.sample.services.frontend import (
    finish_frontend_root,
    load_session,
    open_frontend_root,
    open_signed_in_root,
    render_template,
    upstream_status,
)
from app.sample.services.inventory import get_product, list_products
from app.sample.services.search import related_products, search_products
from app.sample.topology import Operation
from app.sample.trace_builder import Trace
from connectors.spans import Span

Scenario = Callable[[Trace], str]
"""A request from outside: builds its trace and returns the scenario's name."""


def _browse(t: Trace) -> str:
    number = tp.product_number(t.rng)
    sku = tp.sku(number)
    root, fe = open_frontend_root(t, tp.FE_PRODUCT, "GET", f"/products/{sku}", "", "/products/:sku")
    cur, _ = load_session(t, fe, root, t.start_ns + t.lat(0.15))
    cur, code, _ = call_inventory(
        t,
        tp.FE_GRPC_GET_PRODUCT,
        fe,
        root,
        cur + t.lat(0.1),
        "GetProduct",
        get_product,
        number,
    )
    if code == 5:
        finish_frontend_root(root, cur + t.lat(1.5), 404)
    elif code != 0:
        finish_frontend_root(root, cur + t.lat(0.5), 503, f"inventory: {GRPC_CODES[code]}")
    else:
        cur, _, _ = call_service(
            t,
            tp.FE_CALL_RELATED,
            fe,
            root,
            cur + t.lat(0.1),
            "GET",
            "search",
            f"/v1/related/{sku}?limit=8",
            related_products,
            sku,
        )
        cur = render_template(
            t, tp.FE_RENDER_PRODUCT, fe, root, cur + t.lat(0.1), f"product_{number}.html"
        )
        finish_frontend_root(root, cur + t.lat(0.3), 200)
    return "browse"


def _listing(t: Trace, op: Operation, path: str, query: str, route: str, category: int) -> Span:
    root, fe = open_frontend_root(t, op, "GET", path, query, route)
    cur, _ = load_session(t, fe, root, t.start_ns + t.lat(0.15))
    cur, code, _ = call_inventory(
        t,
        tp.FE_GRPC_LIST_PRODUCTS,
        fe,
        root,
        cur + t.lat(0.1),
        "ListProducts",
        list_products,
        category,
    )
    if code != 0:
        finish_frontend_root(root, cur + t.lat(0.5), 503, f"inventory: {GRPC_CODES[code]}")
        return root
    render = tp.FE_RENDER_HOME if op is tp.FE_HOME else tp.FE_RENDER_CATEGORY
    template = "home.html" if op is tp.FE_HOME else "category.html"
    cur = render_template(t, render, fe, root, cur + t.lat(0.1), template)
    finish_frontend_root(root, cur + t.lat(0.3), 200)
    return root


def _home(t: Trace) -> str:
    _listing(t, tp.FE_HOME, "/", "", "/", 1)
    return "home"


def _category(t: Trace) -> str:
    slug, category = tp.CATEGORIES[int(t.rng.random() * len(tp.CATEGORIES))]
    page = 1 if t.rng.random() < 0.7 else t.rng.randrange(2, 5)
    sort = t.rng.choice(("newest", "newest", "popular", "price_asc"))
    query = f"page={page}&sort={sort}"
    _listing(t, tp.FE_CATEGORY, f"/category/{slug}", query, "/category/:slug", category)
    return "category"


def _search(t: Trace) -> str:
    rng = t.rng
    term = tp.SEARCH_TERMS[int(rng.random() * len(tp.SEARCH_TERMS))]
    share = t.effects.injection_share
    if share and rng.random() < share:
        term = rng.choice(INJECTIONS)
    page = 1 if rng.random() < 0.8 else rng.randrange(2, 4)
    root, fe = open_frontend_root(
        t, tp.FE_SEARCH, "GET", "/search", f"q={quote_plus(term)}&page={page}", "/search"
    )
    cur, _ = load_session(t, fe, root, t.start_ns + t.lat(0.15))
    cur, status, _ = call_service(
        t,
        tp.FE_CALL_SEARCH,
        fe,
        root,
        cur + t.lat(0.1),
        "GET",
        "search",
        f"/v1/search?q={quote(term)}&page={page}&limit=24",
        search_products,
        term,
        page,
    )
    if status != 200:
        finish_frontend_root(root, cur + t.lat(0.5), *upstream_status(status))
        return "search"
    cur = render_template(t, tp.FE_RENDER_SEARCH, fe, root, cur + t.lat(0.1), "search.html")
    finish_frontend_root(root, cur + t.lat(0.3), 200)
    return "search"


def _cart_view(t: Trace) -> str:
    signed_in = open_signed_in_root(t, tp.FE_CART, "GET", "/cart", "/cart")
    if signed_in is not None:
        root, fe, user, cur = signed_in
        cur, status, _ = call_service(
            t, tp.FE_CALL_CART, fe, root, cur, "GET", "cart", f"/v1/cart/{user}", get_cart, user, 0
        )
        if status != 200:
            finish_frontend_root(root, cur + t.lat(0.4), *upstream_status(status))
        else:
            cur = render_template(t, tp.FE_RENDER_CART, fe, root, cur + t.lat(0.1), "cart.html")
            finish_frontend_root(root, cur + t.lat(0.3), 200)
    return "cart_view"


def _cart_add(t: Trace) -> str:
    signed_in = open_signed_in_root(t, tp.FE_CART_ADD, "POST", "/cart/items", "/cart/items")
    if signed_in is not None:
        root, fe, user, cur = signed_in
        number = tp.product_number(t.rng)
        quantity = 1 if t.rng.random() < 0.8 else t.rng.randrange(2, 5)
        cur, status, _ = call_service(
            t,
            tp.FE_CALL_CART_ADD,
            fe,
            root,
            cur,
            "POST",
            "cart",
            f"/v1/cart/{user}/items",
            add_to_cart,
            user,
            number,
            quantity,
        )
        finish_frontend_root(root, cur + t.lat(0.4), *upstream_status(status))
    return "cart_add"


def _checkout(t: Trace) -> str:
    signed_in = open_signed_in_root(t, tp.FE_CHECKOUT, "POST", "/checkout", "/checkout")
    if signed_in is not None:
        root, fe, user, cur = signed_in
        cur, status, _ = call_service(
            t,
            tp.FE_CALL_CHECKOUT,
            fe,
            root,
            cur,
            "POST",
            "checkout",
            "/v1/checkout",
            place_order,
            user,
        )
        if status == 201:
            status = 200
        finish_frontend_root(root, cur + t.lat(0.5), *upstream_status(status))
    return "checkout"


def _order_status(t: Trace) -> str:
    rng = t.rng
    order = tp.order_id(rng)
    user = tp.user_id(rng)
    # guests look their order up by e-mail address, which ends up in the query string
    query = f"email={quote(tp.email(user))}" if rng.random() < 0.4 else ""
    root, fe = open_frontend_root(
        t, tp.FE_ORDER, "GET", f"/orders/{order}", query, "/orders/:orderId"
    )
    cur, _ = load_session(t, fe, root, t.start_ns + t.lat(0.15))
    cur, status, _ = call_service(
        t,
        tp.FE_CALL_ORDER,
        fe,
        root,
        cur + t.lat(0.1),
        "GET",
        "checkout",
        f"/v1/orders/{order}",
        get_order,
        order,
    )
    if status == 200:
        cur = render_template(t, tp.FE_RENDER_ORDER, fe, root, cur + t.lat(0.1), "order.html")
    finish_frontend_root(root, cur + t.lat(0.3), *upstream_status(status))
    return "order_status"


def _order_cancel(t: Trace) -> str:
    order = tp.order_id(t.rng)
    signed_in = open_signed_in_root(
        t, tp.FE_ORDER_CANCEL, "POST", f"/orders/{order}/cancel", "/orders/:orderId/cancel"
    )
    if signed_in is not None:
        root, fe, user, cur = signed_in
        cur, status, _ = call_service(
            t,
            tp.FE_CALL_CANCEL,
            fe,
            root,
            cur,
            "POST",
            "checkout",
            f"/v1/orders/{order}/cancel",
            cancel_order,
            order,
        )
        finish_frontend_root(root, cur + t.lat(0.4), *upstream_status(status))
    return "order_cancel"


def _static(t: Trace) -> str:
    rng = t.rng
    if rng.random() < 0.6:
        path = tp.STATIC_BUNDLES[int(rng.random() * len(tp.STATIC_BUNDLES))]
    else:
        path = f"/static/img/products/{tp.sku(tp.product_number(rng))}.webp"
    root, _ = open_frontend_root(t, tp.FE_STATIC, "GET", path, "", "")
    status = 304 if rng.random() < 0.35 else 200
    finish_frontend_root(root, t.start_ns + t.lat(0.6, 0.5), status)
    return "static"


_PROBES: tuple[tuple[str, Operation, str], ...] = (
    ("frontend", tp.FE_HEALTHZ, "/healthz"),
    ("frontend", tp.FE_READYZ, "/readyz"),
    ("checkout", tp.CO_HEALTHZ, "/healthz"),
    ("checkout", tp.CO_READYZ, "/readyz"),
    ("cart", tp.CA_HEALTHZ, "/healthz"),
    ("payment", tp.PA_LIVENESS, "/actuator/health/liveness"),
    ("payment", tp.PA_READINESS, "/actuator/health/readiness"),
    ("search", tp.SE_HEALTHZ, "/healthz"),
    ("notification", tp.NO_HEALTHZ, "/healthz"),
    ("inventory", tp.IN_HEALTH, ""),
)


def _health(t: Trace) -> str:
    service, op, path = _PROBES[int(t.rng.random() * len(_PROBES))]
    inst = t.pick(service)
    kubelet = inst.ip.rsplit(".", 1)[0] + ".1"
    if not path:  # inventory speaks gRPC, so the kubelet uses the gRPC health protocol
        span = t.open(
            op,
            inst,
            None,
            t.start_ns,
            "grpc.health.v1.Health/Check",
            {
                "rpc.system": "grpc",
                "rpc.service": "grpc.health.v1.Health",
                "rpc.method": "Check",
                "server.address": tp.cluster_host(service),
                "server.port": 50051,
                "network.peer.address": kubelet,
            },
        )
        finish_grpc_server_span(span, t.start_ns + t.lat(0.2), 0)
        return "health"
    span = open_server_span(
        t,
        op,
        inst,
        None,
        t.start_ns,
        "GET",
        path,
        "",
        path,
        peer=kubelet,
        user_agent="kube-probe/1.29",
    )
    finish_server_span(span, inst.spec.legacy_semconv, t.start_ns + t.lat(0.4, 0.5), 200)
    return "health"


def healthz_poll(t: Trace, _: None) -> str:
    """A misconfigured prober polling a deep health endpoint (``noisy_health_check``)."""
    fe = t.pick("frontend")
    root = open_server_span(
        t,
        tp.FE_API_HEALTHZ,
        fe,
        None,
        t.start_ns,
        "GET",
        "/api/healthz",
        "",
        "/api/healthz",
        peer="10.42.7.33",
        user_agent="Blackbox-Exporter/0.25.0",
    )
    ping, ok = redis_command(t, tp.FE_PING, fe, root, t.start_ns + t.lat(0.1), "PING", "PING")
    if ok:
        finish_frontend_root(root, ping.end_unix_nano + t.lat(0.1), 200)
    else:
        finish_frontend_root(root, ping.end_unix_nano + t.lat(0.1), 503, "redis: Command timed out")
    return "healthz_poll"


_MIX: tuple[tuple[float, Scenario], ...] = (
    (0.26, _browse),
    (0.06, _home),
    (0.09, _category),
    (0.10, _search),
    (0.08, _cart_view),
    (0.08, _cart_add),
    (0.08, _checkout),
    (0.06, _order_status),
    (0.01, _order_cancel),
    (0.10, _static),
    (0.08, _health),
)
_SCENARIOS = [scenario for _, scenario in _MIX]
_SCENARIO_CUMULATIVE = list(itertools.accumulate(weight for weight, _ in _MIX))[:-1]


def pick_scenario(rng: random.Random) -> Scenario:
    """A scenario drawn by its share of the traffic (one draw from ``rng``)."""
    return _SCENARIOS[bisect(_SCENARIO_CUMULATIVE, rng.random())]
