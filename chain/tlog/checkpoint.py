"""C2SP signed notes (c2sp.org/signed-note), checkpoints (c2sp.org/tlog-checkpoint) and
witness cosignatures (c2sp.org/tlog-cosignature, cosignature/v1), with Ed25519 keys."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from schemas.encoding import b64, unb64
from schemas.errors import MalformedInput, VerificationError, WrongKey
from schemas.keys import Signer

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
_DASH = "\u2014 "
MAX_SIGNATURES = 100


def _valid_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


# c2sp.org/signed-note, "Signatures": key ID = SHA-256(name || 0x0A || type || key)[:4].
def key_id(name: str, sig_type: int, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    """A C2SP vkey: `name+hex(key id)+base64(type || public key)`."""

    name: str
    sig_type: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.sig_type, self.public_key)

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        # The base64 key may itself contain '+': split on the first two only.
        parts = text.strip().split("+", 2)
        if len(parts) != 3 or not _valid_name(parts[0]) or len(parts[1]) != 8:
            raise MalformedInput(f"{text.strip()!r} is not a C2SP vkey (name+keyid+key)")
        raw = unb64(parts[2], "vkey key")
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
            raise MalformedInput("vkey is not an Ed25519 (0x01) or cosignature/v1 (0x04) key")
        vkey = cls(parts[0], raw[0], raw[1:])
        if vkey.key_id.hex() != parts[1].lower():
            raise MalformedInput(f"vkey key id {parts[1]} does not match its name and key")
        return vkey

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{b64(bytes([self.sig_type]) + self.public_key)}"

    def check(self, message: bytes, signature: bytes) -> None:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature as exc:
            raise VerificationError(f"signature by {self.name} does not verify") from exc


def load_vkey(text: str) -> VerifierKey:
    """A vkey given as itself or as the path of a file holding it (a vkey always contains '+')."""
    path = Path(text)
    return VerifierKey.parse(path.read_text().strip() if "+" not in text and path.exists() else text)


def vkey_of(name: str, signer: Signer, sig_type: int = ED25519) -> VerifierKey:
    if not _valid_name(name):
        raise MalformedInput(f"{name!r} is not a key name (no spaces, no '+')")
    return VerifierKey(name, sig_type, signer.public_key)


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        return f"{_DASH}{self.name} {b64(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    """A signed note: text (ending in a newline) and its signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...] = field(default=())

    def __str__(self) -> str:
        return self.text + "\n" + "".join(s.line() for s in self.signatures)

    def by(self, vkey: VerifierKey) -> list[NoteSignature]:
        return [s for s in self.signatures if s.name == vkey.name and s.key_id == vkey.key_id]


def parse_note(data: str) -> Note:
    """Split a signed note at its last blank line; the text keeps its final newline."""
    if not data.endswith("\n"):
        raise MalformedInput("a signed note ends with a newline")
    cut = data.rfind("\n\n")
    if cut < 0:
        raise MalformedInput("a signed note has a blank line between text and signatures")
    text, sig_block = data[: cut + 1], data[cut + 2 :]
    sigs = []
    for line in sig_block.splitlines():
        if not line.startswith(_DASH):
            raise MalformedInput(f"signature line does not start with an em dash: {line[:40]!r}")
        name, _, b64 = line[len(_DASH) :].partition(" ")
        raw = unb64(b64, "signature")
        if not _valid_name(name) or len(raw) < 5:
            raise MalformedInput(f"malformed signature line: {line[:60]!r}")
        sigs.append(NoteSignature(name, raw[:4], raw[4:]))
    if not sigs or len(sigs) > MAX_SIGNATURES:
        raise MalformedInput(f"a signed note carries 1 to {MAX_SIGNATURES} signatures")
    return Note(text, tuple(sigs))


def sign_note(text: str, name: str, signer: Signer) -> Note:
    vkey = vkey_of(name, signer)
    return Note(text, (NoteSignature(name, vkey.key_id, signer.sign(text.encode())),))


def open_note(data: str, vkey: VerifierKey) -> Note:
    """Parse a note and check that `vkey` signed it; other signatures are kept unchecked."""
    note = parse_note(data)
    if vkey.sig_type != ED25519:
        raise MalformedInput("a note is opened with an Ed25519 (0x01) vkey")
    mine = note.by(vkey)
    if not mine:
        origin = note.text.split("\n", 1)[0]
        if origin != vkey.name:
            raise WrongKey(f"this ledger is {origin}; the vkey given is for {vkey.name}")
        raise VerificationError(f"note carries no signature by {vkey.name}+{vkey.key_id.hex()}")
    for sig in mine:
        vkey.check(note.text.encode(), sig.signature)
    return note


@dataclass(frozen=True)
class Checkpoint:
    """c2sp.org/tlog-checkpoint: origin, tree size and root hash."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{b64(self.root)}\n" + "".join(e + "\n" for e in self.extensions)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not lines[0]:
            raise MalformedInput("a checkpoint has an origin, a size and a root line")
        origin, size, root, *ext = lines[:-1]
        if not size.isdigit() or (size != "0" and size.startswith("0")):
            raise MalformedInput(f"checkpoint size {size!r} is not a decimal number")
        raw_root = unb64(root, "checkpoint root")
        if len(raw_root) != 32:
            raise MalformedInput("checkpoint root is not 32 bytes")
        return cls(origin, int(size), raw_root, tuple(ext))


def sign_checkpoint(cp: Checkpoint, signer: Signer) -> str:
    """The signed note text; the key name is the origin, as tlog-checkpoint recommends."""
    return str(sign_note(cp.text(), cp.origin, signer))


def verify_checkpoint(data: str, vkey: VerifierKey, origin: str | None = None) -> Checkpoint:
    note = open_note(data, vkey)
    cp = Checkpoint.parse(note.text)
    if cp.origin != (origin or vkey.name):
        raise VerificationError(f"checkpoint origin {cp.origin!r} is not {origin or vkey.name!r}")
    return cp


# c2sp.org/tlog-cosignature: the signed message and the 8-byte timestamp in the signature.
def _cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign(note_text: str, name: str, signer: Signer, timestamp: int) -> NoteSignature:
    vkey = vkey_of(name, signer, COSIGNATURE_V1)
    sig = signer.sign(_cosigned_message(note_text, timestamp))
    return NoteSignature(name, vkey.key_id, struct.pack(">Q", timestamp) + sig)


def verify_cosignature(data: str, vkey: VerifierKey) -> int:
    """Check a witness's cosignature/v1 on a checkpoint note; return its timestamp."""
    if vkey.sig_type != COSIGNATURE_V1:
        raise MalformedInput("a cosignature is verified with a cosignature/v1 (0x04) vkey")
    note = parse_note(data)
    mine = note.by(vkey)
    if not mine:
        raise VerificationError(f"note carries no cosignature by {vkey.name}")
    for sig in mine:
        if len(sig.signature) != 72:
            raise VerificationError(f"cosignature by {vkey.name} is not timestamp and signature")
        timestamp: int = struct.unpack(">Q", sig.signature[:8])[0]
        vkey.check(_cosigned_message(note.text, timestamp), sig.signature[8:])
    return timestamp
