"""SEV-SNP reports through /dev/sev-guest (Linux include/uapi/linux/sev-guest.h), where configfs-tsm is missing."""

from __future__ import annotations

import ctypes
import fcntl
import os
import struct
from collections.abc import Callable
from pathlib import Path

from attestation.snp_report import REPORT_SIZE
from ccr_agent.tsm import TeeUnavailable

SEV_GUEST = Path("/dev/sev-guest")
MSG_VERSION = 1
_RESPONSE_SIZE = 4000


class _GuestRequest(ctypes.Structure):
    _fields_ = [
        ("msg_version", ctypes.c_uint8),
        ("req_data", ctypes.c_uint64),
        ("resp_data", ctypes.c_uint64),
        ("exitinfo2", ctypes.c_uint64),
    ]


# _IOWR('S', 0x0, struct snp_guest_request_ioctl)
SNP_GET_REPORT = (3 << 30) | (ctypes.sizeof(_GuestRequest) << 16) | (ord("S") << 8) | 0x0

Ioctl = Callable[[int, int, _GuestRequest], int]


def sev_guest_report(
    report_data: bytes, *, vmpl: int = 0, device: Path = SEV_GUEST, ioctl: Ioctl | None = None
) -> bytes:
    """SNP_GET_REPORT: request {user_data[64], vmpl, reserved[28]}, response {status, size, reserved[24], report}."""
    if len(report_data) != 64:
        raise ValueError(f"REPORT_DATA is 64 bytes, got {len(report_data)}")
    request = ctypes.create_string_buffer(report_data + struct.pack("<I", vmpl) + bytes(28), 96)
    response = ctypes.create_string_buffer(_RESPONSE_SIZE)
    call = _GuestRequest(MSG_VERSION, ctypes.addressof(request), ctypes.addressof(response), 0)
    try:
        fd = os.open(device, os.O_RDWR)
    except OSError as exc:
        raise TeeUnavailable(f"cannot open {device}: {exc.strerror} (not an SEV-SNP guest?)") from exc
    try:
        (ioctl or fcntl.ioctl)(fd, SNP_GET_REPORT, call)
    except OSError as exc:
        raise TeeUnavailable(f"SNP_GET_REPORT failed: {exc.strerror} (firmware error {call.exitinfo2:#x})") from exc
    finally:
        os.close(fd)
    status, size = struct.unpack_from("<II", response.raw)
    if status != 0 or size != REPORT_SIZE:
        raise TeeUnavailable(f"the firmware answered status {status:#x} with a {size}-byte report")
    return response.raw[32 : 32 + REPORT_SIZE]
