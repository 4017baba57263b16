"""The explorer's pages through FastAPI's real request handling, on a real pattern store."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.discovery.heads import read_heads
from app.discovery.store import PatternStore
from tests.app.web.conftest import IMAGE, MARKED_TRACE, SCRIPT, copy_store, make_app

STRIPE = "http_call_stripe_post_charges"
PRODUCTS = "http_server_frontend_get_products"


@pytest.fixture(scope="module")
def reader(explorer_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """For tests that only read."""
    data_dir = copy_store(explorer_store, tmp_path_factory.mktemp("pages"))
    with TestClient(make_app(data_dir)) as client:
        yield client


@pytest.fixture
def writer(data_dir: Path) -> Iterator[TestClient]:
    with TestClient(make_app(data_dir)) as client:
        yield client


def page(client: TestClient, url: str, status: int = 200) -> str:
    answer = client.get(url)
    assert answer.status_code == status, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/html")
    return answer.text


def row_names(text: str) -> list[str]:
    return [
        html.unescape(name)
        for name in re.findall(r'<tr class="pattern-row" data-name="([^"]+)"', text)
    ]


class Tags(HTMLParser):
    """The page's scripts, and any attribute a browser would run or style inline."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self.scripts.append(found.get("src") or "(inline)")
        self.inline += [
            f"{tag} {name}" for name in found if name.startswith("on") or name == "style"
        ]
        for name in ("href", "src", "action"):
            if (found.get(name) or "").strip().lower().startswith("javascript:"):
                self.inline.append(f"{tag} {name}")


