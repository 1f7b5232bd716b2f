"""AMD's SEV-SNP certificate chain: pinned ARKs, the ASK or ASVK under them, and the VCEK or VLEK that signs reports.

Formats from AMD's "Versioned Chip Endorsement Key (VCEK) Certificate and KDS Interface Specification" (57230).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from importlib import resources

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import SignatureAlgorithmOID

from attestation import der
from attestation.certificates import Window, common_name, fingerprint, load_certificates, valid_at, windows
from attestation.result import Check, check, failed

# SHA-256 of each ARK's DER, as published by AMD's KDS (shared/testdata/README.md).
PINNED_ARKS = {
    "Milan": "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
    "Genoa": "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
    "Turin": "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a",
}

SIMULATED = "Simulated"  # the product name of simulated chains (ARK-Simulated, SEV-Simulated)
_OID = "1.3.6.1.4.1.3704.1"
_SPL_OIDS = {
    f"{_OID}.3.1": "bootloader",
    f"{_OID}.3.2": "tee",
    f"{_OID}.3.3": "snp",
    f"{_OID}.3.8": "microcode",
    f"{_OID}.3.9": "fmc",
}
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)


@dataclass(frozen=True, slots=True)
class Root:
    """A trusted ARK: AMD's, pinned above, or a simulated one that a caller configured on purpose."""

    product: str
    sha256: str
    insecure: bool = False


AMD_ROOTS: tuple[Root, ...] = tuple(Root(product, pin) for product, pin in PINNED_ARKS.items())


@lru_cache(maxsize=1)
def shipped_certificates() -> tuple[x509.Certificate, ...]:
    """AMD's ARK, ASK and ASVK certificates shipped with the package, so a VCEK alone is enough evidence."""
    folder = resources.files("attestation") / "certs"
    return tuple(
        cert
        for name in ("amd_milan.pem", "amd_genoa.pem", "amd_turin.pem")
        for cert in load_certificates((folder / name).read_bytes())
    )


@dataclass(frozen=True, slots=True)
class Endorsement:
    """What a VCEK or VLEK certifies about the chip: product, hardware id and TCB levels."""

    kind: str
    product: str
    hwid: bytes | None
    spl: dict[str, int]


def endorsement(cert: x509.Certificate) -> Endorsement:
    values = {
        ext.oid.dotted_string: ext.value.value
        for ext in cert.extensions
        if isinstance(ext.value, x509.UnrecognizedExtension) and ext.oid.dotted_string.startswith(_OID)
    }
    try:
        product = der.expect(values[f"{_OID}.2"], der.IA5_STRING).decode("ascii") if f"{_OID}.2" in values else ""
        spl = {name: der.integer(values[oid]) for oid, name in _SPL_OIDS.items() if oid in values}
    except (der.DerError, UnicodeDecodeError) as exc:
        raise ValueError(f"malformed AMD extension in {common_name(cert)}: {exc}") from exc
    kind = "vlek" if common_name(cert) == "SEV-VLEK" else "vcek"
    # AMD stores the 64-byte HWID as the raw extension value, not wrapped in an OCTET STRING.
    return Endorsement(kind=kind, product=product.split("-")[0], hwid=values.get(f"{_OID}.4"), spl=spl)


def _pss_signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """RSA-PSS with SHA-384 and a 48-byte salt, the only scheme AMD's KDS uses."""
    try:
        key = issuer.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return False
    if cert.signature_algorithm_oid != SignatureAlgorithmOID.RSASSA_PSS or not isinstance(key, rsa.RSAPublicKey):
        return False
    try:
        key.verify(cert.signature, cert.tbs_certificate_bytes, _PSS, hashes.SHA384())
    except InvalidSignature:
        return False
    return cert.issuer == issuer.subject


@dataclass(frozen=True, slots=True)
class Chain:
    """A chain checked once and cached: what holds whatever the report or the time."""

    root: Root | None
    product: str
    endorsement: Endorsement
    public_key: ec.EllipticCurvePublicKey | None
    checks: tuple[Check, ...]
    windows: tuple[Window, ...]

    def valid_at(self, at: datetime) -> Check:
        return valid_at(self.windows, at)


