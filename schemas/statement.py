"""The signed statement (docs/design.md, wire formats) and the body of every v1 type (ibid.)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from schemas import didkey, keys
from schemas.canonical import canonical, parse_json, sha256_digest
from schemas.contract import MAX_EPSILON, Contract, Digest
from schemas.encoding import b64url, b64url_decode
from schemas.errors import MalformedInput, SchemaViolation, TooLarge

MAX_STATEMENT_BYTES = 64 * 1024


def _did(value: str) -> str:
    didkey.decode(value)
    return value


DidKey = Annotated[str, AfterValidator(_did)]
AgeRecipient = Annotated[str, AfterValidator(keys.age_recipient)]
RunId = Annotated[str, Field(min_length=1, max_length=128)]
Role = Literal["TDP", "TDC", "CCRP", "AUDITOR", "OPERATOR"]
ArtefactKind = Literal["dataset", "model", "code", "config", "log"]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PartyRegister(Body):
    did: DidKey
    name: str = Field(min_length=1, max_length=200)
    roles: list[Role] = Field(min_length=1)
    x25519: AgeRecipient
    aliases: list[str] | None = None


class PartyRotate(Body):
    did: DidKey
    new_did: DidKey


class PartyRevoke(Body):
    did: DidKey
    reason: str | None = None


class ContractPropose(Body):
    contract: Contract


class ContractSign(Body):
    contract_id: Digest


class ContractRevoke(Body):
    contract_id: Digest
    reason: str | None = None


class ArtefactRegister(Body):
    digest: Digest
    name: str = Field(min_length=1, max_length=500)
    kind: ArtefactKind
    format: str | None = None
    size: int | None = Field(default=None, ge=0, le=2**53 - 1)
    encrypted_digest: Digest | None = None
    derived_from: list[Digest] | None = None
    produced_by: RunId | None = None
    contract_id: Digest | None = None
    records: int | None = Field(default=None, ge=1, le=2**53 - 1)  # a dataset's record count, as its provider declares


class DatasetCap(Body):
    """The provider's cap on its dataset across every contract: the budget belongs to the data, not the contract.

    Contracts that name the dataset as their source draw their (epsilon, delta) from it when its provider
    signs them; the ledger refuses a signature that would draw past it (docs/audit.md, the cap on the data)."""

    dataset: Digest  # the registered dataset artefact
    epsilon: float = Field(gt=0, le=MAX_EPSILON, allow_inf_nan=False)
    delta: float = Field(gt=0, lt=1, allow_inf_nan=False)


HexSignature = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{128}$")]  # ECDSA P-256 r || s


class TdxCollateral(Body):
    """Intel's collateral for a TDX quote, as Intel PCS serves it (the fields of dcap-qvl's QuoteCollateralV3):
    the signed TCB-info and QE-identity documents, exactly as signed, their issuer chains, and the CRLs (hex DER)."""

    tcb_info: str = Field(min_length=2, max_length=24_000)
    tcb_info_signature: HexSignature
    tcb_info_issuer_chain: str = Field(max_length=8_000)
    qe_identity: str = Field(min_length=2, max_length=8_000)
    qe_identity_signature: HexSignature
    qe_identity_issuer_chain: str = Field(max_length=8_000)
    pck_crl: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]*$", max_length=16_000)
    pck_crl_issuer_chain: str | None = Field(default=None, max_length=8_000)
    root_ca_crl: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]*$", max_length=8_000)


class Evidence(Body):
    type: Literal["sev-snp", "tdx", "simulated"]
    report: str = Field(min_length=1)
    certs: list[str] | None = None
    collateral: TdxCollateral | None = None  # TDX only: what the TCB status is read from
    crl: str | None = Field(default=None, max_length=16_000)  # SEV-SNP: AMD's CRL for the ARK (PEM), if fetched
    event_log: str | None = Field(default=None, max_length=32_000)  # TDX: the CC event log (base64), replayed to RTMRs


class Binding(Body):
    """What the clean room binds into its hardware report (docs/design.md, flows)."""

    receipt_key: DidKey
    x25519: AgeRecipient
    contract_id: Digest
    run_id: RunId
    nonce: str = Field(max_length=200)  # "<size>:<root>" of a checkpoint of the ledger (chain/tlog/freshness.py)


class AttestationReport(Body):
    run_id: RunId
    contract_id: Digest
    evidence: Evidence
    binding: Binding


class RunStart(Body):
    run_id: RunId
    contract_id: Digest
    attestation: Digest
    inputs: list[Digest]
    pipeline_digest: Digest
    code_digest: Digest | None = None
    base_model: Digest | None = None  # the contract's base model, which the run trains

    def reads(self) -> list[str]:
        """Every artefact the run reads: its input datasets, then the base model it trains."""
        return [*self.inputs, *([self.base_model] if self.base_model else [])]


# Why a run failed, as a code and never as text: a message about private data can carry counts and values
# (the problem slugs of schemas/errors.py, or internal-error). The full message stays inside the clean room.
FailureCode = Annotated[str, Field(pattern=r"^[a-z][a-z-]{0,39}$")]


class TranscriptRoot(Body):
    """The RFC 9162 Merkle root (base64) of the lines of the run's transcript.jsonl, and how many epochs it holds."""

    root: str = Field(pattern=r"^[A-Za-z0-9+/]{43}=$")
    epochs: int = Field(ge=0, le=10**6)


