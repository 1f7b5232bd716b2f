"""Read attestation evidence as people have it: raw, hex, PEM, DER, Azure HCL, vendor JSON, our own JSON."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from chain.attestation.certificates import load_certificates
from chain.attestation.hcl import is_hcl
from chain.attestation.snp_report import REPORT_SIZE
from chain.attestation.tdx_quote import TEE_TDX
from schemas.encoding import b64
from schemas.errors import MalformedInput
from schemas.statement import AttestationReport, Evidence

REMEDY = "pass reports, quotes, certificates or evidence JSON as the vendors write them"


@dataclass
class EvidenceItem:
    source: str
    evidence: Evidence
    attestation: AttestationReport | None = None


@dataclass
class EvidenceFiles:
    items: list[EvidenceItem] = field(default_factory=list)
    certs: list[x509.Certificate] = field(default_factory=list)


def load(paths: list[Path]) -> EvidenceFiles:
    """Sort every file into reports (SEV-SNP, HCL, TDX) and certificates; refuse what is neither."""
    found = EvidenceFiles()
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _unreadable(f"cannot read {path}: {exc.strerror}") from exc
        _classify(str(path), data, found)
    return found


def _classify(source: str, data: bytes, found: EvidenceFiles) -> None:
    """Binary layouts first: a TDX quote embeds PEM, and vendor JSON embeds PEM in strings."""
    if data.lstrip().startswith(b"{"):
        _json(source, data, found)
    elif _is_snp(data) or is_hcl(data):
        found.items.append(EvidenceItem(source, Evidence(type="sev-snp", report=b64(data))))
    elif _is_tdx(data):
        found.items.append(EvidenceItem(source, Evidence(type="tdx", report=b64(data))))
    elif b"-----BEGIN CERTIFICATE-----" in data or data[:2] == b"\x30\x82":  # DER certificates are over 255 bytes
        try:
            found.certs += load_certificates(data)
        except ValueError as exc:
            raise _unreadable(f"{source}: a certificate that does not parse ({exc})".splitlines()[0]) from exc
    elif (decoded := _hex(data)) is not None:
        _classify(source, decoded, found)
    else:
        raise _unreadable(f"{source}: not an SEV-SNP report, Azure HCL report, TDX quote, certificate or evidence JSON")


def _unreadable(detail: str) -> MalformedInput:
    return MalformedInput(detail, remedy=REMEDY)


def _is_snp(data: bytes) -> bool:
    return len(data) == REPORT_SIZE and 2 <= struct.unpack_from("<I", data)[0] <= 5


def _is_tdx(data: bytes) -> bool:
    return (
        len(data) > 48
        and struct.unpack_from("<H", data)[0] in (4, 5)
        and struct.unpack_from("<I", data, 4)[0] == TEE_TDX
    )


def _hex(data: bytes) -> bytes | None:
    try:
        return bytes.fromhex(data.decode("ascii").replace("\n", "").replace(" ", "").strip())
    except (UnicodeDecodeError, ValueError):
        return None


def _json(source: str, data: bytes, found: EvidenceFiles) -> None:
    """Our attestation.report body or Evidence, trustee's az-snp-vtpm evidence, or an ACI certificate bundle."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise _unreadable(f"{source}: not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise _unreadable(f"{source}: a JSON evidence file is an object")
    try:
        if "evidence" in doc and "binding" in doc:
            body = AttestationReport.model_validate(doc)
            found.items.append(EvidenceItem(source, body.evidence, body))
        elif {"type", "report"} <= doc.keys():
            found.items.append(EvidenceItem(source, Evidence.model_validate(doc)))
        elif isinstance(doc.get("report"), list):
            found.items.append(EvidenceItem(source, Evidence(type="sev-snp", report=b64(bytes(doc["report"])))))
            found.certs += load_certificates(doc["vcek"].encode()) if doc.get("vcek") else []
        elif "vcekCert" in doc:
            pem = doc["vcekCert"] + doc.get("certificateChain", "")
            found.certs += load_certificates(pem.encode())
        else:
            raise _unreadable(f"{source}: JSON with neither evidence nor certificates in a known layout")
    except (ValueError, TypeError) as exc:
        raise _unreadable(f"{source}: {exc}".splitlines()[0]) from exc
