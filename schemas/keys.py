"""Keys on disk in the formats other tools read: Ed25519 PKCS#8 PEM and age X25519 identities."""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

import pyrage
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.signing import VerifyKey

from schemas import bech32, didkey
from schemas.errors import BadSignature, MalformedInput


class Signer:
    """An Ed25519 private key with its did:key."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_key = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.did = didkey.encode(self.public_key)

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes) -> Signer:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as exc:
            raise MalformedInput(f"not an unencrypted PKCS#8 PEM private key: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise MalformedInput("the PEM key is not Ed25519 (openssl genpkey -algorithm ed25519)")
        return cls(key)

    @classmethod
    def load(cls, path: str | Path) -> Signer:
        try:
            return cls.from_pem(Path(path).read_bytes())
        except OSError as exc:
            raise MalformedInput(f"cannot read signing key {path}: {exc.strerror}") from exc

    def pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


@lru_cache(maxsize=65536)
def _public_key(did: str) -> VerifyKey:
    return VerifyKey(didkey.decode(did))


def verify(did: str, message: bytes, signature: bytes) -> None:
    """Check an Ed25519 signature by the key of a did:key; raise BadSignature if it fails.

    libsodium (PyNaCl) rather than OpenSSL: it is faster here and releases the GIL.
    """
    if len(signature) != 64:
        raise BadSignature(f"an Ed25519 signature is 64 bytes, not {len(signature)}")
    try:
        _public_key(did).verify(message, signature)
    except BadSignatureError as exc:
        raise BadSignature(f"signature does not verify under {did}") from exc


def age_recipient(recipient: str) -> str:
    """Validate an age X25519 recipient (`age1...`)."""
    try:
        pyrage.x25519.Recipient.from_str(recipient)
    except (pyrage.RecipientError, ValueError, TypeError) as exc:
        raise MalformedInput(f"{recipient!r} is not an age X25519 recipient (age1...)") from exc
    return recipient


def _x25519(text: str, hrp: str) -> bytes:
    try:
        found, key = bech32.decode(text.strip())
    except ValueError as exc:
        raise MalformedInput(f"not an age X25519 key: {exc}") from exc
    if found != hrp or len(key) != 32:
        raise MalformedInput(f"not an age X25519 key ({hrp}1...)")
    return key


def seal(recipient: str, message: bytes) -> bytes:
    """A NaCl sealed box to an age X25519 recipient: only the holder of its identity opens it."""
    return SealedBox(PublicKey(_x25519(recipient, "age"))).encrypt(message)


def unseal(identity: str, sealed: bytes) -> bytes:
    try:
        return SealedBox(PrivateKey(_x25519(identity, "age-secret-key-"))).decrypt(sealed)
    except CryptoError as exc:
        raise BadSignature("the sealed box does not open with this identity") from exc


def write_secret(path: Path, data: bytes) -> None:
    """Write a secret file readable by its owner only; refuse to overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _key_paths(directory: Path, name: str) -> tuple[Path, Path]:
    """NAME.pem and NAME.age in DIRECTORY; NAME is a plain file name, so it cannot reach outside DIRECTORY."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name) or ".." in name:
        raise MalformedInput(
            f"a key name is letters, digits, '.', '_' and '-', not {name!r}",
            remedy="name the key, e.g. bank; --dir says where",
        )
    return directory / f"{name}.pem", directory / f"{name}.age"


def new_identity(directory: Path, name: str) -> tuple[Signer, str]:
    """Create NAME.pem (Ed25519 PKCS#8) and NAME.age (age identity) in DIRECTORY, mode 0600.

    Returns the signer and the age recipient.
    """
    pem_path, age_path = _key_paths(directory, name)
    directory.mkdir(parents=True, exist_ok=True)
    for path in (pem_path, age_path):
        if path.exists():
            raise MalformedInput(f"{path} exists; choose another name or remove it")
    signer = Signer.generate()
    identity = pyrage.x25519.Identity.generate()
    recipient = str(identity.to_public())
    write_secret(pem_path, signer.pem())
    write_secret(age_path, f"# public key: {recipient}\n{identity}\n".encode())
    return signer, recipient


def load_identity(directory: Path, name: str) -> tuple[Signer, str]:
    """The signer in NAME.pem and the age recipient of NAME.age, as `new_identity` made them."""
    pem_path, age_path = _key_paths(directory, name)
    if not pem_path.exists():
        remedy = f"make one with: depa-chain keys new {name} --dir {directory}"
        raise MalformedInput(f"no key {pem_path}", remedy=remedy)
    identity = pyrage.x25519.Identity.from_str(read_identity(age_path))
    return Signer.load(pem_path), str(identity.to_public())


def read_identity(path: Path) -> str:
    """The AGE-SECRET-KEY-1... line of an age identity file (what age-keygen writes)."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise MalformedInput(f"cannot read identity {path}: {exc.strerror}") from exc
    found = [line.strip() for line in lines if line.strip().startswith("AGE-SECRET-KEY-1")]
    if len(found) != 1:
        raise MalformedInput(f"{path} holds {len(found)} age identities, not one")
    return found[0]
