"""What a verifier returns: every check with its status and reason, and the claims the evidence makes."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_CHECKED = "not-checked"


class Check(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    status: Status
    reason: str


def passed(name: str, reason: str) -> Check:
    return Check(name=name, status=Status.PASS, reason=reason)


def failed(name: str, reason: str) -> Check:
    return Check(name=name, status=Status.FAIL, reason=reason)


def not_checked(name: str, reason: str) -> Check:
    return Check(name=name, status=Status.NOT_CHECKED, reason=reason)


def check(name: str, ok: bool, good: str, bad: str) -> Check:
    return passed(name, good) if ok else failed(name, bad)


class Claims(BaseModel):
    """What the evidence says about the guest, in hex; meaningful only when the result is verified."""

    model_config = ConfigDict(frozen=True)

    product: str | None = None
    version: int | None = None
    measurement: str | None = None
    host_data: str | None = None
    report_data: str | None = None
    tcb: dict[str, int] = {}
    platform_id: str | None = None
    debug: bool | None = None
    vmpl: int | None = None
    signing_key: str | None = None
    rtmrs: list[str] = []
    extra: dict[str, str] = {}


Security = Literal["hardware", "insecure-simulated"]
EvidenceType = Literal["sev-snp", "tdx", "simulated"]


class AttestationResult(BaseModel):
    """Verified means no check failed; not-checked checks are listed for the reader to weigh."""

    model_config = ConfigDict(frozen=True)

    evidence_type: EvidenceType
    source: str = ""
    verified: bool
    security: Security
    checks: list[Check]
    claims: Claims

    @classmethod
    def of(
        cls, evidence_type: EvidenceType, security: Security, checks: list[Check], claims: Claims, source: str = ""
    ) -> AttestationResult:
        verified = bool(checks) and all(c.status != Status.FAIL for c in checks)
        return cls(
            evidence_type=evidence_type,
            source=source,
            verified=verified,
            security=security,
            checks=checks,
            claims=claims,
        )

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == Status.FAIL]