class RunComplete(Body):
    """No metrics: they are computed on private data, so they leave as an output encrypted to the recipients
    (metrics.json, registered by its digest), never in plaintext on the log. The transcript's root commits to
    what each epoch did without saying it."""

    run_id: RunId
    status: Literal["succeeded", "failed"]
    outputs: list[Digest] | None = None
    reason: FailureCode | None = None
    transcript: TranscriptRoot | None = None


# Bounds that keep the accountant inside the range where it computes: a noise multiplier past 1e4 adds nothing
# a budget can see, and more steps than 1e9 or segments than 1000 is no training run.
MAX_NOISE_MULTIPLIER, MAX_STEPS, MAX_SEGMENTS = 1e4, 10**9, 1000


class Segment(Body):
    noise_multiplier: float = Field(ge=1e-2, le=MAX_NOISE_MULTIPLIER, allow_inf_nan=False)
    sample_rate: float = Field(ge=1e-9, le=1, allow_inf_nan=False)
    steps: int = Field(ge=1, le=MAX_STEPS)


class BudgetReserve(Body):
    run_id: RunId
    contract_id: Digest
    dataset: str = Field(min_length=1)
    delta: float = Field(gt=0, lt=1, allow_inf_nan=False)
    segments: list[Segment] = Field(min_length=1, max_length=MAX_SEGMENTS)


class BudgetCommit(BudgetReserve):
    pass


class BudgetAbort(Body):
    run_id: RunId
    contract_id: Digest
    dataset: str = Field(min_length=1)


class KeyRelease(Body):
    run_id: RunId
    contract_id: Digest
    dataset: str = Field(min_length=1)
    recipient: AgeRecipient


BODIES: dict[str, type[Body]] = {
    "party.register": PartyRegister,
    "party.rotate": PartyRotate,
    "party.revoke": PartyRevoke,
    "contract.propose": ContractPropose,
    "contract.sign": ContractSign,
    "contract.revoke": ContractRevoke,
    "artefact.register": ArtefactRegister,
    "dataset.cap": DatasetCap,
    "attestation.report": AttestationReport,
    "run.start": RunStart,
    "run.complete": RunComplete,
    "budget.reserve": BudgetReserve,
    "budget.commit": BudgetCommit,
    "budget.abort": BudgetAbort,
    "key.release": KeyRelease,
}


