"""TDX quotes signed by a test PKI standing in for Intel's: a root, a PCK CA and a PCK key we hold.

What a host with its own enclave could do on genuine hardware (Intel's PCE certifies any enclave holding the
PROVISION_KEY attribute), done here with our own PCK: write any QE report, have it signed by the PCK, bind a
fresh attestation key, and sign a TD quote with any MRTD and REPORT_DATA. Verify with `root=forge.root_pin`.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from attestation.tdx import TD_QE_MRSIGNER, _platform
from attestation.tdx_quote import parse_quote
from schemas.encoding import b64
from schemas.statement import Evidence, TdxCollateral
from tests.attestation.samples import pck_chain_der

SGX_EXTENSIONS = x509.ObjectIdentifier("1.2.840.113741.1.13.1")


def _raw_sig(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _cert(subject: str, key, issuer: str, signer, *, ca: bool, extra: x509.Extension | None = None):
    now = datetime(2024, 1, 1, tzinfo=UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if extra is not None:
        builder = builder.add_extension(extra.value, critical=False)
    return builder.sign(signer, hashes.SHA256())


@dataclass
class StandInPki:
    root_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    ca_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    pck_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    tcb_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    def __post_init__(self) -> None:
        sample_pck = x509.load_der_x509_certificate(pck_chain_der(_sample())[0])
        sgx = sample_pck.extensions.get_extension_for_oid(SGX_EXTENSIONS)  # a real platform's PPID and FMSPC
        self.root = _cert("Test SGX Root CA", self.root_key, "Test SGX Root CA", self.root_key, ca=True)
        self.ca = _cert("Test SGX PCK Platform CA", self.ca_key, "Test SGX Root CA", self.root_key, ca=True)
        self.pck = _cert("Test SGX PCK Certificate", self.pck_key, "Test SGX PCK Platform CA", self.ca_key,
                         ca=False, extra=sgx)  # fmt: skip
        self.tcb_signing = _cert("Test SGX TCB Signing", self.tcb_key, "Test SGX Root CA", self.root_key, ca=False)
        self.root_pin = hashlib.sha256(self.root.public_bytes(Encoding.DER)).hexdigest()
        self.fmspc = _platform(self.pck)["fmspc"]

    def chain_pem(self) -> bytes:
        return b"".join(c.public_bytes(Encoding.PEM) for c in (self.pck, self.ca, self.root))

    def quote(
        self,
        *,
        mrsigner: str = TD_QE_MRSIGNER,
        isv_prod_id: int = 2,
        isv_svn: int = 4,
        attributes: bytes = bytes.fromhex("1500000000000000e700000000000000"),
        mrtd: bytes | None = None,
        report_data: bytes | None = None,
        td_attributes: int | None = None,
        rtmrs: tuple[bytes, bytes, bytes, bytes] | None = None,
    ) -> bytes:
        """A v4 quote whose QE report says what it is told to, every signature valid under this PKI."""
        sample = _sample()
        parsed = parse_quote(sample)
        body = bytearray(parsed.signed_bytes)
        if mrtd is not None:
            body[48 + 136 : 48 + 184] = mrtd  # TD report body: MRTD after TEE_TCB_SVN, MRSEAM, MRSIGNERSEAM, ...
        if td_attributes is not None:
            body[48 + 120 : 48 + 128] = td_attributes.to_bytes(8, "little")  # after TEE_TCB_SVN, MRSEAM, ...
        if report_data is not None:
            body[48 + 520 : 48 + 584] = report_data
        if rtmrs is not None:
            body[48 + 328 : 48 + 520] = b"".join(rtmrs)  # RTMR0-3 after MROWNERCONFIG
        attestation = ec.generate_private_key(ec.SECP256R1())
        point = attestation.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)[1:]
        auth = parsed.qe_auth_data
        qe = bytearray(parsed.qe_report.raw)
        qe[48:64] = attributes
        qe[128:160] = bytes.fromhex(mrsigner)
        struct.pack_into("<HH", qe, 256, isv_prod_id, isv_svn)
        qe[320:384] = hashlib.sha256(point + auth).digest() + bytes(32)
        chain = self.chain_pem()
        certification = (
            bytes(qe) + _raw_sig(self.pck_key, bytes(qe)) + struct.pack("<H", len(auth)) + auth
            + struct.pack("<HI", 5, len(chain)) + chain
        )  # fmt: skip
        signature = _raw_sig(attestation, bytes(body)) + point + struct.pack("<HI", 6, len(certification))
        signature += certification
        return bytes(body) + struct.pack("<I", len(signature)) + signature


def _sample() -> bytes:
    from tests.attestation.samples import tdx_quote

    return tdx_quote(4)


# TD attributes of a production TD: DEBUG clear, SEPT_VE_DISABLE (bit 28) set.
PRODUCTION_TD = 1 << 28


def tdx_evidence(pki: StandInPki, binding, **change) -> Evidence:  # type: ignore[no-untyped-def]
    """A production TD's quote bound to `binding`, from this PKI; `change` says what its QE report claims."""
    from attestation.binding import report_data_for

    quote = pki.quote(report_data=report_data_for(binding), td_attributes=PRODUCTION_TD, **change)
    return Evidence(type="tdx", report=b64(quote))


