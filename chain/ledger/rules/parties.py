"""Parties (docs/design.md, flows): the operator registers them; a party rotates its own key; the operator revokes."""

from __future__ import annotations

from datetime import datetime

from chain.ledger.records import Party
from chain.ledger.state import State
from schemas import statement as s
from schemas.errors import (
    Conflict,
    NotAllowed,
    NotFound,
    Unprocessable,
)


def admit_register(reg: State, st: s.Statement, body: s.PartyRegister, now: datetime) -> None:
    reg.require_operator(st)
    if body.did in reg.parties:
        raise Conflict(f"{body.did} is already registered")
    refs = [body.did, body.name, *(body.aliases or [])]
    if len(set(refs)) != len(refs):
        raise Unprocessable("a party's DID, name and aliases are all different")
    for ref in refs:
        holder = reg.taken(ref)
        if holder is not None:
            raise Conflict(f"{ref} already names {holder}; a party's DID, name and aliases name nobody else")


def apply_register(reg: State, st: s.Statement, b: s.PartyRegister, seq: int, at: datetime) -> None:
    party = Party(
        did=b.did,
        name=b.name,
        roles=list(b.roles),
        x25519=b.x25519,
        aliases=list(b.aliases or []),
        registered_seq=seq,
        registered_at=at,
    )
    reg.parties[b.did] = party
    reg.names[b.name] = party
    for alias in party.aliases:
        reg.aliases[alias] = party


def admit_rotate(reg: State, st: s.Statement, body: s.PartyRotate, now: datetime) -> None:
    party = reg.parties.get(body.did)
    if party is None:
        raise NotFound(f"no party {body.did}")
    if st.iss != reg.operator and st.iss != party.did:
        raise NotAllowed("party.rotate is signed by the operator or by the party's current key")
    reg.active_signer(body.did)
    holder = reg.taken(body.new_did)
    if holder is not None:
        raise Conflict(f"{body.new_did} already names {holder}")


def apply_rotate(reg: State, st: s.Statement, b: s.PartyRotate, seq: int, at: datetime) -> None:
    party = reg.parties[b.did]
    party.former_dids.append(party.did)
    party.did = b.new_did
    reg.parties[b.new_did] = party


def admit_revoke(reg: State, st: s.Statement, body: s.PartyRevoke, now: datetime) -> None:
    reg.require_operator(st)
    party = reg.parties.get(body.did)
    if party is None:
        raise NotFound(f"no party {body.did}")
    if party.revoked_at is not None:
        raise Conflict(f"{party.name} is already revoked")


def apply_revoke(reg: State, st: s.Statement, b: s.PartyRevoke, seq: int, at: datetime) -> None:
    party = reg.parties[b.did]
    party.revoked_at, party.revoke_reason = at, b.reason
