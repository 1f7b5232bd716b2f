"""The fast canonical check agrees with RFC 8785 wherever it answers, and defers where the encoders differ."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.canonical import canonical, is_canonical

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_the_canonical_bytes_are_recognised(value) -> None:
    assert is_canonical(value, canonical(value))


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_other_serialisations_are_not(value) -> None:
    spaced = json.dumps(value, sort_keys=False, separators=(", ", ": ")).encode()
    assert is_canonical(value, spaced) == (spaced == canonical(value))


@pytest.mark.parametrize("text", [b'{"a":1e-05}', b'{"a":0.00001E0}', b'{"b":1,"a":2}', b'{"a":9007199254740993}'])
def test_forms_rfc_8785_rejects_or_orders_differently_are_refused(text: bytes) -> None:
    assert not is_canonical(json.loads(text), text)
