"""The Intel TDX DCAP quote, versions 4 and 5 (Intel TDX DCAP Quoting Library API, appendix "Quote Format")."""

from __future__ import annotations

import struct
from dataclasses import dataclass

ECDSA_P256 = 2
TEE_TDX = 0x81
HEADER_SIZE = 48
CERT_DATA_QE_REPORT = 6
CERT_DATA_PCK_CHAIN = 5
_BODY_SIZES = {2: 584, 3: 648}  # v5 body types: 2 is TDX 1.0, 3 is TDX 1.5
_HEADER = struct.Struct("<HHIHH16s20s")
_BODY = struct.Struct("<16s48s48s8s8s8s48s48s48s48s48s48s48s48s64s")
_QE_REPORT_SIZE = 384


class QuoteFormatError(ValueError):
    """The bytes are not a TDX quote this verifier reads; the message says which part is wrong."""


@dataclass(frozen=True, slots=True)
class TdReport:
    tee_tcb_svn: bytes
    mrseam: bytes
    mrsignerseam: bytes
    seam_attributes: bytes
    td_attributes: int
    xfam: bytes
    mrtd: bytes
    mrconfigid: bytes
    mrowner: bytes
    mrownerconfig: bytes
    rtmrs: tuple[bytes, bytes, bytes, bytes]
    report_data: bytes
    mrservicetd: bytes = bytes(48)  # TDX 1.5 bodies only: the service TDs (a migration TD) bound to this TD

    @property
    def debug(self) -> bool:
        return bool(self.td_attributes & 1)  # TUD.DEBUG

    @property
    def sept_ve_disable(self) -> bool:
        """ATTRIBUTES.SEPT_VE_DISABLE (bit 28): the host cannot turn EPT violations into #VE inside the guest."""
        return bool(self.td_attributes >> 28 & 1)


@dataclass(frozen=True, slots=True)
class QeReport:
    """The Quoting Enclave's SGX report body, which the PCK key signs."""

    raw: bytes

    mrenclave = property(lambda self: self.raw[64:96])
    mrsigner = property(lambda self: self.raw[128:160])
    isv_prod_id = property(lambda self: struct.unpack_from("<H", self.raw, 256)[0])
    isv_svn = property(lambda self: struct.unpack_from("<H", self.raw, 258)[0])
    report_data = property(lambda self: self.raw[320:384])


@dataclass(frozen=True, slots=True)
class TdxQuote:
    version: int
    attestation_key_type: int
    tee_type: int
    qe_vendor_id: bytes
    body_type: int
    report: TdReport
    signed_bytes: bytes
    signature: bytes
    attestation_key: bytes
    qe_report: QeReport
    qe_report_signature: bytes
    qe_auth_data: bytes
    pck_chain_pem: bytes


def parse_quote(data: bytes) -> TdxQuote:
    if len(data) < HEADER_SIZE:
        raise QuoteFormatError(f"a TDX quote has a {HEADER_SIZE}-byte header; got {len(data)} bytes")
    version, key_type, tee_type, _, _, vendor, _ = _HEADER.unpack_from(data)
    if version == 4:
        body_type, body_at, body_size = 2, HEADER_SIZE, _BODY_SIZES[2]
    elif version == 5:
        body_type, body_size = _unpack("<HI", data, HEADER_SIZE, "v5 body descriptor")
        if _BODY_SIZES.get(body_type) != body_size:
            raise QuoteFormatError(f"unsupported v5 quote body type {body_type} of {body_size} bytes")
        body_at = HEADER_SIZE + 6
    else:
        raise QuoteFormatError(f"unsupported TDX quote version {version} (versions 4 and 5 are read)")
    if tee_type != TEE_TDX:
        raise QuoteFormatError(f"TEE type {tee_type:#x} is not TDX ({TEE_TDX:#x})")
    if key_type != ECDSA_P256:
        raise QuoteFormatError(f"attestation key type {key_type} is not ECDSA P-256 ({ECDSA_P256})")
    signed_end = body_at + body_size
    report = _td_report(_take(data, body_at, body_size, "TD report body"))
    (sig_len,) = _unpack("<I", data, signed_end, "signature data length")
    sig = _take(data, signed_end + 4, sig_len, "signature data")
    signature, attestation_key = sig[:64], sig[64:128]
    cert_type, cert_size = _unpack("<HI", sig, 128, "certification data header")
    if cert_type != CERT_DATA_QE_REPORT:
        raise QuoteFormatError(f"certification data type {cert_type} is not a QE report ({CERT_DATA_QE_REPORT})")
    qe = _take(sig, 134, cert_size, "QE report certification data")
    qe_report, qe_signature = _take(qe, 0, _QE_REPORT_SIZE, "QE report"), _take(qe, _QE_REPORT_SIZE, 64, "QE sig")
    (auth_size,) = _unpack("<H", qe, 448, "QE authentication data size")
    auth = _take(qe, 450, auth_size, "QE authentication data")
    chain_type, chain_size = _unpack("<HI", qe, 450 + auth_size, "PCK certification data header")
    if chain_type != CERT_DATA_PCK_CHAIN:
        raise QuoteFormatError(f"inner certification data type {chain_type} is not a PCK chain ({CERT_DATA_PCK_CHAIN})")
    chain = _take(qe, 456 + auth_size, chain_size, "PCK certificate chain")
    return TdxQuote(
        version=version,
        attestation_key_type=key_type,
        tee_type=tee_type,
        qe_vendor_id=vendor,
        body_type=body_type,
        report=report,
        signed_bytes=data[:signed_end],
        signature=signature,
        attestation_key=attestation_key,
        qe_report=QeReport(qe_report),
        qe_report_signature=qe_signature,
        qe_auth_data=auth,
        pck_chain_pem=chain.rstrip(b"\0"),
    )


def _td_report(body: bytes) -> TdReport:
    fields = _BODY.unpack_from(body)
    (
        tcb_svn,
        mrseam,
        mrsignerseam,
        seam_attr,
        td_attr,
        xfam,
        mrtd,
        mrconfigid,
        mrowner,
        mrownerconfig,
        r0,
        r1,
        r2,
        r3,
        report_data,
    ) = fields
    return TdReport(
        tee_tcb_svn=tcb_svn,
        mrseam=mrseam,
        mrsignerseam=mrsignerseam,
        seam_attributes=seam_attr,
        td_attributes=int.from_bytes(td_attr, "little"),
        xfam=xfam,
        mrtd=mrtd,
        mrconfigid=mrconfigid,
        mrowner=mrowner,
        mrownerconfig=mrownerconfig,
        rtmrs=(r0, r1, r2, r3),
        report_data=report_data,
        mrservicetd=body[600:648] if len(body) >= 648 else bytes(48),  # after TEE_TCB_SVN2 in a TDX 1.5 body
    )


def _take(data: bytes, offset: int, size: int, what: str) -> bytes:
    if offset + size > len(data):
        raise QuoteFormatError(f"quote truncated in the {what}")
    return data[offset : offset + size]


def _unpack(fmt: str, data: bytes, offset: int, what: str) -> tuple[int, ...]:
    return struct.unpack(fmt, _take(data, offset, struct.calcsize(fmt), what))
