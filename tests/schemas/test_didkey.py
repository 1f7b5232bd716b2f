import pytest

from schemas import didkey
from schemas.errors import MalformedInput

# RFC 8032 section 7.1 TEST 1 public key and its did:key.
RFC8032_PK = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
RFC8032_DID = "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"


def test_encodes_a_known_ed25519_key():
    assert didkey.encode(RFC8032_PK) == RFC8032_DID


def test_decodes_back_to_the_key():
    assert didkey.decode(RFC8032_DID) == RFC8032_PK


@pytest.mark.parametrize(
    "bad",
    [
        "did:web:example.com",
        "did:key:6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw",  # no multibase prefix
        "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMs",  # truncated
        "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",  # secp256k1, not Ed25519
        "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMs0",  # 0 is not base58
        "",
    ],
)
def test_rejects_malformed_did(bad):
    with pytest.raises(MalformedInput):
        didkey.decode(bad)


def test_rejects_a_key_of_the_wrong_length():
    with pytest.raises(MalformedInput):
        didkey.encode(b"\x01" * 31)
