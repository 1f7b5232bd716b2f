"""Just enough DER to read the vendor extensions of AMD and Intel certificates (X.690 section 8)."""

from __future__ import annotations

from collections.abc import Iterator

INTEGER, OCTET_STRING, OID, UTF8_STRING, IA5_STRING, SEQUENCE = 0x02, 0x04, 0x06, 0x0C, 0x16, 0x30


class DerError(ValueError):
    pass


def read_tlv(data: bytes, offset: int = 0) -> tuple[int, bytes, int]:
    """One tag-length-value at offset: (tag, value, offset after it). Definite lengths only, as DER requires."""
    if offset + 2 > len(data):
        raise DerError("truncated DER element")
    tag, first = data[offset], data[offset + 1]
    offset += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or offset + count > len(data):
            raise DerError("bad DER length")
        length = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    end = offset + length
    if end > len(data):
        raise DerError("truncated DER value")
    return tag, data[offset:end], end


def children(value: bytes) -> Iterator[tuple[int, bytes]]:
    """The elements inside a constructed value (a SEQUENCE's contents)."""
    offset = 0
    while offset < len(value):
        tag, inner, offset = read_tlv(value, offset)
        yield tag, inner


def expect(data: bytes, tag: int) -> bytes:
    """The value of a single whole element of the given tag."""
    got, value, end = read_tlv(data)
    if got != tag or end != len(data):
        raise DerError(f"expected DER tag {tag:#x}, found {got:#x}")
    return value


def integer(data: bytes) -> int:
    return int.from_bytes(expect(data, INTEGER), "big", signed=True)


def oid(value: bytes) -> str:
    """The dotted form of an OBJECT IDENTIFIER's contents (X.690 section 8.19)."""
    if not value:
        raise DerError("empty OID")
    if value[-1] & 0x80:
        raise DerError("truncated OID: its last arc has the continuation bit set")
    arcs, current = [], 0
    for byte in value:
        if current == 0 and byte == 0x80:
            raise DerError("OID arc with a leading 0x80 byte (not minimal DER)")
        current = (current << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(current)
            current = 0
    first = min(arcs[0] // 40, 2)
    return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])
