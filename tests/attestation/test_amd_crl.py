"""AMD's CRL, when given: signed by the ARK with RSA-PSS, current, and naming neither the ASK nor the VCEK. AMD's
real CRL is fetched from KDS, which this machine cannot reach: the simulated chain's ARK signs the test CRLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from attestation.result import Status
from attestation.snp import verify_snp
from ccr_agent.simulated import SimulatedTee

NOW = datetime.now(UTC)
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)


@pytest.fixture(scope="module")
def ark_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 3072)


@pytest.fixture(scope="module")
def tee(ark_key: rsa.RSAPrivateKey) -> SimulatedTee:
    return SimulatedTee.generate(ark_key=ark_key)


def crl(
    tee: SimulatedTee, key: rsa.RSAPrivateKey, *revoked: x509.Certificate, next_update: datetime | None = None
) -> str:
    builder = x509.CertificateRevocationListBuilder().issuer_name(tee.chain[2].subject).last_update(NOW - timedelta(1))
    builder = builder.next_update(next_update or NOW + timedelta(days=7))
    for cert in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(cert.serial_number).revocation_date(NOW).build()
        )
    return builder.sign(key, hashes.SHA384(), rsa_padding=PSS).public_bytes(Encoding.PEM).decode()


def revocation(tee: SimulatedTee, crl_pem: str | None):  # type: ignore[no-untyped-def]
    result = verify_snp(tee.report(bytes(64)), tee.chain, roots=(tee.root,), crl=crl_pem)
    return next(c for c in result.checks if c.name == "revocation")


def test_without_a_crl_revocation_is_not_checked(tee: SimulatedTee) -> None:
    assert revocation(tee, None).status == Status.NOT_CHECKED


def test_a_crl_from_the_ark_naming_neither_key_passes(tee: SimulatedTee, ark_key: rsa.RSAPrivateKey) -> None:
    assert revocation(tee, crl(tee, ark_key)).status == Status.PASS


@pytest.mark.parametrize("which", [0, 1], ids=["vcek", "ask"])
def test_a_revoked_ask_or_vcek_is_refused(tee: SimulatedTee, ark_key: rsa.RSAPrivateKey, which: int) -> None:
    found = revocation(tee, crl(tee, ark_key, tee.chain[which]))
    assert found.status == Status.FAIL and "revoked by" in found.reason


def test_a_crl_not_signed_by_the_ark_is_refused(tee: SimulatedTee) -> None:
    found = revocation(tee, crl(tee, rsa.generate_private_key(65537, 2048)))
    assert found.status == Status.FAIL and "not signed by" in found.reason


def test_a_crl_past_its_next_update_is_refused(tee: SimulatedTee, ark_key: rsa.RSAPrivateKey) -> None:
    found = revocation(tee, crl(tee, ark_key, next_update=NOW - timedelta(hours=1)))
    assert found.status == Status.FAIL and "past its next update" in found.reason


def test_a_crl_that_does_not_parse_is_refused(tee: SimulatedTee) -> None:
    found = revocation(tee, "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")
    assert found.status == Status.FAIL and "does not parse" in found.reason