def typ_of(kind: str) -> str:
    """`party.register` -> `depa/party.register@1`."""
    return f"depa/{kind}@1"


KINDS = {typ_of(kind): kind for kind in BODIES}


class Envelope(BaseModel):
    """The statement as it travels; the body is checked against its type's model separately."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    typ: Literal[tuple(KINDS)]  # type: ignore[valid-type]
    iss: DidKey
    iat: AwareDatetime
    body: dict[str, Any]
    sig: str = Field(pattern=r"^[A-Za-z0-9_-]{86}(==)?$")  # base64url; padding tolerated


@dataclass(frozen=True)
class Statement:
    """A parsed statement: `raw` is exactly what was signed, `body` its typed reading."""

    raw: dict[str, Any]
    kind: str
    iss: str
    iat: datetime
    body: Body
    signed_bytes: bytes
    id: str

    def verify(self) -> None:
        """Raise BadSignature unless `sig` is the issuer's signature over `signed_bytes`."""
        keys.verify(self.iss, self.signed_bytes, b64url_decode(self.raw["sig"]))

    def canonical(self) -> bytes:
        """The RFC 8785 bytes of the whole statement, `sig` included, as the log stores it.

        JCS orders the envelope's keys body, iat, iss, sig, typ, so `sig` goes in just before
        `typ` in the signed bytes; this saves canonicalising the statement a second time.
        """
        tail = b',"typ":' + canonical(self.raw["typ"]) + b"}"
        assert self.signed_bytes.endswith(tail)
        sig = str(self.raw["sig"]).encode()  # base64url: no character JSON escapes
        return self.signed_bytes[: -len(tail)] + b',"sig":"' + sig + b'"' + tail


def _schema_error(exc: ValidationError, where: str) -> SchemaViolation:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in (where, *first["loc"]) if p != "")
    return SchemaViolation(
        f"{loc}: {first['msg']}" + (f" ({len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else "")
    )


def from_raw(raw: Any, signed: bytes | None = None) -> Statement:
    """Read a statement already parsed from JSON; check envelope and body, not the signature.

    `signed`, when the caller already holds the canonical bytes without `sig`, spares computing them again."""
    if not isinstance(raw, dict):
        raise MalformedInput("a statement is a JSON object")
    try:
        env = Envelope.model_validate(raw)
    except ValidationError as exc:
        raise _schema_error(exc, "") from exc
    kind = KINDS[env.typ]
    try:
        body = BODIES[kind].model_validate(env.body)
    except ValidationError as exc:
        raise _schema_error(exc, "body") from exc
    signed = signed if signed is not None else signed_bytes(raw)
    return Statement(raw, kind, env.iss, env.iat, body, signed, sha256_digest(signed))


def signed_bytes(raw: dict[str, Any]) -> bytes:
    """What the signature covers: the RFC 8785 bytes of the statement without `sig`."""
    return canonical({k: v for k, v in raw.items() if k != "sig"})


def statement_id(raw: dict[str, Any]) -> str:
    """`sha256:<hex>` of the signed bytes: the same statement always has the same id."""
    return sha256_digest(signed_bytes(raw))


def parse(data: bytes) -> Statement:
    """Parse wire bytes into a statement: size limit, strict JSON, envelope and body."""
    if len(data) > MAX_STATEMENT_BYTES:
        raise TooLarge(f"statement is {len(data)} bytes, over the {MAX_STATEMENT_BYTES} limit")
    return from_raw(parse_json(data))


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign(signer: keys.Signer, kind: str, body: Body | dict[str, Any], iat: str | None = None) -> dict[str, Any]:
    """A signed statement, as the JSON object to send."""
    if isinstance(body, Body):
        body = body.model_dump(mode="json", exclude_none=True)
    unsigned = {"typ": typ_of(kind), "iss": signer.did, "iat": iat or now_rfc3339(), "body": body}
    return {**unsigned, "sig": b64url(signer.sign(canonical(unsigned)))}