PAGES = ["/", f"/patterns/{PRODUCTS}", f"/traces/{MARKED_TRACE}", "/services", "/chat", "/?q=cart"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_carry_a_policy_that_forbids_inline_script(reader: TestClient, url: str) -> None:
    answer = reader.get(url)
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    tags = Tags()
    tags.feed(answer.text)
    # every script is a file; no inline style or event handler that the policy would block
    assert tags.scripts and all(src.startswith("/static/") for src in tags.scripts)
    assert tags.inline == []


@pytest.mark.parametrize(
    "url",
    [
        f"/patterns/{PRODUCTS}",
        f"/traces/{MARKED_TRACE}",
        "/?q=render",
        "/?verdict=keep&kind=internal",
    ],
)
def test_markup_in_span_data_is_shown_as_text(reader: TestClient, url: str) -> None:
    text = page(reader, url)
    assert "<script>alert" not in text and "<img src=x" not in text
    escaped = {html.escape(SCRIPT, quote=False), html.escape(IMAGE, quote=False)}
    escaped |= {html.escape(s) for s in (SCRIPT, IMAGE)}
    escaped.add(html.escape("<img src=x onerror=alert({id})>", quote=False))
    assert any(e in text for e in escaped)


def test_the_pattern_page_shows_what_was_learned(reader: TestClient) -> None:
    text = page(reader, f"/patterns/{STRIPE}")
    assert f">{STRIPE}</h1>" in text
    assert "payment calls POST api.stripe.com/v1/charges" in text  # the description
    for shown in ("Duration", "Error rate", "Latency", "p50 ", "p95 ", "p99 ", "402", "Matchers"):
        assert shown in text
    assert 'class="marker marker-p99"' in text and text.count('class="bar') >= 2
    assert "resource.service.name = &#34;payment&#34;" in text  # the TraceQL, escaped
    assert 'href="/patterns/internal_payment_controller_charge"' in text  # its parent
    assert "/traces/" in text and "Typical" in text and "Slowest" in text and "Erroring" in text
    assert "SPANWISE_GRAFANA_URL" in text  # no Grafana configured: it says how


def test_the_pattern_page_shows_a_window_picked_with_its_numbers_and_charts(
    reader: TestClient,
) -> None:
    whole = page(reader, f"/patterns/{STRIPE}")
    assert "Request rate" in whole and 'name="window"' in whole
    text = page(reader, f"/patterns/{STRIPE}?window=last+5+minutes")
    # the sample's spans are weeks old: the window moves to the newest with spans, and says so
    assert "The newest span seen is from" in text and "newest 5 minutes with spans" in text
    assert "In the window" in text and "The window before" in text
    assert "Changed:" in text or "Nothing changed by much" in text
    # the charts cover the window: fewer bars than over all spans
    assert 0 < text.count('class="bar') < whole.count('class="bar')
    bad = page(reader, f"/patterns/{STRIPE}?window=from+15:22+to+15:18")
    assert "ends before it starts" in bad and "Request rate" in bad


def test_with_grafana_the_pattern_links_to_explore(data_dir: Path) -> None:
    with TestClient(make_app(data_dir, grafana_url="https://grafana.example")) as client:
        text = page(client, f"/patterns/{STRIPE}")
    assert 'href="https://grafana.example/explore?schemaVersion=1&amp;panes=' in text


def test_samples_are_redacted_as_the_api_redacts_them(reader: TestClient) -> None:
    text = page(reader, "/patterns/http_call_stripe_post_charges")
    api = reader.get("/api/patterns/http_call_stripe_post_charges").json()
    shown = {
        value
        for samples in api["samples"].values()
        for sample in samples
        for value in sample["attributes"].values()
        if isinstance(value, str)
    }
    assert shown and all(html.escape(value) in text for value in shown)
    assert "sk_live_" not in text


def test_filters_narrow_the_list_and_sorting_orders_it(
    reader: TestClient, explorer_store: Path
) -> None:
    heads = [h for h in read_heads(PatternStore(explorer_store)) if h.live]
    by_name = {h.name: h for h in heads}
    clients = row_names(page(reader, "/?kind=client&group=none"))
    assert clients and all(by_name[name].span_kind == "client" for name in clients)
    assert len(clients) == sum(h.span_kind == "client" for h in heads)
    slowest = row_names(page(reader, "/?sort=p99&group=none"))
    assert [by_name[n].p99_ms for n in slowest] == sorted((h.p99_ms for h in heads), reverse=True)
    failing = row_names(page(reader, "/?sort=errors&group=none"))
    assert by_name[failing[0]].error_rate == max(h.error_rate for h in heads)
    grouped = row_names(page(reader, "/"))
    services = [by_name[n].service for n in grouped]
    assert services == sorted(services)  # grouped by service
    payment = row_names(page(reader, "/?service=payment&verdict=keep"))
    assert payment and {by_name[n].service for n in payment} == {"payment"}
    assert STRIPE in row_names(page(reader, "/?q=stripe+charges"))
    assert "No pattern matches" in page(reader, "/?q=zzzz+nothing")


def test_search_by_meaning_finds_the_stripe_charge(reader: TestClient) -> None:
    text = page(reader, "/?q=payment+provider+charges+the+card&semantic=1")
    assert "closest in meaning" in text
    assert any("stripe" in name for name in row_names(text)[:3])


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("/?sort=fastest", "sort &#39;fastest&#39; is not one of volume, p99, errors, name"),
        ("/?kind=sideways", "kind &#39;sideways&#39; is not one of"),
        ("/?verdict=maybe", "verdict &#39;maybe&#39;"),
        ("/traces/not-a-trace", "is not a trace id"),
        ("/?page=0", "page &#39;0&#39; is not a page number"),
    ],
)
def test_parameters_a_page_cannot_use_are_400_pages(
    reader: TestClient, url: str, says: str
) -> None:
    assert says in page(reader, url, 400)


def test_parameters_fastapi_refuses_are_400_pages_for_browsers_and_422_json_for_the_api(
    reader: TestClient,
) -> None:
    html = {"Accept": "text/html"}
    answer = reader.get("/?semantic=maybe", headers=html)
    assert answer.status_code == 400 and answer.headers["content-type"].startswith("text/html")
    assert "This page cannot take that: semantic:" in answer.text
    long_query = reader.get("/", params={"q": "x" * 600}, headers=html)
    assert long_query.status_code == 400 and "q:" in long_query.text
    api = reader.get("/api/patterns", params={"limit": 0}, headers=html)
    assert api.status_code == 422 and api.json()["detail"][0]["loc"] == ["query", "limit"]


