"""The AMD SEV-SNP ATTESTATION_REPORT (SEV-SNP firmware ABI, revision 1.57, table 23), parsed field by field."""

from __future__ import annotations

import struct
from dataclasses import dataclass

REPORT_SIZE = 0x4A0
SIGNED_SIZE = 0x2A0  # the signature covers bytes 0x000-0x29F
ECDSA_P384_SHA384 = 1
SIGNING_KEYS = {0: "vcek", 1: "vlek", 7: "none"}

# Every field up to the signature's r and s; the rest of the 512-byte signature area is reserved.
LAYOUT = struct.Struct("<IIQ16s16sIIQQII64s48s32s48s48s32s32sQBBB21x64sQBBBxBBBxQ168x72s72s")
assert LAYOUT.size == REPORT_SIZE - 512 + 144

# The newest report layout this parser knows (SEV-SNP ABI 1.58): a later version may move fields it reads.
MAX_VERSION = 5


class ReportFormatError(ValueError):
    """The bytes are not an SEV-SNP attestation report."""


@dataclass(frozen=True, slots=True)
class TcbVersion:
    """The security patch levels packed in a TCB_VERSION; Turin moved the fields and added FMC."""

    bootloader: int
    tee: int
    snp: int
    microcode: int
    fmc: int | None = None

    @classmethod
    def unpack(cls, raw: int, product: str | None) -> TcbVersion:
        b = raw.to_bytes(8, "little")
        if product == "Turin":
            return cls(bootloader=b[1], tee=b[2], snp=b[3], microcode=b[7], fmc=b[0])
        return cls(bootloader=b[0], tee=b[1], snp=b[6], microcode=b[7])

    def as_dict(self) -> dict[str, int]:
        fields = {"bootloader": self.bootloader, "tee": self.tee, "snp": self.snp, "microcode": self.microcode}
        return fields if self.fmc is None else {"fmc": self.fmc, **fields}


@dataclass(frozen=True, slots=True)
class GuestPolicy:
    """The guest policy the hypervisor launched with (table 9)."""

    raw: int

    abi_minor = property(lambda self: self.raw & 0xFF)
    abi_major = property(lambda self: (self.raw >> 8) & 0xFF)
    smt = property(lambda self: bool(self.raw >> 16 & 1))
    migrate_ma = property(lambda self: bool(self.raw >> 18 & 1))
    debug = property(lambda self: bool(self.raw >> 19 & 1))
    single_socket = property(lambda self: bool(self.raw >> 20 & 1))
    cxl_allow = property(lambda self: bool(self.raw >> 21 & 1))
    mem_aes_256_xts = property(lambda self: bool(self.raw >> 22 & 1))
    rapl_dis = property(lambda self: bool(self.raw >> 23 & 1))
    ciphertext_hiding = property(lambda self: bool(self.raw >> 24 & 1))
    page_swap_disable = property(lambda self: bool(self.raw >> 25 & 1))


@dataclass(frozen=True, slots=True)
class PlatformInfo:
    raw: int

    smt_enabled = property(lambda self: bool(self.raw & 1))
    tsme_enabled = property(lambda self: bool(self.raw >> 1 & 1))
    ecc_enabled = property(lambda self: bool(self.raw >> 2 & 1))
    rapl_disabled = property(lambda self: bool(self.raw >> 3 & 1))
    ciphertext_hiding_enabled = property(lambda self: bool(self.raw >> 4 & 1))
    alias_check_complete = property(lambda self: bool(self.raw >> 5 & 1))


@dataclass(frozen=True, slots=True)
class SignerInfo:
    raw: int

    author_key_enabled = property(lambda self: bool(self.raw & 1))
    mask_chip_id = property(lambda self: bool(self.raw >> 1 & 1))
    signing_key = property(lambda self: SIGNING_KEYS.get(self.raw >> 2 & 7, "reserved"))


