"""X.509 helpers both vendors' chains use: loading, pins, names and validity windows."""

from __future__ import annotations

import hashlib
import warnings
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from attestation.result import Check, failed, passed

Window = tuple[str, datetime, datetime]


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """PEM (one or many) or DER, every part a verifier reads parsed now: a malformed one raises ValueError here.

    cryptography parses the version, extensions and names lazily, each with its own exception type
    (InvalidVersion, DuplicateExtension, KeyError for an unknown string tag); callers expect one.
    AMD issues VCEKs with serial number 0, which cryptography loads with a warning.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        try:
            if b"-----BEGIN CERTIFICATE-----" in data:
                certs = x509.load_pem_x509_certificates(data)
            else:
                certs = [x509.load_der_x509_certificate(data)]
            for cert in certs:
                _ = (cert.version, cert.extensions, cert.subject.rfc4514_string(), cert.issuer.rfc4514_string())
                _ = (cert.not_valid_before_utc, cert.not_valid_after_utc, cert.serial_number)
        except ValueError:
            raise
        except Exception as exc:
            raise ValueError(f"a certificate is malformed: {type(exc).__name__}: {exc}") from exc
    return certs


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
