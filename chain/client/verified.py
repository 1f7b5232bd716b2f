"""What a party reads from the ledger without trusting it: each fact re-derived from entries read with proof."""

from __future__ import annotations

from datetime import UTC, datetime

from chain.client import LedgerClient
from chain.tlog.checkpoint import Checkpoint
from schemas import statement as s
from schemas.api import PartyView
from schemas.contract import Contract, contract_id
from schemas.errors import Unverified


def active_contract(client: LedgerClient, cid: str, checkpoint: Checkpoint) -> Contract:
    """The contract from its proposal entry, signed (in proven entries) by every party it names, in force now."""
    view = client.contract(cid)
    _, proposal = client.proven(view.proposed_seq, checkpoint)
    if not isinstance(proposal.body, s.ContractPropose) or contract_id(proposal.raw["body"]["contract"]) != cid:
        raise Unverified(f"entry {view.proposed_seq} is not the proposal of contract {cid}")
    contract = proposal.body.contract
    signed, parties = set(), client.parties()
    for sig in view.signatures:
        _, st = client.proven(sig.seq, checkpoint)
        if isinstance(st.body, s.ContractSign) and st.body.contract_id == cid:
            signed.add(st.iss)
    for ref in contract.named_parties():
        if not signed & dids_of(parties, ref):
            raise Unverified(f"contract {cid} is not signed by {ref}")
    now = datetime.now(UTC)
    if not contract.startTime <= now < contract.expiryTime or view.revoke_reason is not None or view.state != "active":
        raise Unverified(f"contract {cid} is not in force ({view.state})")
    return contract


def dids_of(parties: list[PartyView], ref: str) -> set[str]:
    """Every DID and alias of the party a DID or alias names (as registered), or just the reference itself."""
    for party in parties:
        names = {party.did, *party.former_dids, *party.aliases}
        if ref in names:
            return names
    return {ref}
