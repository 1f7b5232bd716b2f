"""Evidence producers: configfs-tsm against a fake kernel, /dev/sev-guest against a fake ioctl, and the fallbacks."""

from __future__ import annotations

import ctypes
import struct
import uuid
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from attestation.certificates import load_certificates
from attestation.evidence import verify_evidence
from attestation.policy import AttestationPolicy
from attestation.snp import verify_snp
from ccr_agent.attest import Producer, produce_evidence
from ccr_agent.sevguest import SNP_GET_REPORT, sev_guest_report
from ccr_agent.simulated import SimulatedTee
from ccr_agent.tsm import CERT_GUIDS, TeeUnavailable, cert_table, tsm_report
from schemas.encoding import unb64

REPORT_DATA = bytes(range(64))
GUIDS = {name: guid for guid, name in CERT_GUIDS.items()}


def table_of(certs: dict[str, bytes]) -> bytes:
    """A GHCB certificate table as the host hands it over: entries, an all-zero terminator, then the DER blobs."""
    header = (len(certs) + 1) * 24
    entries, blobs = b"", b""
    for name, der in certs.items():
        entries += GUIDS[name].bytes + struct.pack("<II", header + len(blobs), len(der))
        blobs += der
    return entries + bytes(24) + blobs


class FakeTsm:
    """The kernel's side of configfs-tsm, on a real folder: entries get attributes, inblob makes a report."""

    def __init__(self, root: Path, provider: str, make_report, auxblob: bytes = b"", racer: bool = False) -> None:
        self.root, self.provider, self.make_report, self.auxblob, self.racer = (
            root,
            provider,
            make_report,
            auxblob,
            racer,
        )
        self.removed: list[Path] = []
        root.mkdir(parents=True, exist_ok=True)

    def mkdir(self, path: Path) -> None:
        path.mkdir()
        (path / "provider").write_text(self.provider + "\n")
        (path / "generation").write_text("0\n")

    def rmdir(self, path: Path) -> None:
        for child in path.iterdir():
            child.unlink()
        path.rmdir()
        self.removed.append(path)

    def read(self, path: Path) -> bytes:
        return path.read_bytes()

    def write(self, path: Path, data: bytes) -> None:
        path.write_bytes(data)
        entry = path.parent
        bump = 2 if self.racer else 1
        (entry / "generation").write_text(str(int((entry / "generation").read_text()) + bump))
        if path.name == "inblob":
            (entry / "outblob").write_bytes(self.make_report(data))
            if self.auxblob:
                (entry / "auxblob").write_bytes(self.auxblob)


def test_configfs_tsm_yields_a_verifiable_sev_snp_report_with_the_hosts_certificates(
    tmp_path: Path, simulator: SimulatedTee
) -> None:
    vcek, ask, ark = (c.public_bytes(Encoding.DER) for c in simulator.chain)
    fake = FakeTsm(tmp_path / "report", "sev_guest", simulator.report, table_of({"VCEK": vcek, "ASK": ask, "ARK": ark}))
    evidence = tsm_report(REPORT_DATA, root=fake.root, fs=fake)
    assert evidence.type == "sev-snp"
    assert len(evidence.certs) == 3

    certs = [c for pem in evidence.certs for c in load_certificates(pem.encode())]
    result = verify_snp(
        evidence.report, certs, roots=(simulator.root,), policy=AttestationPolicy(report_data=REPORT_DATA.hex())
    )
    assert result.verified


def test_the_report_entry_is_removed_afterwards(tmp_path: Path, simulator: SimulatedTee) -> None:
    fake = FakeTsm(tmp_path / "report", "sev_guest", simulator.report)
    tsm_report(REPORT_DATA, root=fake.root, fs=fake)
    assert len(fake.removed) == 1 and not fake.removed[0].exists()


def test_tdx_guests_give_a_quote_without_certificates(tmp_path: Path) -> None:
    fake = FakeTsm(tmp_path / "report", "tdx_guest", lambda data: b"quote:" + data)
    evidence = tsm_report(REPORT_DATA, root=fake.root, fs=fake)
    assert evidence.type == "tdx"
    assert evidence.report == b"quote:" + REPORT_DATA
    assert evidence.certs == []


def test_privlevel_is_written_before_the_request(tmp_path: Path, simulator: SimulatedTee) -> None:
    fake = FakeTsm(tmp_path / "report", "sev_guest", simulator.report)
    seen = []
    original = fake.write
    fake.write = lambda path, data: (seen.append(path.name), original(path, data))[1]
    tsm_report(REPORT_DATA, root=fake.root, fs=fake, privlevel=2)
    assert seen == ["privlevel", "inblob"]


