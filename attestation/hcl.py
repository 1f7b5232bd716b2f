"""Azure's HCL report: an SEV-SNP report whose REPORT_DATA is the hash of the paravisor's runtime claims."""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass

from attestation.result import Check, check
from attestation.snp_report import REPORT_SIZE, ReportFormatError

MAGIC = b"HCLA"
_SNP_AT = 0x20
_RUNTIME_AT = _SNP_AT + REPORT_SIZE
_HASHES = {1: hashlib.sha256, 2: hashlib.sha384, 3: hashlib.sha512}
_SNP_REPORT_TYPE = 2


@dataclass(frozen=True, slots=True)
class HclReport:
    snp_report: bytes
    hash_type: int
    runtime_data: bytes
    user_data: bytes  # the runtime claims' `user-data`: where Azure's paravisor carries the guest's 64 bytes

    def binding_check(self, report_data: bytes) -> Check:
        """REPORT_DATA must begin with the hash of the runtime data (the vTPM key and VM configuration)."""
        digest = _HASHES[self.hash_type](self.runtime_data).digest()
        bound = report_data[: len(digest)] == digest and not any(report_data[len(digest) :])
        return check(
            "hcl-runtime-data",
            bound,
            "REPORT_DATA is the hash of the HCL runtime data",
            "REPORT_DATA is not the hash of the HCL runtime data",
        )


def is_hcl(data: bytes) -> bool:
    return data[:4] == MAGIC


def parse_hcl(data: bytes) -> HclReport:
    if not is_hcl(data) or len(data) < _RUNTIME_AT + 20:
        raise ReportFormatError("not an Azure HCL report (no HCLA header, or too short)")
    _size, _version, report_type, hash_type, var_size = struct.unpack_from("<5I", data, _RUNTIME_AT)
    start = _RUNTIME_AT + 20
    if report_type != _SNP_REPORT_TYPE:
        raise ReportFormatError(f"HCL report type {report_type} is not SEV-SNP ({_SNP_REPORT_TYPE})")
    if hash_type not in _HASHES or start + var_size > len(data):
        raise ReportFormatError("HCL runtime data header is malformed")
    runtime = data[start : start + var_size]
    return HclReport(data[_SNP_AT:_RUNTIME_AT], hash_type, runtime, _user_data(runtime))


def _user_data(runtime: bytes) -> bytes:
    """The 64 bytes of `user-data` in the runtime claims (JSON, as Azure's paravisor writes them)."""
    try:
        claims = json.loads(runtime.rstrip(b"\0"))
        user = bytes.fromhex(claims["user-data"]) if isinstance(claims, dict) else b""
    except (ValueError, KeyError, TypeError):
        raise ReportFormatError("the HCL runtime claims are not JSON with a hex user-data") from None
    if len(user) != 64:
        raise ReportFormatError(f"the HCL runtime claims' user-data is {len(user)} bytes, not 64")
    return user