@lru_cache(maxsize=512)
def verify_chain(
    leaf: x509.Certificate, intermediate: x509.Certificate, ark: x509.Certificate, roots: tuple[Root, ...]
) -> Chain:
    """ARK pinned and self-signed, ASK or ASVK signed by it, VCEK or VLEK signed by that, products agreeing."""
    pin = fingerprint(ark)
    root = next((r for r in roots if r.sha256 == pin), None)
    pinned = ", ".join(r.product + (" (simulated)" if r.insecure else "") for r in roots) or "none"
    try:
        info = endorsement(leaf)
    except ValueError as exc:
        info = Endorsement(kind="vcek", product="", hwid=None, spl={})
        format_check = [failed("endorsement-extensions", str(exc))]
    else:
        format_check = []
    leaf_name, mid_name, ark_name = common_name(leaf), common_name(intermediate), common_name(ark)
    product = root.product if root else ark_name.removeprefix("ARK-")
    key = leaf.public_key()
    is_p384 = isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP384R1)
    checks = [
        check(
            "ark-pinned",
            root is not None,
            f"{ark_name} is the pinned {product} root",
            f"{ark_name} (SHA-256 {pin[:16]}...) is not a trusted root; trusted: {pinned}",
        ),
        check(
            "ark-self-signed",
            _pss_signed_by(ark, ark),
            f"{ark_name} signs itself (RSA-PSS, SHA-384)",
            f"{ark_name} does not carry a valid RSA-PSS self-signature",
        ),
        check(
            "intermediate-signed",
            _pss_signed_by(intermediate, ark),
            f"{mid_name} is signed by {ark_name}",
            f"{mid_name} is not signed by {ark_name}",
        ),
        check(
            "endorsement-signed",
            _pss_signed_by(leaf, intermediate),
            f"{leaf_name} is signed by {mid_name}",
            f"{leaf_name} is not signed by {mid_name}",
        ),
        *format_check,
        check(
            "intermediate-role",
            mid_name == (f"SEV-VLEK-{product}" if info.kind == "vlek" else f"SEV-{product}"),
            f"{mid_name} is the {'ASVK' if info.kind == 'vlek' else 'ASK'}, the only key that signs a "
            f"{info.kind.upper()}",
            f"{mid_name} signed a {info.kind.upper()}: an ASK signs only VCEKs and an ASVK only VLEKs",
        ),
        check(
            "product",
            ark_name == f"ARK-{product}"
            and mid_name in (f"SEV-{product}", f"SEV-VLEK-{product}")
            and info.product == product,
            f"{leaf_name}, {mid_name} and {ark_name} are all {product}",
            f"product mismatch: {leaf_name} says {info.product or 'nothing'!r}, chain is {mid_name} / {ark_name}",
        ),
        check(
            "endorsement-key",
            is_p384,
            f"{leaf_name} holds an ECDSA P-384 key",
            f"{leaf_name} does not hold an ECDSA P-384 key",
        ),
    ]
    return Chain(
        root=root,
        product=product,
        endorsement=info,
        public_key=key if isinstance(key, ec.EllipticCurvePublicKey) and is_p384 else None,
        checks=tuple(checks),
        windows=windows([leaf, intermediate, ark]),
    )


@lru_cache(maxsize=512)
def select_chain(
    certs: tuple[x509.Certificate, ...], signing_key: str, chip_id: bytes
) -> tuple[x509.Certificate, x509.Certificate, x509.Certificate]:
    """The leaf the report names (VCEK: the one whose HWID is the chip's), its issuer, and that issuer's ARK."""
    pool = certs + shipped_certificates()
    wanted = {"vcek": "SEV-VCEK", "vlek": "SEV-VLEK"}.get(signing_key)
    if wanted is None:
        raise LookupError(f"the report says it is signed by {signing_key!r}, not by a VCEK or VLEK")
    leaves = [c for c in pool if common_name(c) == wanted]
    if not leaves:
        raise LookupError(f"no {wanted} certificate among the evidence; pass it with --vcek")
    leaf = next((c for c in leaves if hwid_matches(_hwid(c), chip_id)), leaves[0])
    intermediate = next((c for c in pool if c.subject == leaf.issuer), None)
    if intermediate is None:
        raise LookupError(f"no issuer for {wanted} ({leaf.issuer.rfc4514_string()}); pass the chain with --chain")
    ark = next((c for c in pool if c.subject == intermediate.issuer and c.issuer == c.subject), None)
    if ark is None:
        raise LookupError(f"no root for {common_name(intermediate)}; pass the ARK with --chain")
    return leaf, intermediate, ark


def hwid_matches(hwid: bytes | None, chip_id: bytes) -> bool:
    """A VCEK's HWID names the report's CHIP_ID. Turin's VCEKs carry an 8-byte hwID: it must be CHIP_ID's first
    8 bytes, and the rest of CHIP_ID zero (comparing all 64 bytes would fail every genuine Turin report)."""
    if hwid is None or not hwid:
        return False
    if len(hwid) == 8:
        return chip_id[:8] == hwid and not any(chip_id[8:])
    return hwid == chip_id


def _hwid(cert: x509.Certificate) -> bytes | None:
    try:
        ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(f"{_OID}.4")).value
        return ext.value if isinstance(ext, x509.UnrecognizedExtension) else None
    except x509.ExtensionNotFound:
        return None


def simulated_root(pin: str) -> Root:
    """Trust a locally generated ARK, by SHA-256 pin, on purpose: what verifies under it is insecure-simulated."""
    return Root(product=SIMULATED, sha256=pin, insecure=True)


def revocation(
    crl_pem: str, leaf: x509.Certificate, intermediate: x509.Certificate, ark: x509.Certificate, at: datetime
) -> Check:
    """AMD's CRL for this ARK (KDS `/vcek/v1/{product}/crl`), signed by the ARK with RSA-PSS: neither the ASK (or
    ASVK) nor the VCEK (or VLEK) is on it, and it is not past its next update."""
    try:
        crl = x509.load_pem_x509_crl(crl_pem.encode())
        signed = crl.issuer == ark.subject and crl.is_signature_valid(ark.public_key())  # type: ignore[arg-type]
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return failed("revocation", f"the CRL does not parse: {exc}")
    if not signed:
        return failed("revocation", f"the CRL is not signed by {common_name(ark)}")
    if crl.next_update_utc is not None and crl.next_update_utc < at:
        return failed(
            "revocation", f"the CRL is past its next update ({crl.next_update_utc:%Y-%m-%d}): fetch a new one"
        )
    revoked = [
        common_name(c) for c in (intermediate, leaf) if crl.get_revoked_certificate_by_serial_number(c.serial_number)
    ]
    ark_name = common_name(ark)
    return check(
        "revocation",
        not revoked,
        f"neither {common_name(intermediate)} nor {common_name(leaf)} is on {ark_name}'s CRL",
        f"{' and '.join(revoked)} revoked by {ark_name}'s CRL",
    )