@dataclass(frozen=True, slots=True)
class SnpReport:
    version: int
    guest_svn: int
    policy: GuestPolicy
    family_id: bytes
    image_id: bytes
    vmpl: int
    signature_algo: int
    current_tcb_raw: int
    platform_info: PlatformInfo
    signer_info: SignerInfo
    report_data: bytes
    measurement: bytes
    host_data: bytes
    id_key_digest: bytes
    author_key_digest: bytes
    report_id: bytes
    report_id_ma: bytes
    reported_tcb_raw: int
    cpuid_family: int | None
    cpuid_model: int | None
    cpuid_stepping: int | None
    chip_id: bytes
    committed_tcb_raw: int
    current_version: tuple[int, int, int]
    committed_version: tuple[int, int, int]
    launch_tcb_raw: int
    signature_r: int
    signature_s: int
    signed_bytes: bytes
    raw: bytes

    @property
    def product_from_cpuid(self) -> str | None:
        """Reports of version 3 and later name the CPU, so the TCB layout is known without a certificate."""
        family, model = self.cpuid_family, self.cpuid_model
        if family == 0x19:
            return "Milan" if model is not None and model < 0x10 else "Genoa"
        if family == 0x1A:
            return "Turin"
        return None

    def reported_tcb(self, product: str | None) -> TcbVersion:
        return TcbVersion.unpack(self.reported_tcb_raw, product)

    def current_tcb(self, product: str | None) -> TcbVersion:
        return TcbVersion.unpack(self.current_tcb_raw, product)

    def committed_tcb(self, product: str | None) -> TcbVersion:
        return TcbVersion.unpack(self.committed_tcb_raw, product)

    def launch_tcb(self, product: str | None) -> TcbVersion:
        return TcbVersion.unpack(self.launch_tcb_raw, product)


def parse_report(data: bytes) -> SnpReport:
    """The typed report; the bytes must be exactly one 1184-byte report."""
    if len(data) != REPORT_SIZE:
        raise ReportFormatError(f"an SEV-SNP report is {REPORT_SIZE} bytes, got {len(data)}")
    (
        version,
        guest_svn,
        policy,
        family_id,
        image_id,
        vmpl,
        algo,
        current_tcb,
        platform_info,
        signer_info,
        _reserved,
        report_data,
        measurement,
        host_data,
        id_key_digest,
        author_key_digest,
        report_id,
        report_id_ma,
        reported_tcb,
        cpuid_fam,
        cpuid_mod,
        cpuid_step,
        chip_id,
        committed_tcb,
        cur_build,
        cur_minor,
        cur_major,
        com_build,
        com_minor,
        com_major,
        launch_tcb,
        sig_r,
        sig_s,
    ) = LAYOUT.unpack_from(data)
    if not 2 <= version <= MAX_VERSION:
        raise ReportFormatError(f"SEV-SNP report version {version} is not one this verifier reads (2 to {MAX_VERSION})")
    has_cpuid = version >= 3
    return SnpReport(
        version=version,
        guest_svn=guest_svn,
        policy=GuestPolicy(policy),
        family_id=family_id,
        image_id=image_id,
        vmpl=vmpl,
        signature_algo=algo,
        current_tcb_raw=current_tcb,
        platform_info=PlatformInfo(platform_info),
        signer_info=SignerInfo(signer_info),
        report_data=report_data,
        measurement=measurement,
        host_data=host_data,
        id_key_digest=id_key_digest,
        author_key_digest=author_key_digest,
        report_id=report_id,
        report_id_ma=report_id_ma,
        reported_tcb_raw=reported_tcb,
        cpuid_family=cpuid_fam if has_cpuid else None,
        cpuid_model=cpuid_mod if has_cpuid else None,
        cpuid_stepping=cpuid_step if has_cpuid else None,
        chip_id=chip_id,
        committed_tcb_raw=committed_tcb,
        current_version=(cur_major, cur_minor, cur_build),
        committed_version=(com_major, com_minor, com_build),
        launch_tcb_raw=launch_tcb,
        signature_r=int.from_bytes(sig_r, "little"),
        signature_s=int.from_bytes(sig_s, "little"),
        signed_bytes=data[:SIGNED_SIZE],
        raw=data,
    )
