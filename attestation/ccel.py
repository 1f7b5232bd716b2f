"""The TDX confidential-computing event log (CCEL): what the firmware and boot loader measured into RTMR0-3, event
by event, replayed to the values the quote carries.

The log is the TCG crypto-agile format (TCG PC Client Platform Firmware Profile, section 10): a Spec ID event,
then TCG_PCR_EVENT2 records. In the CCEL the PCR index is the CC measurement register: 0 is MRTD, 1 to 4 are
RTMR0 to RTMR3. Replay extends each register from zero: RTMR = SHA-384(RTMR || event digest). A log that replays
to the quote's RTMRs says what the kernel, initrd and command line were; one that does not is refused.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from attestation.result import Check, check, failed

SHA384, EV_NO_ACTION = 0x000C, 0x00000003
_SPEC_ID = b"Spec ID Event03\x00"


class EventLogError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Event:
    register: int  # the CC measurement register: 0 MRTD, 1-4 RTMR0-3
    type: int
    digest: bytes  # SHA-384
    data: bytes


def parse(log: bytes) -> list[Event]:
    """Every event after the Spec ID header, up to the padding that fills the rest of the CCEL region."""
    sizes, offset = _spec_id(log)
    events = []
    while offset + 8 <= len(log) and log[offset : offset + 4] not in (b"\xff" * 4, b"\x00" * 4):
        register, kind, count = _unpack("<III", log, offset)
        offset += 12
        digest = None
        for _ in range(count):
            (alg,) = _unpack("<H", log, offset)
            if alg not in sizes:
                raise EventLogError(f"an event holds a digest of algorithm {alg:#06x}, which the header does not list")
            value = log[offset + 2 : offset + 2 + sizes[alg]]
            if len(value) != sizes[alg]:
                raise EventLogError("an event's digest is truncated")
            digest = value if alg == SHA384 else digest
            offset += 2 + sizes[alg]
        (size,) = _unpack("<I", log, offset)
        data = log[offset + 4 : offset + 4 + size]
        if len(data) != size:
            raise EventLogError("an event's data is truncated")
        offset += 4 + size
        if digest is None:
            raise EventLogError("an event carries no SHA-384 digest")
        events.append(Event(register, kind, digest, data))
    return events


def replay(events: list[Event]) -> tuple[bytes, bytes, bytes, bytes]:
    """RTMR0-3 as the events extend them from zero (EV_NO_ACTION events extend nothing)."""
    rtmrs = [bytes(48)] * 4
    for event in events:
        if 1 <= event.register <= 4 and event.type != EV_NO_ACTION:
            rtmrs[event.register - 1] = hashlib.sha384(rtmrs[event.register - 1] + event.digest).digest()
    return rtmrs[0], rtmrs[1], rtmrs[2], rtmrs[3]


def replay_check(log: bytes, quoted: tuple[bytes, ...]) -> Check:
    try:
        events = parse(log)
    except EventLogError as exc:
        return failed("event-log", f"the CC event log does not parse: {exc}")
    replayed = replay(events)
    wrong = [f"RTMR{i}" for i in range(4) if replayed[i] != quoted[i]]
    return check(
        "event-log",
        not wrong,
        f"the CC event log's {len(events)} events replay to RTMR0-3 of the quote",
        f"the CC event log does not replay to the quote's {', '.join(wrong)}: it is not this TD's boot",
    )


def _spec_id(log: bytes) -> tuple[dict[int, int], int]:
    """The digest sizes the header lists, and where the first TCG_PCR_EVENT2 starts."""
    if len(log) < 32 + 24:
        raise EventLogError("too short for the Spec ID header")
    (size,) = _unpack("<I", log, 28)  # after PCR index, event type and a 20-byte SHA-1 digest
    header = log[32 : 32 + size]
    if len(header) != size or not header.startswith(_SPEC_ID):
        raise EventLogError("the first event is not the TCG Spec ID event (crypto-agile format)")
    (count,) = _unpack("<I", header, 24)
    sizes = {}
    for i in range(count):
        alg, digest_size = _unpack("<HH", header, 28 + 4 * i)
        sizes[alg] = digest_size
    return sizes, 32 + size


def _unpack(fmt: str, data: bytes, offset: int) -> tuple[int, ...]:
    try:
        return struct.unpack_from(fmt, data, offset)
    except struct.error:
        raise EventLogError("the event log is truncated") from None
