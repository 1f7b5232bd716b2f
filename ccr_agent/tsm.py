"""Hardware evidence through Linux configfs-tsm (Documentation/ABI/testing/configfs-tsm-report).

One report entry per request: mkdir, write inblob (the 64-byte REPORT_DATA), read outblob and auxblob,
check `generation` so a concurrent writer cannot swap the report, rmdir.
"""

from __future__ import annotations

import os
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

TSM_REPORTS = Path("/sys/kernel/config/tsm/report")
HardwareType = Literal["sev-snp", "tdx"]
PROVIDERS: dict[str, HardwareType] = {"sev_guest": "sev-snp", "tdx_guest": "tdx"}
# GHCB specification 56421, section 4.1.8.1: the certificate table's GUIDs.
CERT_GUIDS = {
    uuid.UUID("63da758d-e664-4564-adc5-f4b93be8accd"): "VCEK",
    uuid.UUID("a8074bc2-a25a-483e-aae6-39c045a0b8a1"): "VLEK",
    uuid.UUID("4ab7b379-bbac-4fe4-a02f-05aef327c782"): "ASK",
    uuid.UUID("c0b406a4-a803-4952-9743-3fb6014cd0ae"): "ARK",
}
_ENTRY = struct.Struct("<16sII")


class TeeUnavailable(RuntimeError):
    """No hardware TEE answered; the message says what was tried."""


class Configfs(Protocol):
    """The four operations the report ABI needs; tests pass a fake kernel."""

    def mkdir(self, path: Path) -> None: ...
    def rmdir(self, path: Path) -> None: ...
    def read(self, path: Path) -> bytes: ...
    def write(self, path: Path, data: bytes) -> None: ...


class LinuxConfigfs:
    def mkdir(self, path: Path) -> None:
        path.mkdir()

    def rmdir(self, path: Path) -> None:
        path.rmdir()

    def read(self, path: Path) -> bytes:
        return path.read_bytes()

    def write(self, path: Path, data: bytes) -> None:
        path.write_bytes(data)


@dataclass(frozen=True)
class HardwareEvidence:
    type: HardwareType
    report: bytes
    certs: list[str]


def tsm_report(
    report_data: bytes, *, root: Path = TSM_REPORTS, privlevel: int | None = None, fs: Configfs | None = None
) -> HardwareEvidence:
    """A fresh SEV-SNP report or TDX quote over report_data, with the host's certificates when it has them."""
    if len(report_data) != 64:
        raise ValueError(f"REPORT_DATA is 64 bytes, got {len(report_data)}")
    fs = fs or LinuxConfigfs()
    if not root.is_dir():
        raise TeeUnavailable(f"{root} does not exist: no configfs-tsm (Linux 6.7+ in an SEV-SNP or TDX guest)")
    entry = root / f"depa-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    fs.mkdir(entry)
    try:
        provider = fs.read(entry / "provider").decode().strip()
        if provider not in PROVIDERS:
            raise TeeUnavailable(f"configfs-tsm provider {provider!r} is not one of {', '.join(PROVIDERS)}")
        before = int(fs.read(entry / "generation"))
        writes = 1
        if privlevel is not None:
            fs.write(entry / "privlevel", str(privlevel).encode())
            writes += 1
        fs.write(entry / "inblob", report_data)
        outblob = fs.read(entry / "outblob")
        auxblob = _read_optional(fs, entry / "auxblob")
        after = int(fs.read(entry / "generation"))
        if after != before + writes:
            raise TeeUnavailable("another writer changed the report entry while it was read; retry")
    finally:
        fs.rmdir(entry)
    evidence_type = PROVIDERS[provider]
    certs = cert_table(auxblob) if evidence_type == "sev-snp" and auxblob else []
    return HardwareEvidence(type=evidence_type, report=outblob, certs=certs)


def _read_optional(fs: Configfs, path: Path) -> bytes:
    try:
        return fs.read(path)
    except FileNotFoundError:
        return b""


def cert_table(table: bytes) -> list[str]:
    """The host's certificates (GHCB extended guest request table: GUID, offset, length; all-zero entry ends it)."""
    certs: list[str] = []
    for offset in range(0, len(table) - _ENTRY.size + 1, _ENTRY.size):
        guid, at, length = _ENTRY.unpack_from(table, offset)
        if guid == bytes(16):
            return certs
        if uuid.UUID(bytes=guid) in CERT_GUIDS and at + length <= len(table):
            der = table[at : at + length]
            certs.append(x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode())
    raise ValueError("the certificate table has no terminating entry")
