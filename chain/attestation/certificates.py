"""X.509 helpers both vendors' chains use: loading, pins, names and validity windows."""

from __future__ import annotations

import hashlib
import warnings
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from chain.attestation.result import Check, failed, passed

Window = tuple[str, datetime, datetime]


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """PEM (one or many) or DER; AMD issues VCEKs with serial number 0, which cryptography loads with a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def windows(certs: list[x509.Certificate]) -> tuple[Window, ...]:
    return tuple((common_name(c), c.not_valid_before_utc, c.not_valid_after_utc) for c in certs)


def valid_at(spans: tuple[Window, ...], at: datetime) -> Check:
    for name, not_before, not_after in spans:
        if not not_before <= at <= not_after:
            when = "before" if at < not_before else "after"
            return failed(
                "certificates-valid",
                f"{name} is valid {not_before:%Y-%m-%d} to {not_after:%Y-%m-%d}; {at:%Y-%m-%d} is {when} that"
                " (verify at the time the evidence was made)",
            )
    return passed("certificates-valid", f"every certificate is valid at {at:%Y-%m-%d %H:%M}Z")
