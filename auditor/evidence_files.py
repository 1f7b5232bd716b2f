"""Read attestation evidence as people have it: raw, hex, PEM, DER, Azure HCL, vendor JSON, our own JSON."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from attestation.certificates import load_certificates
from attestation.hcl import is_hcl
from attestation.snp_report import REPORT_SIZE
from attestation.tdx_quote import TEE_TDX
from schemas.encoding import b64
from schemas.errors import MalformedInput
from schemas.statement import AttestationReport, Evidence, TdxCollateral

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


# Intel PCS's responses as saved to a folder: each document's body, its issuer chain (PCS sends it in a header),
# and the CRLs.
PCS_FILES = {
    "tcb_info": ("tcb_info.json", "tcbInfo"),
    "qe_identity": ("qe_identity.json", "enclaveIdentity"),
}


def load_collateral(path: Path) -> TdxCollateral:
    """Intel's collateral for TDX: dcap-qvl's QuoteCollateralV3 JSON, or a folder of Intel PCS responses
    (tcb_info.json, qe_identity.json, their *_issuer_chain.pem, and pck_crl.der or root_ca_crl.der if saved)."""
    if not path.exists():
        raise MalformedInput(f"collateral {path} does not exist", remedy=COLLATERAL_REMEDY)
    try:
        if path.is_dir():
            return TdxCollateral.model_validate(_pcs_folder(path))
        return TdxCollateral.model_validate(json.loads(path.read_text()))
    except FileNotFoundError as exc:
        missing = Path(exc.filename).name
        raise MalformedInput(f"collateral {path}: {missing} is missing", remedy=COLLATERAL_REMEDY) from None
    except (ValueError, UnicodeDecodeError) as exc:
        detail = exc.errors()[0]["msg"] if hasattr(exc, "errors") else str(exc)
        raise MalformedInput(
            f"collateral {path} is not Intel's TDX collateral: {detail}", remedy=COLLATERAL_REMEDY
        ) from None


COLLATERAL_REMEDY = "give dcap-qvl's collateral JSON or a folder of Intel PCS responses (tcb_info.json, ...)"


def _pcs_folder(folder: Path) -> dict[str, str]:
    fields = {}
    for name, (file, key) in PCS_FILES.items():
        body = (folder / file).read_text()
        fields[name], fields[f"{name}_signature"] = _signed_member(body, key), json.loads(body)["signature"]
        fields[f"{name}_issuer_chain"] = (folder / f"{name}_issuer_chain.pem").read_text()
    for crl in ("pck_crl", "root_ca_crl"):
        if (folder / f"{crl}.der").exists():
            fields[crl] = (folder / f"{crl}.der").read_bytes().hex()
    return fields


def _signed_member(body: str, key: str) -> str:
    """The exact text of the body's `key` member: Intel signs those bytes, not any re-serialisation of them."""
    decoder = json.JSONDecoder()
    start = body.index(f'"{key}"') + len(key) + 2
    start = body.index(":", start) + 1
    while body[start].isspace():
        start += 1
    _, end = decoder.raw_decode(body, start)
    return body[start:end]


def load_crl(path: Path) -> str:
    """A CRL as PEM, from PEM or DER (AMD KDS serves DER)."""
    try:
        data = path.read_bytes()
        crl = x509.load_pem_x509_crl(data) if b"-----BEGIN X509 CRL-----" in data else x509.load_der_x509_crl(data)
    except OSError as exc:
        raise MalformedInput(f"CRL {path}: {exc.strerror}", remedy="give AMD's CRL as KDS serves it") from None
    except ValueError:
        raise MalformedInput(f"{path} is not a CRL (PEM or DER)", remedy="give AMD's CRL as KDS serves it") from None
    return crl.public_bytes(Encoding.PEM).decode()
