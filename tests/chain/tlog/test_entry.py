import pytest
from hypothesis import given
from hypothesis import strategies as st

from chain.tlog import entry
from schemas import statement as s
from schemas.canonical import canonical
from schemas.errors import MalformedInput
from schemas.keys import Signer


@given(seq=st.integers(min_value=0, max_value=2**53 - 1), name=st.text(min_size=1, max_size=30))
def test_leaf_bytes_are_the_canonical_form_of_the_entry(seq, name):
    signer = Signer.generate()
    raw = s.sign(signer, "artefact.register", {"digest": "sha256:" + "0" * 64, "name": name, "kind": "log"})
    logged_at = entry.timestamp()
    leaf = entry.encode(seq, logged_at, s.from_raw(raw).canonical())
    assert leaf == canonical({"seq": seq, "logged_at": logged_at, "statement": raw})
    assert entry.decode(leaf).statement == raw


def test_leaf_bytes_not_in_canonical_form_are_refused():
    with pytest.raises(MalformedInput, match="canonical"):
        entry.decode(b'{"seq":0, "logged_at":"2026-01-01T00:00:00.000Z","statement":{}}')
