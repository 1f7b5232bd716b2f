"""What a verifier demands of a clean room beyond genuine hardware: the contract's `ccr` terms, plus report_data."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from attestation.result import Check, check, failed, not_checked
from schemas.contract import CcrPolicy, TcbStatus

Hex = Annotated[str, Field(pattern=r"^[0-9a-fA-F]*$")]
TCB_FIELDS = ("fmc", "bootloader", "tee", "snp", "microcode")


class AttestationPolicy(BaseModel):
    """Empty lists and None mean "not demanded": the check is then reported as not-checked, never as passed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allow_debug: bool = False
    # MIGRATE_MA lets a migration agent the host launched export the guest's memory; it is not in MEASUREMENT.
    allow_migration_agent: bool = False
    # SEV-SNP guest policy terms, as go-sev-guest's validatePolicy states them: the host sets these at launch.
    allow_smt: bool = True  # False: the guest policy must forbid SMT (sibling threads share the core's caches)
    single_socket: bool = False  # True: the guest policy must pin the guest to one socket
    min_abi: str | None = Field(default=None, pattern=r"^\d{1,3}\.\d{1,3}$")  # the lowest firmware ABI, "major.minor"
    # TDX 1.5: MRSERVICETD values admitted besides zero (a service TD, such as a migration TD, can read the TD).
    service_tds: list[Hex] = []
    # TDX: admitted values of RTMR0-3 by index ("0".."3"); MRTD covers only the firmware, the RTMRs the boot
    # after it (RTMR1 the kernel, RTMR2 its command line and initrd, as the CC event log records them).
    rtmrs: dict[Literal["0", "1", "2", "3"], list[Hex]] = {}
    # TDX: the TCB statuses admitted, read from Intel's collateral; None demands none (the status is still reported).
    tcb_status: list[TcbStatus] | None = None
    max_vmpl: int | None = Field(default=None, ge=0, le=3)
    min_tcb: dict[str, int] | None = None
    measurements: list[Hex] = []
    host_data: list[Hex] = []
    report_data: Hex | None = None

    @field_validator("measurements", "host_data", "service_tds")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        return [v.lower() for v in values]

    @field_validator("rtmrs")
    @classmethod
    def _lower_rtmrs(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {index: [v.lower() for v in values] for index, values in value.items()}

    @field_validator("report_data")
    @classmethod
    def _lower_one(cls, value: str | None) -> str | None:
        return value.lower() if value is not None else None

    @field_validator("min_tcb")
    @classmethod
    def _known_fields(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        unknown = set(value or {}) - set(TCB_FIELDS)
        if unknown:
            raise ValueError(f"min_tcb knows {', '.join(TCB_FIELDS)}; not {', '.join(sorted(unknown))}")
        return value

    @classmethod
    def from_contract(cls, ccr: CcrPolicy, report_data: bytes | None = None) -> AttestationPolicy:
        return cls(
            measurements=ccr.measurements,
            host_data=ccr.host_data,
            min_tcb=ccr.min_tcb,
            service_tds=ccr.service_tds,
            rtmrs=ccr.rtmrs,
            allow_smt=ccr.allow_smt,
            single_socket=ccr.single_socket,
            min_abi=ccr.min_abi,
            tcb_status=ccr.tcb_status,
            max_vmpl=0,
            report_data=report_data.hex() if report_data is not None else None,
        )


DEFAULT_POLICY = AttestationPolicy()


def evaluate(
    policy: AttestationPolicy,
    *,
    debug: bool,
    vmpl: int | None,
    tcb: dict[str, int] | None,
    measurement: bytes,
    host_data: bytes,
    report_data: bytes,
    host_data_name: str = "HOST_DATA",
) -> list[Check]:
    """One check per demand, each with its own reason."""
    checks = [
        check(
            "debug",
            not debug or policy.allow_debug,
            "debugging is off" if not debug else "debugging is on, and the policy allows it",
            "debugging is on: the host can read the guest's memory",
        ),
    ]
    if vmpl is not None:
        checks.append(
            not_checked("vmpl", f"VMPL {vmpl}; the policy sets no maximum")
            if policy.max_vmpl is None
            else check(
                "vmpl",
                vmpl <= policy.max_vmpl,
                f"VMPL {vmpl} (at most {policy.max_vmpl})",
                f"VMPL {vmpl} is above the allowed {policy.max_vmpl}",
            )
        )
    checks.append(_min_tcb(policy.min_tcb, tcb))
    checks.append(_allowlisted("measurement", "measurement", measurement.hex(), policy.measurements))
    checks.append(_allowlisted("host-data", host_data_name, host_data.hex(), policy.host_data))
    if policy.report_data is None:
        checks.append(not_checked("report-data", "no expected REPORT_DATA (binding document) was given"))
    else:
        checks.append(
            check(
                "report-data",
                report_data.hex() == policy.report_data,
                "REPORT_DATA equals the hash of the binding document",
                "REPORT_DATA does not equal the hash of the binding document",
            )
        )
    return checks


def _allowlisted(name: str, label: str, value: str, allowed: list[str]) -> Check:
    if not allowed:
        return not_checked(name, f"the policy allows any {label}")
    return check(
        name,
        value in allowed,
        f"{label} {value[:16]}... is allowed",
        f"{label} {value[:16]}... is not among the {len(allowed)} allowed",
    )


def _min_tcb(minimum: dict[str, int] | None, tcb: dict[str, int] | None) -> Check:
    if not minimum:
        return not_checked("min-tcb", "the policy sets no minimum TCB")
    if tcb is None:
        # A demand the verifier cannot check fails: passing it silently would let the contract's term be skipped.
        return failed("min-tcb", "the policy demands a minimum TCB, and this evidence carries no TCB comparable "
                      "to it without the vendor's collateral")  # fmt: skip
    low = [f"{field} {tcb.get(field)} < {level}" for field, level in minimum.items() if tcb.get(field, -1) < level]
    return check("min-tcb", not low, "reported TCB meets the minimum", "TCB below the minimum: " + ", ".join(low))
