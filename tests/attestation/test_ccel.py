"""The CC event log replayed to RTMR0-3: a log that does not replay to the quote is not this TD's boot."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from attestation.ccel import EV_NO_ACTION, SHA384, parse, replay, replay_check
from attestation.policy import AttestationPolicy
from attestation.result import Status
from attestation.tdx import verify_tdx
from ccr_agent import attest as attest_module
from ccr_agent.attest import Producer, produce_evidence
from ccr_agent.tsm import HardwareEvidence
from schemas.encoding import unb64
from tests.attestation.tdx_forge import PRODUCTION_TD, StandInPki

SHA1, SHA256 = 0x0004, 0x000B
EV_IPL, EV_EFI_BOOT_SERVICES_APPLICATION = 0x0000000D, 0x80000003
KERNEL, CMDLINE = hashlib.sha384(b"vmlinuz").digest(), hashlib.sha384(b"console=ttyS0 root=/dev/vda").digest()


def spec_id(algorithms=((SHA1, 20), (SHA384, 48))) -> bytes:  # type: ignore[no-untyped-def]
    body = b"Spec ID Event03\x00" + struct.pack("<IBBBBI", 0, 0, 2, 0, 2, len(algorithms))
    body += b"".join(struct.pack("<HH", alg, size) for alg, size in algorithms) + b"\x00"
    return struct.pack("<II", 0, EV_NO_ACTION) + bytes(20) + struct.pack("<I", len(body)) + body


def event(register: int, kind: int, digest: bytes, data: bytes = b"") -> bytes:
    digests = struct.pack("<H", SHA1) + hashlib.sha1(digest).digest() + struct.pack("<H", SHA384) + digest
    return struct.pack("<III", register, kind, 2) + digests + struct.pack("<I", len(data)) + data


def boot_log(kernel: bytes = KERNEL) -> bytes:
    """What a TD's firmware logs: its kernel into RTMR1, the command line into RTMR2, one event that extends nothing,
    then the padding that fills the ACPI CCEL region."""
    events = [
        event(2, EV_EFI_BOOT_SERVICES_APPLICATION, kernel, b"kernel"),
        event(3, EV_IPL, CMDLINE, b"console=ttyS0 root=/dev/vda"),
        event(2, EV_NO_ACTION, hashlib.sha384(b"not extended").digest()),
    ]
    return spec_id() + b"".join(events) + b"\xff" * 64


def expected_rtmrs() -> tuple[bytes, bytes, bytes, bytes]:
    zero = bytes(48)
    return zero, hashlib.sha384(zero + KERNEL).digest(), hashlib.sha384(zero + CMDLINE).digest(), zero


def test_the_log_replays_as_the_registers_were_extended() -> None:
    events = parse(boot_log())
    assert [(e.register, e.type) for e in events] == [(2, EV_EFI_BOOT_SERVICES_APPLICATION), (3, EV_IPL),
                                                      (2, EV_NO_ACTION)]  # fmt: skip
    assert replay(events) == expected_rtmrs()


@pytest.fixture(scope="module")
def pki() -> StandInPki:
    return StandInPki()


def event_log_check(pki: StandInPki, log: bytes):  # type: ignore[no-untyped-def]
    quote = pki.quote(td_attributes=PRODUCTION_TD, rtmrs=expected_rtmrs())
    result = verify_tdx(quote, policy=AttestationPolicy(), root=pki.root_pin, event_log=log)
    return next(c for c in result.checks if c.name == "event-log")


def test_a_log_that_replays_to_the_quotes_rtmrs_passes(pki: StandInPki) -> None:
    found = event_log_check(pki, boot_log())
    assert (found.status, found.reason) == (Status.PASS, "the CC event log's 3 events replay to RTMR0-3 of the quote")


def test_a_log_of_another_kernel_is_refused(pki: StandInPki) -> None:
    found = event_log_check(pki, boot_log(kernel=hashlib.sha384(b"another vmlinuz").digest()))
    assert found.status == Status.FAIL and "does not replay to the quote's RTMR1" in found.reason


@pytest.mark.parametrize(
    ("log", "says"),
    [
        (b"\x00" * 40, "too short for the Spec ID header"),
        (spec_id().replace(b"Event03", b"Event02") + event(2, EV_IPL, KERNEL), "not the TCG Spec ID event"),
        (spec_id(((SHA1, 20),)) + event(2, EV_IPL, KERNEL), "which the header does not list"),
        (spec_id() + event(2, EV_IPL, KERNEL)[:-10], "truncated"),
    ],
)
def test_a_log_that_does_not_parse_is_refused(pki: StandInPki, log: bytes, says: str) -> None:
    found = event_log_check(pki, log)
    assert found.status == Status.FAIL and says in found.reason


@given(st.binary(max_size=400), st.integers(min_value=0, max_value=600))
def test_any_bytes_give_a_check_never_an_exception(noise: bytes, cut: int) -> None:
    log = (boot_log()[:cut] + noise) if cut else noise
    assert replay_check(log, expected_rtmrs()).name == "event-log"


def test_the_agent_sends_the_tds_event_log_with_its_quote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tsm").mkdir()
    (tmp_path / "CCEL").write_bytes(boot_log())
    monkeypatch.setattr(attest_module, "tsm_report", lambda data, root: HardwareEvidence("tdx", b"quote", []))
    evidence = produce_evidence(bytes(64), Producer(tsm_root=tmp_path / "tsm", ccel=tmp_path / "CCEL"),
                                allow_simulated=False)  # fmt: skip
    assert evidence.event_log is not None and unb64(evidence.event_log) == boot_log()
