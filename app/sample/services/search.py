"""The search service: full-text and related-product queries, cached in Redis."""

from __future__ import annotations

import zlib
from urllib.parse import quote

from app.sample import topology as tp
from app.sample.datastore_spans import redis_command
from app.sample.http_spans import finish_server_span, serve_call
from app.sample.topology import Instance, Operation
from app.sample.trace_builder import Trace, close
from connectors.spans import Span


def _elasticsearch(
    t: Trace, op: Operation, inst: Instance, parent: Span, start: int, body: str, median_ms: float
) -> int:
    span = t.open(
        op,
        inst,
        parent,
        start,
        "search",
        {
            "db.system": "elasticsearch",
            "db.operation.name": "search",
            "db.collection.name": "products",
            "db.query.text": body,
            "http.request.method": "POST",
            "url.full": f"http://{tp.ELASTICSEARCH_HOST}:9200/products/_search",
            "server.address": tp.ELASTICSEARCH_HOST,
            "server.port": 9200,
        },
    )
    return close(span, start + t.lat(median_ms, 0.45))


def search_products(
    t: Trace, client: Span, start: int, caller: Instance, term: str, page: int
) -> tuple[int, int, None]:
    query = f"q={quote(term)}&page={page}&limit=24"
    inst, server = serve_call(
        t, "search", tp.SE_SEARCH, client, start, caller, "GET", "/v1/search", "/v1/search", query
    )
    key = f"search:v2:{zlib.crc32(f'{term}|{page}'.encode()):08x}"
    cache, ok = redis_command(
        t, tp.SE_CACHE_GET_QUERY, inst, server, start + t.lat(0.3), "GET", f"GET {key}"
    )
    cur = cache.end_unix_nano
    if not ok or t.rng.random() < 0.65:
        escaped = term.replace("\\", "\\\\").replace('"', '\\"')
        body = (
            f'{{"query":{{"multi_match":{{"query":"{escaped}","fields":["name^3","description"]}}}},'
            f'"from":{24 * (page - 1)},"size":24}}'
        )
        cur = _elasticsearch(t, tp.SE_ES_MATCH, inst, server, cur + t.lat(0.2), body, 18.0)
        if ok:
            span, _ = redis_command(
                t,
                tp.SE_CACHE_SET_QUERY,
                inst,
                server,
                cur + t.lat(0.1),
                "SETEX",
                f"SETEX {key} 120 ?",
            )
            cur = span.end_unix_nano
    end = finish_server_span(server, False, cur + t.lat(0.8), 200)
    return end, 200, None


def related_products(
    t: Trace, client: Span, start: int, caller: Instance, sku: str
) -> tuple[int, int, None]:
    inst, server = serve_call(
        t,
        "search",
        tp.SE_RELATED,
        client,
        start,
        caller,
        "GET",
        f"/v1/related/{sku}",
        "/v1/related/<sku>",
        "limit=8",
    )
    cache, ok = redis_command(
        t, tp.SE_CACHE_GET_RELATED, inst, server, start + t.lat(0.3), "GET", f"GET related:{sku}"
    )
    cur = cache.end_unix_nano
    if not ok or t.rng.random() < 0.3:
        body = (
            '{"query":{"more_like_this":{"fields":["name","description"],'
            f'"like":[{{"_index":"products","_id":"{sku}"}}],"min_term_freq":1}}}},"size":8}}'
        )
        cur = _elasticsearch(t, tp.SE_ES_MLT, inst, server, cur + t.lat(0.2), body, 25.0)
        if ok:
            span, _ = redis_command(
                t,
                tp.SE_CACHE_SET_RELATED,
                inst,
                server,
                cur + t.lat(0.1),
                "SETEX",
                f"SETEX related:{sku} 3600 ?",
            )
            cur = span.end_unix_nano
    end = finish_server_span(server, False, cur + t.lat(0.5), 200)
    return end, 200, None
