"""Bech32 (BIP 173) decoding, for the raw X25519 keys inside age's `age1...` and `AGE-SECRET-KEY-1...` strings."""

from __future__ import annotations

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= _GEN[i] if (top >> i) & 1 else 0
    return chk


def decode(text: str) -> tuple[str, bytes]:
    """(human-readable part, data bytes); ValueError for a bad string or checksum."""
    lowered = text.lower()
    if text not in (lowered, text.upper()) or "1" not in lowered:
        raise ValueError("not a bech32 string")
    hrp, _, rest = lowered.rpartition("1")
    if not hrp or len(rest) < 6 or any(c not in CHARSET for c in rest):
        raise ValueError("not a bech32 string")
    values = [CHARSET.index(c) for c in rest]
    if _polymod([ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + values) != 1:
        raise ValueError("bech32 checksum does not match")
    acc, bits, out = 0, 0, bytearray()
    for v in values[:-6]:
        acc, bits = (acc << 5) | v, bits + 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or (acc & ((1 << bits) - 1)):
        raise ValueError("bech32 padding is not zero")
    return hrp, bytes(out)
