"""Contracts (docs/design.md, flows): proposed and signed by the parties they name, revoked by one of them or the
operator. A provider's signature draws the contract's caps from the datasets it caps across contracts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from chain.ledger.records import ContractRecord, Party, Signature
from chain.ledger.state import State
from privacy.budget import Draw, SourceBudget, delta_limit
from schemas import statement as s
from schemas.contract import Contract, Dataset, contract_id
from schemas.errors import (
    BudgetExceeded,
    Conflict,
    NotAllowed,
    Unprocessable,
)


def admit_propose(reg: State, st: s.Statement, body: s.ContractPropose, now: datetime) -> None:
    cid = contract_id(st.raw["body"]["contract"])
    if cid in reg.contracts:
        raise Conflict(f"contract {cid} was already proposed")
    c = body.contract
    missing = c.missing_parties(lambda ref: reg.resolve(ref) is not None)
    if missing:
        raise Unprocessable("contract parties are not resolved: " + "; ".join(missing))
    for ref, role in c.named_parties().items():
        party = reg.resolve(ref)
        assert party is not None
        if role not in party.roles:
            raise Unprocessable(f"{ref} ({party.name}) is named as {role} but lacks that role")
        if party.revoked_at is not None:
            raise Unprocessable(f"{ref} ({party.name}) was revoked")
    proposer = reg.active_signer(st.iss)
    if proposer.key not in {reg.resolve(ref).key for ref in c.named_parties()}:  # type: ignore[union-attr]
        raise NotAllowed(f"{proposer.name} is not named in the contract it proposes")
    for did in c.recipients:
        if reg.resolve(did) is None:
            raise Unprocessable(f"output recipient {did} is not a registered party")
    for d in c.datasets:
        _check_source(reg, c, d)
    if c.base_model is not None:
        art = reg.artefacts.get(c.base_model)
        if art is None or art.kind != "model":
            raise Unprocessable(
                f"base_model {c.base_model} is not a registered model",
                remedy="register the base model first: depa-chain artefact register FILE --kind model",
            )
    _check_draws(reg, cid, c, c.named_parties())


def apply_propose(reg: State, st: s.Statement, b: s.ContractPropose, seq: int, at: datetime) -> None:
    named = {ref: reg.resolve(ref) for ref in b.contract.named_parties()}
    raw = st.raw["body"]["contract"]
    cid = contract_id(raw)
    reg.contracts[cid] = ContractRecord(cid, b.contract, st.iss, seq, at, named, raw)  # type: ignore[arg-type]


def _check_source(reg: State, c: Contract, d: Dataset) -> None:
    """A dataset's source is its provider's registered data; its record count bounds the contract's delta."""
    if d.source is None:
        return
    art = reg.artefacts.get(d.source)
    if art is None or art.kind != "dataset" or art.produced_by is not None:
        raise Unprocessable(f"dataset {d.id}'s source {d.source} is not a registered provider dataset")
    provider = reg.resolve(d.provider)
    if provider is None or reg.owner_key(d.source) != provider.key:
        raise Unprocessable(f"dataset {d.id}'s source {d.source} was registered by another party than its provider")
    cap = c.privacy_cap(d.id)
    source = reg.sources.get(d.source)
    if cap is None and source is not None and source.capped:
        raise Unprocessable(
            f"dataset {d.id}'s source {art.name} is capped by its provider: the contract caps its privacy too",
            remedy="add a privacy constraint on the dataset",
        )
    if (
        cap is not None
        and art.records is not None
        and cap.delta > delta_limit(art.records)
        and not cap.allow_large_delta
    ):
        raise Unprocessable(
            f"delta {cap.delta:g} on {d.id} is over 1/(10 n) = {delta_limit(art.records):.3g} for the"
            f" {art.records} records of {art.name}",
            remedy="lower the delta, or set allow_large_delta in the privacy constraint",
        )


