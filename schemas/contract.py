"""The contract: a typed superset of upstream DEPA-Training's contract.json.

Upstream numbers arrive as strings ("7.5") and are parsed; parties are DIDs or aliases
(an upstream did:web), resolved against the ledger's registered parties.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.canonical import canonical, sha256_digest
from schemas.errors import MalformedInput

Digest = Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]  # an artefact's, a contract's, a statement's


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dataset(_Model):
    id: str = Field(min_length=1)
    name: str = ""
    owner: str = ""
    provider: str = ""
    url: str = ""
    key: dict[str, Any] | None = None
    # The registered dataset artefact whose records this is: its provider-signed cap (`dataset.cap`) bounds the
    # spend of every contract that names it, and its declared record count bounds delta.
    source: Digest | None = None


# A cap is a finite figure: an infinite epsilon_threshold ("inf" parses as a float) would be no cap at all.
MAX_EPSILON = 1000.0


class PrivacyConstraint(_Model):
    dataset: str
    epsilon_threshold: float = Field(gt=0, le=MAX_EPSILON, allow_inf_nan=False)
    delta: float = Field(gt=0, lt=1, allow_inf_nan=False)
    noise_multiplier: float | None = Field(default=None, gt=0, le=1e4, allow_inf_nan=False)
    epochs_per_report: int | None = Field(default=None, ge=1)
    # Delta is at most 1/(10 n) for the n records the source declares (a delta near 1/n admits releasing a
    # record outright); a contract that means a larger one says so here.
    allow_large_delta: bool = False


class Constraint(_Model):
    privacy: list[PrivacyConstraint] = []


TcbStatus = Literal[
    "UpToDate",
    "SWHardeningNeeded",
    "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",
    "OutOfDate",
    "OutOfDateConfigurationNeeded",
]


class CcrPolicy(_Model):
    """The clean rooms a contract admits."""

    measurements: list[str] = []
    host_data: list[str] = []
    min_tcb: dict[str, int] | None = None
    # TDX 1.5 MRSERVICETD values the contract admits besides zero (hex); a service TD can read the TD's memory.
    service_tds: list[str] = []
    # TDX RTMR0-3 values admitted, by index ("0".."3", hex): the kernel, initrd and command line MRTD omits.
    rtmrs: dict[Literal["0", "1", "2", "3"], list[Annotated[str, Field(pattern=r"^[0-9a-fA-F]{96}$")]]] = {}
    # SEV-SNP guest policy the host chose at launch, outside MEASUREMENT: SMT admitted, one socket required,
    # the lowest firmware ABI ("major.minor").
    allow_smt: bool = True
    single_socket: bool = False
    min_abi: str | None = Field(default=None, pattern=r"^\d{1,3}\.\d{1,3}$")
    # TDX: the TCB statuses admitted, as Intel's collateral (which the evidence must then carry) reports them.
    tcb_status: list[TcbStatus] | None = None
    allow_simulated: bool = False
    # How long after its checkpoint is superseded evidence bound to it may still attest a run (chain/tlog/freshness.py).
    nonce_window_s: int = Field(default=600, ge=1, le=7 * 86400)
    # SHA-256 pins of the simulated ARKs admitted when allow_simulated is set (`depa-ccr simulator` prints one).
    simulated_roots: list[Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]] = []


class Contract(_Model):
    id: str = Field(min_length=1)
    schemaVersion: str
    startTime: AwareDatetime
    expiryTime: AwareDatetime
    tdc: str
    tdps: list[str]
    ccrp: str
    datasets: list[Dataset]
    purpose: str
    constraints: list[Constraint] = []
    terms: dict[str, Any] = {}
    ccr: CcrPolicy = CcrPolicy()
    recipients: list[str] = []
    # The consumer's registered base model (kind model): the one network a run under this contract may train.
    base_model: Digest | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Contract:
        if self.expiryTime <= self.startTime:
            raise ValueError("expiryTime must be after startTime")
        ids = [d.id for d in self.datasets]
        if len(set(ids)) != len(ids):
            raise ValueError("dataset ids must be unique")
        capped = [p.dataset for p in self.privacy()]
        if len(set(capped)) != len(capped):
            raise ValueError("a dataset has at most one privacy constraint")
        unknown = set(capped) - set(ids)
        if unknown:
            raise ValueError(f"privacy constraints name unknown datasets: {sorted(unknown)}")
        return self

    def privacy(self) -> list[PrivacyConstraint]:
        return [p for c in self.constraints for p in c.privacy]

    def privacy_cap(self, dataset: str) -> PrivacyConstraint | None:
        """The (epsilon, delta) cap on a dataset; a contract may name at most one per dataset."""
        return next((p for p in self.privacy() if p.dataset == dataset), None)

    def named_parties(self) -> dict[str, str]:
        """Every party that must sign, by the DID or alias the contract names, with its role."""
        named: dict[str, str] = {}
        for ref, role in [(self.ccrp, "CCRP"), (self.tdc, "TDC"), *((t, "TDP") for t in self.tdps)]:
            if ref:
                named.setdefault(ref, role)
        return named

    def missing_parties(self, is_known: Callable[[str], bool]) -> list[str]:
        """What stops the parties from being resolved: empty slots and unknown DIDs or aliases."""
        problems = []
        if not self.tdc:
            problems.append("tdc is empty")
        if not self.tdps:
            problems.append("tdps is empty")
        if not self.ccrp:
            problems.append("ccrp is empty")
        problems += [f"{ref} is not a registered party" for ref in self.named_parties() if not is_known(ref)]
        return problems


class Filling(_Model):
    """What a party adds to an upstream contract.json before proposing it: the parties (as DIDs), each dataset's
    provider and registered source, the dates of the terms, the consumer's base model, and a simulated clean room if
    the parties admit one."""

    tdc: str | None = None
    ccrp: str | None = None
    # dataset owner -> the provider's DID; the owner "" stands for every dataset no other entry names
    providers: dict[str, str] = {}
    sources: dict[str, str] = {}  # dataset id -> the registered digest of its records
    start: AwareDatetime | None = None
    expiry: AwareDatetime | None = None
    simulated_roots: list[str] = []
    base_model: str | None = None


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def fill_upstream(raw: dict[str, Any], filling: Filling) -> dict[str, Any]:
    """An upstream contract.json with the slots upstream leaves empty filled; every other member is kept as it
    is. Raises MalformedInput naming every part of the filling that does not fit the contract."""
    filled = dict(raw)
    problems = []
    if filling.tdc:
        filled["tdc"] = filling.tdc
    if filling.ccrp:
        filled["ccrp"] = filling.ccrp
    datasets = [dict(d) for d in raw.get("datasets", []) if isinstance(d, dict)]
    owners = {str(d.get("owner", "")) for d in datasets}
    problems += [f"no dataset is owned by {owner!r} (owners: {', '.join(sorted(owners))})"
                 for owner in filling.providers if owner and owner not in owners]  # fmt: skip
    ids = {str(d.get("id")) for d in datasets}
    problems += [f"no dataset has the id {dataset!r}" for dataset in filling.sources if dataset not in ids]
    if filling.providers:
        for d in datasets:
            if not d.get("provider"):
                found = filling.providers.get(str(d.get("owner", ""))) or filling.providers.get("")
                if found is None:
                    problems.append(f"dataset {d.get('id')} (owner {d.get('owner')!r}) has no provider: "
                                    f"give --tdp {d.get('owner')}=PARTY")  # fmt: skip
                else:
                    d["provider"] = found
        filled["tdps"] = list(dict.fromkeys(d["provider"] for d in datasets if d.get("provider")))
    for d in datasets:
        if str(d.get("id")) in filling.sources:
            d["source"] = filling.sources[str(d.get("id"))]
    if filling.providers or filling.sources:
        filled["datasets"] = datasets
    if filling.start is not None:
        filled["startTime"] = _when(filling.start)
    if filling.expiry is not None:
        filled["expiryTime"] = _when(filling.expiry)
    if filling.base_model is not None:
        filled["base_model"] = filling.base_model
    if filling.simulated_roots:
        ccr = dict(raw.get("ccr") or {})
        filled["ccr"] = {**ccr, "allow_simulated": True, "simulated_roots": filling.simulated_roots}
    if problems:
        raise MalformedInput("; ".join(problems))
    return filled


def contract_id(raw: dict[str, Any]) -> str:
    """`sha256:<hex>` of the contract's RFC 8785 bytes, exactly as proposed."""
    return sha256_digest(canonical(raw))