def trust(pki: StandInPki, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every verifier in this process (ledger, broker, auditor) takes this PKI's root for Intel's."""
    from attestation import evidence, tdx

    monkeypatch.setattr(evidence, "verify_tdx", partial(tdx.verify_tdx, root=pki.root_pin))


def sample_mrtd() -> str:
    """The MRTD of every quote this PKI makes unless told another: what a contract pins to admit them."""
    return parse_quote(_sample()).report.mrtd.hex()


def _sign_json(key: ec.EllipticCurvePrivateKey, document: dict) -> tuple[str, str]:
    text = json.dumps(document, separators=(",", ":"))
    return text, _raw_sig(key, text.encode()).hex()


def collateral(
    pki: StandInPki,
    *,
    levels: list[tuple[int, str, list[str]]] | None = None,
    qe_levels: list[tuple[int, str]] | None = None,
    fmspc: str | None = None,
    revoked: bool = False,
    next_update: str = "2034-01-01T00:00:00Z",
) -> TdxCollateral:
    """Collateral this PKI signs for the platform of its quotes. `levels`: (raise, status, advisories), best first,
    each level's SVNs the platform's plus `raise` (a level of raise 1 is one the platform does not meet)."""
    from attestation.intel_collateral import _pck_tcb

    components, pcesvn = _pck_tcb(pki.pck)
    tee_tcb_svn = parse_quote(_sample()).report.tee_tcb_svn
    tcb_levels = [
        {
            "tcb": {
                "sgxtcbcomponents": [{"svn": c + up} for c in components],
                "pcesvn": pcesvn + up,
                "tdxtcbcomponents": [{"svn": b} for b in tee_tcb_svn],
            },
            "tcbDate": "2024-01-01T00:00:00Z",
            "tcbStatus": status,
            **({"advisoryIDs": advisories} if advisories else {}),
        }
        for up, status, advisories in (levels or [(0, "UpToDate", [])])
    ]
    tcb_info = {
        "id": "TDX", "version": 3, "issueDate": "2024-01-01T00:00:00Z", "nextUpdate": next_update,
        "fmspc": fmspc or pki.fmspc, "pceId": "0000", "tcbType": 0, "tcbEvaluationDataNumber": 17,
        "tdxModule": {"mrsigner": "00" * 48, "attributes": "0000000000000000", "attributesMask": "FFFFFFFFFFFFFFFF"},
        "tcbLevels": tcb_levels,
    }  # fmt: skip
    qe_identity = {
        "id": "TD_QE", "version": 2, "issueDate": "2024-01-01T00:00:00Z", "nextUpdate": next_update,
        "miscselect": "00000000", "miscselectMask": "FFFFFFFF", "attributes": "11000000000000000000000000000000",
        "attributesMask": "FBFFFFFFFFFFFFFF0000000000000000", "mrsigner": TD_QE_MRSIGNER.upper(), "isvprodid": 2,
        "tcbLevels": [{"tcb": {"isvsvn": svn}, "tcbStatus": s} for svn, s in (qe_levels or [(4, "UpToDate")])],
    }  # fmt: skip
    chain = b"".join(c.public_bytes(Encoding.PEM) for c in (pki.tcb_signing, pki.root)).decode()
    tcb_text, tcb_sig = _sign_json(pki.tcb_key, tcb_info)
    qe_text, qe_sig = _sign_json(pki.tcb_key, qe_identity)
    now = datetime(2024, 1, 1, tzinfo=UTC)
    crl = x509.CertificateRevocationListBuilder().issuer_name(pki.ca.subject).last_update(now)
    crl = crl.next_update(now + timedelta(days=3650))
    if revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(pki.pck.serial_number).revocation_date(now).build()
        crl = crl.add_revoked_certificate(entry)
    pck_crl = crl.sign(pki.ca_key, hashes.SHA256()).public_bytes(Encoding.DER).hex()
    return TdxCollateral(
        tcb_info=tcb_text, tcb_info_signature=tcb_sig, tcb_info_issuer_chain=chain,
        qe_identity=qe_text, qe_identity_signature=qe_sig, qe_identity_issuer_chain=chain, pck_crl=pck_crl,
    )  # fmt: skip