def test_an_unknown_pattern_is_a_404_page_naming_close_ones(reader: TestClient) -> None:
    text = page(reader, f"/patterns/{STRIPE[:-1]}", 404)
    assert f"no pattern named &#39;{STRIPE[:-1]}&#39;" in text
    assert f'href="/patterns/{STRIPE}"' in text


def test_an_unknown_trace_without_tempo_is_a_404_page_that_says_why(reader: TestClient) -> None:
    assert "no Tempo URL" in page(reader, "/traces/" + "ab" * 16, 404)


def test_the_trace_page_is_a_waterfall_linking_spans_to_patterns(reader: TestClient) -> None:
    text = page(reader, f"/traces/{MARKED_TRACE}")
    assert text.count('class="span-row') == 2
    assert (
        f'href="/patterns/{PRODUCTS}"' in text
        and 'href="/patterns/internal_frontend_render"' in text
    )
    assert "indent-1" in text and "error-mark" in text and "the trace has more" in text


def test_a_correction_shows_on_the_page_at_once_and_an_old_name_redirects(
    writer: TestClient,
) -> None:
    answer = writer.post(
        f"/api/patterns/{STRIPE}/corrections",
        json={
            "field": "verdict",
            "value": "noise",
            "reason": "a <b>test</b> reason",
            "author": "ana",
        },
    )
    assert answer.status_code == 201
    text = page(writer, f"/patterns/{STRIPE}")
    assert 'class="verdict verdict-noise"' in text
    assert "a &lt;b&gt;test&lt;/b&gt; reason" in text and "ana" in text
    renamed = writer.post(
        f"/api/patterns/{STRIPE}/corrections",
        json={"field": "name", "value": "http_call_payment_gateway_charge"},
    )
    assert renamed.status_code == 201
    moved = writer.get(f"/patterns/{STRIPE}", follow_redirects=False)
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/patterns/http_call_payment_gateway_charge?from={STRIPE}"
    text = page(writer, moved.headers["location"])
    assert "is an old name of this pattern" in text and STRIPE in text
    assert "http_call_payment_gateway_charge" in row_names(page(writer, "/?verdict=noise"))


def test_the_service_map_shows_calls_with_counts_and_errors(reader: TestClient) -> None:
    text = page(reader, "/services")
    assert text.count('<g class="node') >= 7
    for service in ("frontend", "checkout", "payment", "inventory"):
        assert f'href="/?service={service}"' in text
    assert "api.stripe.com" in text and "postgresql" in text
    assert re.search(r"<td><a href=\"/\?service=frontend\">frontend</a></td>\s*<td>", text)


def test_names_for_the_chat_autocomplete(reader: TestClient) -> None:
    answer = reader.get("/chat/names", params={"q": "stripe"})
    assert answer.status_code == 200
    hits = answer.json()
    assert STRIPE in [hit["name"] for hit in hits]
    assert {"name", "service", "kind", "count"} <= hits[0].keys()
    assert reader.get("/chat/names", params={"q": ""}).json() == []


def test_the_chat_page_takes_a_question_from_the_address(reader: TestClient) -> None:
    text = page(reader, f"/chat?q=@{STRIPE}%20<b>why</b>")
    assert f"@{STRIPE} &lt;b&gt;why&lt;/b&gt;</textarea>" in text
    assert '<script src="/static/chat.js" defer></script>' in text


def test_an_empty_store_says_how_to_fill_it(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as client:
        assert "No patterns yet" in page(client, "/")
        assert "No patterns yet" in page(client, "/services")


def test_static_files_are_served(reader: TestClient) -> None:
    for name, kind in (
        ("style.css", "text/css"),
        ("chat.js", "javascript"),
        ("favicon.svg", "svg"),
    ):
        answer = reader.get(f"/static/{name}")
        assert answer.status_code == 200 and kind in answer.headers["content-type"]
