"""The key broker's decision: release a dataset key to a run only on what it verified itself from the ledger.

Every entry it relies on is read with an inclusion proof under a checkpoint consistent with the last it saw
(`LedgerClient.proven`); the ledger's views only say where to look.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, Field

from attestation.evidence import verify_attestation
from chain.client import LedgerClient
from chain.client.verified import active_contract, dids_of
from chain.tlog.freshness import check_nonce, parse_nonce
from chain.tlog.receipt import Receipt
from schemas import keys
from schemas import statement as s
from schemas.canonical import canonical
from schemas.encoding import b64, b64url, b64url_decode
from schemas.errors import AttestationRejected, Conflict, DepaError, NotAllowed, ReleaseRefused
from schemas.keys import Signer, seal
from schemas.statement import RunId


class ReleaseRequest(BaseModel):
    """Asked by the run's agent, signed by the receipt key its attestation bound: nobody else can ask first."""

    run_id: RunId
    dataset: str = Field(min_length=1, max_length=200)
    sig: str = Field(pattern=r"^[A-Za-z0-9_-]{86}(==)?$")  # base64url Ed25519 over request_bytes(run_id, dataset)


def request_bytes(run_id: str, dataset: str) -> bytes:
    return canonical({"typ": "depa/key.request@1", "run_id": run_id, "dataset": dataset})


def sign_request(signer: Signer, run_id: str, dataset: str) -> ReleaseRequest:
    return ReleaseRequest(run_id=run_id, dataset=dataset, sig=b64url(signer.sign(request_bytes(run_id, dataset))))


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


def release(broker: Broker, request: ReleaseRequest) -> Release:
    run_id, dataset = request.run_id, request.dataset
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
    try:
        keys.verify(attestation.iss, request_bytes(run_id, dataset), b64url_decode(request.sig))
    except DepaError:
        raise NotAllowed(
            f"the request is not signed by the receipt key run {run_id}'s attestation bound",
            remedy="only the attested clean room asks for its keys: sign the request with its receipt key",
        ) from None
    contract = active_contract(client, body.contract_id, checkpoint)
    provider = next((d.provider for d in contract.datasets if d.id == dataset), None)
    if provider is None:
        raise ReleaseRefused(f"contract {body.contract_id} does not name dataset {dataset}")
    if provider not in dids_of(client.parties(), broker.signer.did):
        raise ReleaseRefused(f"dataset {dataset} is provided by {provider}, not by this broker's party")
    # The nonce must name a checkpoint of this log, proven here, superseded (by the entry at its size, proven too)
    # no longer before the attestation than the contract's window: a ledger that skipped either check is caught.
    _, claimed = parse_nonce(body.binding.nonce)
    check_nonce(body.binding.nonce, entry.logged_at, contract.ccr.nonce_window_s,
                lambda n: client.root_at(n, claimed, checkpoint),
                lambda n: client.proven(n, checkpoint)[0].logged_at if n < checkpoint.size else None)  # fmt: skip
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
    sealed = b64(seal(body.binding.x25519, broker.identities[dataset].encode()))
    if dataset in run.releases:
        # The same attested key asking again (a lost answer, a restart): the key already went to this run on
        # the ledger, so seal it again to the same attested X25519 key and answer with that entry's receipt.
        return Release(sealed=sealed, receipt=client.receipt(run.releases[dataset]))
    statement = s.sign(
        broker.signer, "key.release",
        {"run_id": run_id, "contract_id": body.contract_id, "dataset": dataset, "recipient": body.binding.x25519},
    )  # fmt: skip
    receipt = client.append(statement)  # the ledger checks again; a refusal here releases nothing
    return Release(sealed=sealed, receipt=receipt)
