"""The public SEV-SNP and TDX samples in tests/data, by set."""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from attestation.certificates import load_certificates
from attestation.tdx_quote import parse_quote
from tests.conftest import data_file

# A time inside every sample certificate's validity (the trustee VLEK expired on 2025-12-10).
SAMPLE_TIME = datetime(2025, 6, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Sample:
    report: bytes
    certs: list[x509.Certificate]


SNP_SETS = {
    "go-sev-guest_milan": ("report.bin", ["vcek.der", "ask_ark_milan.pem"]),
    "virtee-sev_milan": ("report.bin", ["vcek.der", "cert_chain_milan.pem"]),
    "trustee_milan": ("test-report.bin", ["test-vcek.der"]),
    "trustee_milan_vlek": ("test-vlek-report.bin", ["test-vlek.der", "milan_ask_ark_asvk.pem"]),
    "sidecar_aci_milan": ("snp_report.bin", ["uvm_host_amd_certificate.pem"]),
    "trustee_azure_genoa": ("hcl-report-genoa.bin", ["vcek-genoa.pem", "ask_ark_genoa.pem"]),
    "trustee_azure_milan": ("hcl-report-milan.bin", ["vcek-milan-chain-azure.pem"]),
}
_FOLDERS = {"trustee_milan_vlek": "trustee_milan", "trustee_azure_milan": "trustee_azure_genoa"}


def snp_folder(name: str) -> Path:
    return data_file("attestation", "sev-snp", _FOLDERS.get(name, name))


def snp_sample(name: str) -> Sample:
    report, certs = SNP_SETS[name]
    folder = snp_folder(name)
    return Sample(
        (folder / report).read_bytes(), [c for f in certs for c in load_certificates((folder / f).read_bytes())]
    )


def tdx_quote(version: int) -> bytes:
    return data_file("attestation", "tdx", f"trustee_tdx_quote_{version}.dat").read_bytes()


def tdx_with_pck_chain(quote: bytes, pem: bytes) -> bytes:
    """The quote with its PCK certificate chain replaced and every enclosing length fixed (signatures untouched)."""
    parsed = parse_quote(quote)
    signed_end = len(parsed.signed_bytes)
    sig = quote[signed_end + 4 :]
    qe = sig[134:]
    auth = 450 + len(parsed.qe_auth_data)
    qe = qe[: auth + 2] + struct.pack("<I", len(pem)) + pem
    sig = sig[:130] + struct.pack("<I", len(qe)) + qe
    return quote[:signed_end] + struct.pack("<I", len(sig)) + sig


def pck_chain_der(quote: bytes) -> list[bytes]:
    return [c.public_bytes(Encoding.DER) for c in load_certificates(parse_quote(quote).pck_chain_pem)]


def pem_of(ders: list[bytes]) -> bytes:
    return b"".join(
        b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(d) + b"-----END CERTIFICATE-----\n" for d in ders
    )
