"""Sealed boxes to age X25519 keys: what a key broker uses to hand a dataset key to an attested clean room."""

from __future__ import annotations

import pyrage
import pytest

from schemas import bech32
from schemas.errors import BadSignature, MalformedInput
from schemas.keys import seal, unseal


def test_a_sealed_box_opens_only_with_the_recipients_identity() -> None:
    mine, other = pyrage.x25519.Identity.generate(), pyrage.x25519.Identity.generate()
    sealed = seal(str(mine.to_public()), b"AGE-SECRET-KEY-1...")
    assert unseal(str(mine), sealed) == b"AGE-SECRET-KEY-1..."
    with pytest.raises(BadSignature):
        unseal(str(other), sealed)


def test_the_recipient_key_is_the_identitys_public_key() -> None:
    identity = pyrage.x25519.Identity.generate()
    hrp, public = bech32.decode(str(identity.to_public()))
    assert hrp == "age" and len(public) == 32


@pytest.mark.parametrize("text", ["age1qqqq", "not bech32", "age1" + "q" * 58])
def test_a_malformed_recipient_is_refused(text: str) -> None:
    with pytest.raises(MalformedInput):
        seal(text, b"x")


def test_a_changed_character_breaks_the_checksum() -> None:
    recipient = str(pyrage.x25519.Identity.generate().to_public())
    flipped = recipient[:-1] + ("q" if recipient[-1] != "q" else "p")
    with pytest.raises(ValueError, match="checksum"):
        bech32.decode(flipped)