def _check_draws(reg: State, cid: str, c: Contract, signers: Iterable[str]) -> None:
    """Refuse a contract whose draws, by the providers among `signers`, would take a source past its cap."""
    keys = {p.key for ref in signers if (p := reg.resolve(ref)) is not None}
    for source_digest, draws in _draws(reg, cid, c, keys).items():
        source = reg.sources.get(source_digest, SourceBudget())
        if not source.fits(draws.values()):
            eps, delta = source.drawn()
            want_eps, want_delta = source.drawn(draws.values())
            raise BudgetExceeded(
                f"contract {cid} would draw epsilon {want_eps - eps:g}, delta {want_delta - delta:g} from"
                f" {reg.artefacts[source_digest].name}, whose cap across contracts is epsilon {source.epsilon:g},"
                f" delta {source.delta:g}, of which contracts already draw {eps:g} and {delta:g}",
                remedy="lower the contract's privacy caps on the dataset, or ask its provider for a new dataset",
                cap=source.epsilon,
                delta=source.delta,
                committed_epsilon=eps,
                composed_epsilon=eps,
                remaining_epsilon=max(0.0, source.epsilon - eps),  # type: ignore[operator]
                requested_epsilon=want_eps - eps,
            )


def _draws(reg: State, cid: str, c: Contract, provider_keys: set[str]) -> dict[str, dict[tuple[str, str], Draw]]:
    """What a contract draws from each source whose owner is among `provider_keys`: (ε, δ) per dataset label."""
    found: dict[str, dict[tuple[str, str], Draw]] = {}
    for d in c.datasets:
        cap = c.privacy_cap(d.id)
        if d.source is None or cap is None or reg.owner_key(d.source) not in provider_keys:
            continue
        found.setdefault(d.source, {})[(cid, d.id)] = (cap.epsilon_threshold, cap.delta)
    return found


def admit_sign(reg: State, st: s.Statement, body: s.ContractSign, now: datetime) -> None:
    record = reg.contract(body.contract_id)
    signer = reg.active_signer(st.iss)
    if signer.key not in {p.key for p in record.named.values()}:
        raise NotAllowed(f"{signer.name} is not named in contract {record.id}")
    if record.state(now) == "closed":
        raise Conflict(f"contract {record.id} is closed")
    if signer.key in record.signatures:
        raise Conflict(f"{signer.name} already signed contract {record.id}")
    _check_draws(reg, record.id, record.contract, [signer.did])


def apply_sign(reg: State, st: s.Statement, b: s.ContractSign, seq: int, at: datetime) -> None:
    party = reg.parties[st.iss]
    record = reg.contracts[b.contract_id]
    record.signatures[party.key] = Signature(st.iss, seq, at)
    _note_draws(reg, record, party)


def _note_draws(reg: State, record: ContractRecord, party: Party) -> None:
    """The party's signature draws the contract's caps from the sources it provides."""
    for source, draws in _draws(reg, record.id, record.contract, {party.key}).items():
        reg.sources.setdefault(source, SourceBudget()).draws.update(draws)
    for d in record.contract.datasets:
        owned = d.source is not None and reg.owner_key(d.source) == party.key
        if owned and record.contract.privacy_cap(d.id) is None:
            reg.sources.setdefault(d.source, SourceBudget()).uncapped.append(record.id)  # type: ignore[arg-type]


def admit_revoke(reg: State, st: s.Statement, body: s.ContractRevoke, now: datetime) -> None:
    record = reg.contract(body.contract_id)
    if st.iss != reg.operator:
        signer = reg.active_signer(st.iss)
        if signer.key not in {p.key for p in record.named.values()}:
            raise NotAllowed("contract.revoke is signed by a named party or the operator")
    if record.revoked_at is not None:
        raise Conflict(f"contract {record.id} is already revoked")


def apply_revoke(reg: State, st: s.Statement, b: s.ContractRevoke, seq: int, at: datetime) -> None:
    record = reg.contracts[b.contract_id]
    record.revoked_at, record.revoked_by, record.revoke_reason = at, st.iss, b.reason
