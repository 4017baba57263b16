"""Id placeholders: which tokens are ids, and regexes that agree with that exactly."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.discovery.normalize.ids import (
    DATE,
    EMAIL,
    ID,
    PLACEHOLDER_REGEX,
    placeholder_for,
)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("4821", ID),
        ("3fa85f64-5717-4562-b3fc-2c963f66afa6", ID),
        ("deadbeef12", ID),
        ("ch_3PqL9xAbc", ID),
        ("cus_N2kxyzQ8aB", ID),
        ("cus_YEHokHzHmzcQIR", ID),  # Stripe ids need not hold a digit
        ("ord_0egjhromtg", ID),
        ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9", ID),  # base64url
        ("abcdefghijklmnopqrstuv==", ID),  # padded base64
        ("2026-11-21", DATE),
        ("2026-11-21T10:05:15Z", DATE),
        ("ann.lee@example.com", EMAIL),
        ("search", None),
        ("v1", None),
        ("3f9a1c", None),  # short hex: versions and words
        ("to_JSON", None),  # snake_case words are not provider ids
        ("customer-notification-preferences", None),  # a long slug without digits
        ("١٢٣", None),  # Arabic-Indic digits: RE2's [0-9] would not match them either
        ("", None),
    ],
)
def test_placeholder_for(token: str, expected: str | None) -> None:
    assert placeholder_for(token) == expected


tokens = st.text(
    alphabet=st.sampled_from("0123456789abcdefABCDEFxyzXYZ_-=+@.:T "), min_size=1, max_size=40
)


@settings(max_examples=500)
@given(tokens)
def test_classification_is_exactly_the_first_matching_regex(token: str) -> None:
    found = placeholder_for(token)
    for placeholder in (DATE, EMAIL, ID):
        regex_says = re.fullmatch(PLACEHOLDER_REGEX[placeholder], token) is not None
        if found == placeholder:
            assert regex_says
        elif found is None:
            assert not regex_says, f"{token!r} is literal but {placeholder}'s regex matches it"


@settings(max_examples=300)
@given(tokens)
def test_placeholder_regexes_never_overlap(token: str) -> None:
    matching = [p for p, regex in PLACEHOLDER_REGEX.items() if re.fullmatch(regex, token)]
    assert len(matching) <= 1, f"{token!r} matches {matching}"


def test_regexes_use_no_look_around_or_backreferences() -> None:
    for regex in PLACEHOLDER_REGEX.values():
        assert "(?=" not in regex and "(?!" not in regex and "(?<" not in regex
        assert not re.search(r"\\[1-9]", regex)
