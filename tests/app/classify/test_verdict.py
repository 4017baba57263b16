"""The Classification contract: what any classifier's answer must look like to be used."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from app.classify.verdict import Category, Classification, Source, Verdict, is_snake_case_name


def answer(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": "http_call_stripe_post_charges",
        "description": "payment calls POST api.stripe.com/v1/charges. About 980 calls/h.",
        "category": "http_call",
        "verdict": "keep",
        "reasoning": "A dependency on api.stripe.com.",
        "source": "model",
    }
    fields.update(changes)
    return fields


def test_a_model_answer_validates_into_enums_and_round_trips_through_json() -> None:
    classification = Classification.model_validate(answer())
    assert classification.category is Category.HTTP_CALL
    assert classification.verdict is Verdict.KEEP
    assert classification.source is Source.MODEL
    assert Classification.model_validate_json(classification.model_dump_json()) == classification


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("postgres_query_select_orders", True),
        ("abc", True),
        ("a" * 80, True),
        ("kafka_publish_orders_v2", True),
        ("ab", False),  # too short
        ("a" * 81, False),
        ("1http_call", False),  # must start with a letter
        ("_http_call", False),
        ("Http_call", False),
        ("http-call", False),
        ("http call", False),
        ("http__call", False),  # words joined by single underscores
        ("http_call_", False),
        ("café_query", False),
    ],
)
def test_names_must_be_snake_case(name: str, valid: bool) -> None:
    assert is_snake_case_name(name) is valid
    if valid:
        assert Classification.model_validate(answer(name=name)).name == name
    else:
        with pytest.raises(ValidationError):
            Classification.model_validate(answer(name=name))


@pytest.mark.parametrize("field", ["description", "reasoning"])
@pytest.mark.parametrize(
    ("text", "valid"),
    [("x", True), ("x" * 400, True), ("x" * 401, False), ("", False), ("  \n", False)],
)
def test_texts_hold_one_to_400_characters(field: str, text: str, valid: bool) -> None:
    if valid:
        assert getattr(Classification.model_validate(answer(**{field: text})), field) == text
    else:
        with pytest.raises(ValidationError):
            Classification.model_validate(answer(**{field: text}))


def test_surrounding_whitespace_of_a_model_answer_is_stripped() -> None:
    classification = Classification.model_validate(
        answer(description="  Serves GET /cart.\n", name=" http_server_frontend_get_cart ")
    )
    assert classification.description == "Serves GET /cart."
    assert classification.name == "http_server_frontend_get_cart"


@pytest.mark.parametrize(
    "changes",
    [
        {"category": "database"},  # not a category
        {"verdict": "maybe"},
        {"source": "llm"},
        {"confidence": 0.9},  # no field of the contract
    ],
)
def test_unknown_values_and_fields_are_rejected(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Classification.model_validate(answer(**changes))


def test_the_source_must_be_said() -> None:
    fields = answer()
    del fields["source"]
    with pytest.raises(ValidationError):
        Classification.model_validate(fields)


def test_a_classification_cannot_be_changed_in_place() -> None:
    classification = Classification.model_validate(answer())
    with pytest.raises(ValidationError):
        classification.name = "other_name"  # type: ignore[misc]
