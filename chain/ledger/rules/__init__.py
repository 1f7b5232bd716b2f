"""The admission rules of docs/design.md, flows: one module per family of statements, found through one table.

`admit` raises the typed error that refuses a statement at a time; `apply` records an admitted one. Both are
pure: the ledger replays its log through `apply` on start. A test holds RULES to every statement type the schema
knows, so a new type cannot land without its rule.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from chain.ledger.rules import artefacts, budget, contracts, parties, runs
from chain.ledger.state import State
from schemas import statement as s
from schemas.errors import NotAllowed

Admit = Callable[[State, s.Statement, Any, datetime], None]
Apply = Callable[[State, s.Statement, Any, int, datetime], None]

RULES: dict[str, tuple[Admit, Apply]] = {
    "party.register": (parties.admit_register, parties.apply_register),
    "party.rotate": (parties.admit_rotate, parties.apply_rotate),
    "party.revoke": (parties.admit_revoke, parties.apply_revoke),
    "contract.propose": (contracts.admit_propose, contracts.apply_propose),
    "contract.sign": (contracts.admit_sign, contracts.apply_sign),
    "contract.revoke": (contracts.admit_revoke, contracts.apply_revoke),
    "artefact.register": (artefacts.admit_register, artefacts.apply_register),
    "dataset.cap": (artefacts.admit_cap, artefacts.apply_cap),
    "attestation.report": (runs.admit_attestation, runs.apply_attestation),
    "run.start": (runs.admit_start, runs.apply_start),
    "run.complete": (runs.admit_complete, runs.apply_complete),
    "key.release": (runs.admit_key_release, runs.apply_key_release),
    "budget.reserve": (budget.admit_reserve, budget.apply_reserve),
    "budget.commit": (budget.admit_commit, budget.apply_commit),
    "budget.abort": (budget.admit_abort, budget.apply_abort),
}


class Registry(State):
    """The ledger's state with its rules: what the ledger admits statements through and replays its log into."""

    def admit(self, st: s.Statement, now: datetime) -> None:
        """Raise the error that refuses `st` at time `now`, or return if the log takes it."""
        known_signer(self, st)
        RULES[st.kind][0](self, st, st.body, now)

    def apply(self, st: s.Statement, seq: int, logged_at: datetime) -> None:
        """Record an admitted statement (or replay one from the log)."""
        RULES[st.kind][1](self, st, st.body, seq, logged_at)


def known_signer(reg: State, st: s.Statement) -> None:
    """The cheap check first: only an attestation introduces a new key; every other statement is signed by
    the operator, a party or an attested run, so a stranger's statement is refused before its body is read."""
    if st.kind == "attestation.report" or st.iss == reg.operator or st.iss in reg.parties:
        return
    if st.iss not in reg.agents:
        raise NotAllowed(f"{st.iss} is not the operator, a registered party or an attested run's key")
