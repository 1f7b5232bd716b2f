"""The key broker's decision: release a dataset key to a run only on what it verified itself from the ledger.

Every entry it relies on is read with an inclusion proof under a checkpoint consistent with the last it saw
(`LedgerClient.proven`); the ledger's views only say where to look.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from chain.attestation.evidence import verify_attestation
from chain.client import LedgerClient
from chain.receipt import Receipt
from schemas import statement as s
from schemas.contract import Contract, contract_id
from schemas.encoding import b64
from schemas.errors import AttestationRejected, Conflict, DepaError, NotAllowed
from schemas.keys import Signer, seal


class ReleaseRefused(DepaError):
    status, slug = 403, "release-refused"
    remedy = "nothing was released; the reason names what the ledger does not show"


@dataclass(frozen=True)
class Broker:
    """A data provider's broker: its ledger, its party key, and the age identity of each of its datasets."""

    client: LedgerClient
    signer: Signer
    identities: dict[str, str]  # contract dataset id -> AGE-SECRET-KEY-1...


@dataclass(frozen=True)
class Release:
    sealed: str  # base64 NaCl sealed box of the identity, to the run's attested X25519 key
    receipt: Receipt


def release(broker: Broker, run_id: str, dataset: str) -> Release:
    if dataset not in broker.identities:
        raise NotAllowed(f"this broker holds no key for dataset {dataset}")
    client = broker.client
    checkpoint = client.checkpoint()
    run = client.run(run_id)
    entry, attestation = client.proven(run.attestation_seq, checkpoint)
    body = attestation.body
    if (
        not isinstance(body, s.AttestationReport)
        or body.run_id != run_id
        or attestation.iss != body.binding.receipt_key
    ):
        raise ReleaseRefused(f"entry {run.attestation_seq} is not run {run_id}'s attestation")
    contract = _active_contract(client, body.contract_id, checkpoint)
    provider = next((d.provider for d in contract.datasets if d.id == dataset), None)
    if provider is None:
        raise ReleaseRefused(f"contract {body.contract_id} does not name dataset {dataset}")
    if provider not in _dids_of(client, broker.signer.did):
        raise ReleaseRefused(f"dataset {dataset} is provided by {provider}, not by this broker's party")
    result = verify_attestation(body, contract.ccr, at=entry.logged_at)
    if not result.verified:
        failed = "; ".join(f"{c.name}: {c.reason}" for c in result.failures)
        raise AttestationRejected(f"run {run_id}'s attestation does not verify: {failed}")
    if contract.privacy_cap(dataset) is not None:
        seq = run.reservations.get(dataset)
        if seq is None:
            raise Conflict(f"run {run_id} has reserved no budget on {dataset}")
        _, reserve = client.proven(seq, checkpoint)
        if not (isinstance(reserve.body, s.BudgetReserve) and reserve.iss == attestation.iss
                and reserve.body.run_id == run_id and reserve.body.dataset == dataset):  # fmt: skip
            raise ReleaseRefused(f"entry {seq} is not run {run_id}'s reservation on {dataset}")
    if dataset in run.releases:
        raise Conflict(f"the key of {dataset} was already released to run {run_id}")
    statement = s.sign(
        broker.signer, "key.release",
        {"run_id": run_id, "contract_id": body.contract_id, "dataset": dataset, "recipient": body.binding.x25519},
    )  # fmt: skip
    receipt = client.append(statement)  # the ledger checks again; a refusal here releases nothing
    return Release(sealed=b64(seal(body.binding.x25519, broker.identities[dataset].encode())), receipt=receipt)


def _active_contract(client: LedgerClient, cid: str, checkpoint) -> Contract:
    """The contract from its proposal entry, signed (in proven entries) by every party it names, in force now."""
    view = client.contract(cid)
    _, proposal = client.proven(view.proposed_seq, checkpoint)
    if not isinstance(proposal.body, s.ContractPropose) or contract_id(proposal.raw["body"]["contract"]) != cid:
        raise ReleaseRefused(f"entry {view.proposed_seq} is not the proposal of contract {cid}")
    contract = proposal.body.contract
    signed = set()
    for sig in view.signatures:
        _, st = client.proven(sig.seq, checkpoint)
        if isinstance(st.body, s.ContractSign) and st.body.contract_id == cid:
            signed.add(st.iss)
    for ref in contract.named_parties():
        if not signed & _dids_of(client, ref):
            raise ReleaseRefused(f"contract {cid} is not signed by {ref}")
    now = datetime.now(UTC)
    if not contract.startTime <= now < contract.expiryTime or view.revoke_reason is not None or view.state != "active":
        raise ReleaseRefused(f"contract {cid} is not in force ({view.state})")
    return contract


def _dids_of(client: LedgerClient, ref: str) -> set[str]:
    """Every DID and alias of the party a DID or alias names (as registered), or just the reference itself."""
    for party in client.parties():
        names = {party.did, *party.former_dids, *party.aliases}
        if ref in names:
            return names
    return {ref}
