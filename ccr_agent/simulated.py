"""A simulated SEV-SNP TEE for machines without one: real report layout, real signatures, a local root.

INSECURE by construction: whoever holds the folder can sign any report. Verifiers accept it only
under a root they were given on purpose, and label every result `insecure-simulated`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from attestation.amd import SIMULATED as PRODUCT
from attestation.amd import Root, simulated_root
from attestation.certificates import fingerprint
from attestation.snp_report import LAYOUT, REPORT_SIZE, SIGNED_SIZE
from schemas.keys import write_secret

# TCB levels the simulated VCEK certifies, in the Milan/Genoa layout.
TCB = {"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115}
_AMD = "1.3.6.1.4.1.3704.1"
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)
_GUEST_POLICY = 0x30000  # SMT allowed; bit 17 is reserved and must be set
_VALIDITY = timedelta(days=3650)


@dataclass(frozen=True)
class SimulatedTee:
    """The folder's VCEK key, certificate chain (VCEK, ASK, ARK) and chip id."""

    vcek_key: ec.EllipticCurvePrivateKey
    chain: tuple[x509.Certificate, x509.Certificate, x509.Certificate]
    chip_id: bytes
    folder: Path | None = None

    @property
    def root(self) -> Root:
        return simulated_root(fingerprint(self.chain[2]))

    @property
    def chain_pem(self) -> list[str]:
        return [c.public_bytes(serialization.Encoding.PEM).decode() for c in self.chain]

    @classmethod
    def open(cls, folder: Path) -> SimulatedTee:
        """The simulator kept in folder, made on first use; the ARK and ASK keys are thrown away once used."""
        key_file, chain_file, chip_file = folder / "vcek.key", folder / "chain.pem", folder / "chip_id"
        if not key_file.exists():
            folder.mkdir(parents=True, exist_ok=True)
            made = cls.generate()
            write_secret(
                key_file,
                made.vcek_key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ),
            )
            chain_file.write_text("".join(made.chain_pem))
            chip_file.write_text(made.chip_id.hex())
            return replace(made, folder=folder)
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_file} is not an EC key")
        vcek, ask, ark = x509.load_pem_x509_certificates(chain_file.read_bytes())
        return cls(vcek_key=key, chain=(vcek, ask, ark), chip_id=bytes.fromhex(chip_file.read_text()), folder=folder)

    @classmethod
    def generate(
        cls, *, intermediate: str = f"SEV-{PRODUCT}", ark_key: rsa.RSAPrivateKey | None = None
    ) -> SimulatedTee:
        """A fresh simulated chain; tests name the intermediate otherwise to craft a chain AMD would not issue, and
        give the ARK key to sign with it what AMD would (a CRL)."""
        chip_id = os.urandom(64)
        ark_key = ark_key or rsa.generate_private_key(65537, 4096)
        ask_key = rsa.generate_private_key(65537, 4096)
        vcek_key = ec.generate_private_key(ec.SECP384R1())
        ark = _certificate(f"ARK-{PRODUCT}", f"ARK-{PRODUCT}", ark_key.public_key(), ark_key, ca=True)
        ask = _certificate(intermediate, f"ARK-{PRODUCT}", ask_key.public_key(), ark_key, ca=True)
        vcek = _certificate(
            "SEV-VCEK", intermediate, vcek_key.public_key(), ask_key, ca=False, extensions=_vcek_extensions(chip_id)
        )
        return cls(vcek_key=vcek_key, chain=(vcek, ask, ark), chip_id=chip_id)

    def report(
        self,
        report_data: bytes,
        *,
        measurement: bytes = bytes(48),
        host_data: bytes = bytes(32),
        vmpl: int = 0,
        debug: bool = False,
        policy_bits: int = 0,
        smt: bool = True,
        version: int = 3,
        current_tcb: dict[str, int] | None = None,
        committed_tcb: dict[str, int] | None = None,
    ) -> bytes:
        """A SEV-SNP report (version 3 unless told) carrying report_data, signed by the simulated VCEK.

        `policy_bits` are set in the guest policy beside the usual ones, and `smt` clears SMT: tests craft what a
        host could launch."""
        if len(report_data) != 64 or len(measurement) != 48 or len(host_data) != 32:
            raise ValueError("report_data is 64 bytes, measurement 48 and host_data 32")
        tcb = _tcb(TCB)
        current, committed = _tcb({**TCB, **(current_tcb or {})}), _tcb({**TCB, **(committed_tcb or {})})
        policy = (_GUEST_POLICY if smt else _GUEST_POLICY & ~(1 << 16)) | policy_bits | (1 << 19 if debug else 0)
        fields = (
            version,
            0,
            policy,
            bytes(16),
            bytes(16),
            vmpl,
            1,
            current,
            0,
            0,
            0,
            report_data,
            measurement,
            host_data,
            bytes(48),
            bytes(48),
            hashlib.sha256(report_data).digest(),
            bytes(32),
            tcb,
            0,
            0,
            0,
            self.chip_id,
            committed,
            0,
            55,
            1,
            0,
            55,
            1,
            tcb,
            bytes(72),
            bytes(72),
        )
        body = LAYOUT.pack(*fields)[:SIGNED_SIZE]
        r, s = decode_dss_signature(self.vcek_key.sign(body, ec.ECDSA(hashes.SHA384())))
        signature = r.to_bytes(72, "little") + s.to_bytes(72, "little")
        return body + signature + bytes(REPORT_SIZE - SIGNED_SIZE - len(signature))


def _certificate(
    subject: str,
    issuer: str,
    public_key,
    signing_key: rsa.RSAPrivateKey,
    *,
    ca: bool,
    extensions: Sequence[x509.ExtensionType] = (),
) -> x509.Certificate:
    def name(cn: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "depa-chain INSECURE simulated TEE"),
            ]
        )

    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    for ext in extensions:
        builder = builder.add_extension(ext, critical=False)
    return builder.sign(signing_key, hashes.SHA384(), rsa_padding=_PSS)


def _vcek_extensions(chip_id: bytes) -> list[x509.ExtensionType]:
    """The KDS extensions: product name (IA5String), one INTEGER per TCB level, and the raw 64-byte HWID."""

    def ext(suffix: str, value: bytes) -> x509.UnrecognizedExtension:
        return x509.UnrecognizedExtension(x509.ObjectIdentifier(f"{_AMD}.{suffix}"), value)

    spl_oids = {"bootloader": "3.1", "tee": "3.2", "snp": "3.3", "microcode": "3.8"}
    return [
        ext("1", b"\x02\x01\x00"),
        ext("2", b"\x16" + bytes([len(PRODUCT)]) + PRODUCT.encode()),
        *(ext(spl_oids[k], _der_small_int(v)) for k, v in TCB.items()),
        ext("4", chip_id),
    ]


def _tcb(levels: dict[str, int]) -> int:
    """A Milan/Genoa TCB_VERSION: bootloader, tee, four reserved bytes, snp, microcode (little-endian)."""
    return int.from_bytes(
        bytes([levels["bootloader"], levels["tee"], 0, 0, 0, 0, levels["snp"], levels["microcode"]]), "little"
    )


def _der_small_int(value: int) -> bytes:
    content = value.to_bytes((value.bit_length() + 8) // 8, "big")
    return b"\x02" + bytes([len(content)]) + content
