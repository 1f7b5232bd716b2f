"""Who may read what, when a ledger serves its parties only (`depa-chain serve --read parties`).

Checkpoints, the vkey and proofs are public: witnesses and mirrors need them, and they name nobody.
Entries and the views built from them name parties, datasets and terms, so each reader sees:
- the operator, and parties with the AUDITOR or OPERATOR role: everything;
- any other party: the directory (party registrations, artefacts registered under no contract) and
  everything of the contracts it proposed or is named in;
- an attested run's key: the directory and its own contract.
What a reader may not see answers 404, as if it did not exist: a refusal would confirm that it does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from chain.ledger.rules import Registry
from schemas.contract import contract_id
from schemas.errors import NotAllowed

ReadMode = Literal["public", "parties"]
WHOLE_LOG_ROLES = frozenset({"AUDITOR", "OPERATOR"})


@dataclass(frozen=True)
class Reader:
    everything: bool
    contracts: frozenset[str] = frozenset()

    def sees_contract(self, cid: str | None) -> bool:
        """`None` is the directory, which every reader sees."""
        return self.everything or cid is None or cid in self.contracts


EVERYONE = Reader(True)  # a public ledger's reader


def reader_of(registry: Registry, did: str) -> Reader:
    """The reader a verified signature names; NotAllowed for a key that is no current party or attested run."""
    if did == registry.operator:
        return Reader(True)
    if did in registry.agents:
        return Reader(False, frozenset({registry.agents[did]}))
    party = registry.parties.get(did)
    if party is None:
        raise NotAllowed(f"{did} is not a registered party of this ledger, which serves its parties only")
    registry.active_signer(did)  # a revoked party reads nothing; a rotated-away key is no longer the party
    if WHOLE_LOG_ROLES & set(party.roles):
        return Reader(True)
    mine = frozenset(
        cid
        for cid, record in registry.contracts.items()
        if record.proposer in (party.did, *party.former_dids) or any(p.key == party.key for p in record.named.values())
    )
    return Reader(False, mine)


def contract_of(registry: Registry, statement: dict[str, Any]) -> str | None:
    """The contract a logged statement belongs to; None for the directory (parties, uncontracted artefacts)."""
    found = statement.get("body")
    body: dict[str, Any] = found if isinstance(found, dict) else {}
    typ = statement.get("typ")
    if typ == "depa/contract.propose@1":
        return contract_id(body["contract"])
    if typ == "depa/run.complete@1":
        run = registry.runs.get(str(body.get("run_id")))
        return run.contract_id if run is not None else ""  # "" is no reader's contract
    cid = body.get("contract_id")
    return cid if isinstance(cid, str) else None