def test_a_concurrent_writer_is_detected_by_generation(tmp_path: Path, simulator: SimulatedTee) -> None:
    fake = FakeTsm(tmp_path / "report", "sev_guest", simulator.report, racer=True)
    with pytest.raises(TeeUnavailable, match="another writer"):
        tsm_report(REPORT_DATA, root=fake.root, fs=fake)
    assert len(fake.removed) == 1


def test_an_unknown_provider_is_refused(tmp_path: Path) -> None:
    fake = FakeTsm(tmp_path / "report", "arm_cca_guest", lambda data: data)
    with pytest.raises(TeeUnavailable, match="arm_cca_guest"):
        tsm_report(REPORT_DATA, root=fake.root, fs=fake)


def test_no_configfs_tsm_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(TeeUnavailable, match="configfs-tsm"):
        tsm_report(REPORT_DATA, root=tmp_path / "absent")


def test_report_data_must_be_64_bytes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        tsm_report(b"short", root=tmp_path)


def test_a_certificate_table_without_its_terminator_is_refused() -> None:
    with pytest.raises(ValueError, match="terminating"):
        cert_table(uuid.uuid4().bytes + struct.pack("<II", 0, 0))


def test_the_sev_guest_ioctl_request_carries_report_data_and_vmpl(tmp_path: Path, simulator: SimulatedTee) -> None:
    device = tmp_path / "sev-guest"
    device.write_bytes(b"")
    seen = {}

    def fake_ioctl(fd: int, request: int, call) -> int:
        seen["request"] = request
        raw = ctypes.string_at(call.req_data, 96)
        seen["vmpl"] = struct.unpack_from("<I", raw, 64)[0]
        report = simulator.report(raw[:64])
        response = struct.pack("<II", 0, len(report)) + bytes(24) + report
        ctypes.memmove(call.resp_data, response, len(response))
        return 0

    report = sev_guest_report(REPORT_DATA, vmpl=1, device=device, ioctl=fake_ioctl)
    assert seen == {"request": SNP_GET_REPORT, "vmpl": 1}
    assert SNP_GET_REPORT == 0xC0205300  # _IOWR('S', 0, 32-byte struct), as in linux/sev-guest.h
    assert report[0x50:0x90] == REPORT_DATA


def test_a_firmware_error_from_sev_guest_is_reported(tmp_path: Path) -> None:
    device = tmp_path / "sev-guest"
    device.write_bytes(b"")

    def failing_ioctl(fd: int, request: int, call) -> int:
        call.exitinfo2 = 0x16
        raise OSError(5, "Input/output error")

    with pytest.raises(TeeUnavailable, match="firmware error 0x16"):
        sev_guest_report(REPORT_DATA, device=device, ioctl=failing_ioctl)


def test_a_missing_sev_guest_device_is_reported(tmp_path: Path) -> None:
    with pytest.raises(TeeUnavailable, match="not an SEV-SNP guest"):
        sev_guest_report(REPORT_DATA, device=tmp_path / "absent")


def test_without_a_tee_the_simulator_is_used_only_when_allowed(tmp_path: Path, simulator: SimulatedTee) -> None:
    producer = Producer(tsm_root=tmp_path / "no-tsm", sev_device=tmp_path / "no-dev", simulator=simulator)
    with pytest.raises(TeeUnavailable, match="a simulated one is not allowed"):
        produce_evidence(REPORT_DATA, producer, allow_simulated=False)
    evidence = produce_evidence(REPORT_DATA, producer, allow_simulated=True)
    assert evidence.type == "simulated"
    result = verify_evidence(
        evidence, AttestationPolicy(report_data=REPORT_DATA.hex()), simulated_roots=(simulator.root,)
    )
    assert result.verified and result.security == "insecure-simulated"


def test_a_tee_is_preferred_to_the_simulator(tmp_path: Path, simulator: SimulatedTee, monkeypatch) -> None:
    root = tmp_path / "report"
    root.mkdir()
    fake = FakeTsm(root, "sev_guest", simulator.report)
    monkeypatch.setattr("ccr_agent.attest.tsm_report", lambda data, root: tsm_report(data, root=root, fs=fake))
    evidence = produce_evidence(REPORT_DATA, Producer(tsm_root=root, simulator=simulator), allow_simulated=True)
    assert evidence.type == "sev-snp"
    assert unb64(evidence.report)[0x50:0x90] == REPORT_DATA
