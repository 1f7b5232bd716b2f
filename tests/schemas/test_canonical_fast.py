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


WIDE = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


def _jcs(value) -> bytes | None:
    try:
        return canonical(value)
    except Exception:
        return None


@settings(max_examples=600, deadline=None)
@given(WIDE)
def test_the_standard_librarys_compact_sorted_form_passes_only_where_it_is_rfc_8785(value) -> None:
    """The fast path's own encoder, fed numbers JCS formats differently or refuses (past 2^53)."""
    compact = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert is_canonical(value, compact) == (compact == _jcs(value))


@pytest.mark.parametrize("value", [1e-05, -1.5e300, 2**60, -(2**60), [1e21], [2**60]])
def test_a_bare_number_or_array_that_jcs_writes_differently_is_refused(value) -> None:
    compact = json.dumps(value).replace(" ", "").encode()
    assert is_canonical(value, compact) == (compact == _jcs(value))
