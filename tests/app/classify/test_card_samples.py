"""The sample attributes a card shows: what names the work or who asks for it, no ids."""

from __future__ import annotations

from app.classify.card_samples import SAMPLE_ATTRIBUTES, VALUE_CHARS, sample_attributes


def test_attributes_that_name_the_work_are_shown_by_name() -> None:
    shown = sample_attributes({"template": "cart.html", "express.name": "auth"}, read=())
    assert shown == "express.name=auth template=cart.html"


def test_a_user_agent_is_its_product_alone() -> None:
    for agent, product in [
        ("kube-probe/1.29", "kube-probe"),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", "Mozilla"),
        ("Go-http-client/1.1", "Go-http-client"),
    ]:
        assert sample_attributes({"user_agent.original": agent}, read=()) == (
            f"user_agent={product}"
        )
        assert sample_attributes({"http.user_agent": agent}, read=()) == f"user_agent={product}"


def test_ids_numbers_and_dates_name_nothing() -> None:
    attributes = {
        "app.order.id": 799186,
        "app.order.items": 4,
        "http.response.header.request_id": "req_IysMYEfd3ur3lv",
        "app.batch": "batch-2026-11-21",
        "app.customer": "cus_YEHokHzHmzcQIR",
        "app.kind": "gift",
    }
    assert sample_attributes(attributes, read=()) == "app.kind=gift"


def test_transport_details_and_what_the_operation_says_are_left_out() -> None:
    attributes = {
        "db.redis.database_index": 0,
        "db.user": "cart_svc",
        "messaging.client.id": "checkout-7c9",
        "server.address": "cart",
        "url.query": "q=running+shoes",
        "http.route": "/search",
        "app.region": "eu",
    }
    assert sample_attributes(attributes, read=()) == "app.region=eu"
    assert sample_attributes({"app.region": "eu"}, read=("app.region",)) == ""


def test_secrets_never_show_and_values_are_short() -> None:
    attributes = {
        "app.api_key": "sk_live_abcdefghijklmnop1234",
        "app.note": "contact ops@example.com",
        "code.namespace": "com.shop.payment.PaymentControllerWithALongName",
    }
    shown = sample_attributes(attributes, read=())
    namespace = "com.shop.payment.PaymentControllerWithALongName"[: VALUE_CHARS - 1] + "…"
    assert shown == f"app.note=contact [EMAIL] code.namespace={namespace}"


def test_at_most_a_few_attributes_are_shown() -> None:
    attributes = {f"app.flag_{letter}": "on" for letter in "abcdef"}
    assert len(sample_attributes(attributes, read=()).split()) == SAMPLE_ATTRIBUTES


def test_a_user_agent_can_be_left_out() -> None:
    # A traced caller is on the card already; its agent is only its HTTP library.
    attributes = {"user_agent.original": "Go-http-client/1.1", "app.region": "eu"}
    assert sample_attributes(attributes, read=(), user_agent=False) == "app.region=eu"


def test_a_user_agent_that_is_an_id_is_left_out() -> None:
    agent = "tenant_8f3a9c2e41b84d0f_acme/1.0 (Linux)"
    assert sample_attributes({"user_agent.original": agent}, read=()) == ""
    long_agent = "Worker" + "x" * 200 + "/1.0"
    shown = sample_attributes({"user_agent.original": long_agent}, read=())
    assert len(shown) == len("user_agent=") + VALUE_CHARS


def test_the_values_a_statement_ran_with_are_left_out() -> None:
    attributes = {"db.query.parameter.email": "ann@example.com", "db.query.parameter.0": "x"}
    assert sample_attributes(attributes, read=()) == ""
