"""The ledger: admits signed statements, integrates them in batches, answers with receipts.

The append path (docs/ledger.md): the caller parses; then, in one batch under one lock:
check each signature, drop replays, admit each statement against the registry, build
the leaves, extend the tree, sign one checkpoint, write entries, nodes and checkpoint in
one transaction, and only then hand out receipts.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import islice

from chain.ledger.integrity import scan
from chain.ledger.readers import EVERYONE, Reader, contract_of, reader_of
from chain.ledger.records import ContractRecord
from chain.ledger.store import Batch, Store
from chain.ledger.views import artefact_view, budget_view, contract_view, party_view, run_view
from chain.tlog import entry, merkle
from chain.tlog.checkpoint import (
    Checkpoint,
    Note,
    VerifierKey,
    parse_note,
    sign_checkpoint,
    verify_checkpoint,
    verify_cosignature,
    vkey_of,
)
from chain.tlog.receipt import Receipt, build
from schemas import statement as s
from schemas.api import (
    ArtefactView,
    BudgetView,
    ConsistencyProof,
    ContractView,
    InclusionProof,
    Lineage,
    LineageEdge,
    LogInfo,
    PartyView,
    RunView,
)
from schemas.canonical import sha256_digest
from schemas.encoding import b64
from schemas.errors import (
    DepaError,
    MalformedInput,
    NotAllowed,
    NotFound,
    Unavailable,
    Unprocessable,
)
from schemas.keys import Signer
from schemas.lineage import Direction, walk

Clock = Callable[[], datetime]
Outcome = Receipt | DepaError
log = logging.getLogger("depa.ledger")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _unforeseen(st: s.Statement, doing: str) -> Unprocessable:
    """The refusal of a statement that broke a check: the traceback goes to the operator's log, not to the sender."""
    log.exception("statement %s (%s) raised an unexpected error while %s it; refused", st.id, st.kind, doing)
    return Unprocessable(
        f"the ledger could not check statement {st.id}; it was refused and the operator's log names it",
        remedy="check the statement's evidence and numbers; if it is well formed, report it to the operator",
    )


class Ledger:
    def __init__(self, store: Store, origin: str, checkpoint_key: Signer, operator: str, clock: Clock | None = None):
        self.store = store
        self.origin = origin
        self._signer = checkpoint_key
        self.vkey = vkey_of(origin, checkpoint_key)
        self.operator = operator
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._load()

    def _load(self) -> None:
        """Rebuild tree and registry from the stored log, every stored byte checked against the leaves."""
        found = scan(self.store, self.vkey, self.operator)
        tree, registry, note = found.tree, found.registry, found.note
        if note is None:
            note = sign_checkpoint(Checkpoint(self.origin, 0, merkle.EMPTY_ROOT), self._signer)
            self.store.write_checkpoint(0, note)
        self._tree, self.registry, self._note = tree, registry, note
        registry.history = self
        self.failure: str | None = None
        self._witnessed = self.store.latest_witnessed()

    # --- the append path ------------------------------------------------------------

    def append(self, st: s.Statement) -> tuple[Receipt, bool]:
        """Integrate one statement alone; return its receipt and whether it is new."""
        outcome, new = self.integrate([st])[0]
        if isinstance(outcome, DepaError):
            raise outcome
        return outcome, new

    def integrate(self, batch: Sequence[s.Statement]) -> list[tuple[Outcome, bool]]:
        """Admit a batch of parsed statements; one outcome each, in order.

        A statement that makes a check or a state change fail in a way nobody foresaw is refused alone
        (logged with its id); the registry then holds exactly the log plus this batch's admitted statements.
        """
        with self._lock:
            self._require_healthy()
            # The registry keeps the time as logged (milliseconds), so a replay on restart agrees.
            now = self._clock()
            now = now.replace(microsecond=now.microsecond // 1000 * 1000)
            logged_at = entry.timestamp(now)
            ids = [bytes.fromhex(st.id[7:]) for st in batch]
            try:
                known = self.store.seqs_of(ids)
            except Exception as exc:
                log.error("the store does not answer: %s", _describe(exc))
                raise Unavailable("the database does not answer; nothing was logged") from None
            outcomes: list[DepaError | tuple[int, bool]] = []  # refusal, or (seq, new)
            admitted: dict[bytes, int] = {}
            applied: list[s.Statement] = []
            first = self._tree.size
            leaves: list[bytes] = []
            for st, sid in zip(batch, ids, strict=True):
                seq = known.get(sid, admitted.get(sid))
                try:
                    st.verify()  # libsodium releases the GIL: the event loop parses meanwhile
                    if seq is not None:
                        outcomes.append((seq, False))  # a replay: answered with the existing entry
                        continue
                    self.registry.admit(st, now)
                except DepaError as exc:
                    outcomes.append(exc)
                    continue
                except Exception:
                    outcomes.append(_unforeseen(st, "checking"))
                    continue
                seq = first + len(leaves)
                try:
                    self.registry.apply(st, seq, now)
                except Exception:
                    outcomes.append(_unforeseen(st, "recording"))
                    self._rebuild(applied, first, now)  # the failed apply may have changed part of the registry
                    continue
                applied.append(st)
                admitted[sid] = seq
                leaves.append(entry.encode(seq, logged_at, st.canonical()))
                outcomes.append((seq, True))
            if leaves:
                self._commit(first, leaves, list(admitted))
            return [self._outcome(o, st, first, leaves) for o, st in zip(outcomes, batch, strict=True)]

    def _rebuild(self, applied: Sequence[s.Statement], first: int, now: datetime) -> None:
        """The registry as the stored log leaves it, plus this batch's statements applied so far."""
        self._reload()
        for seq, st in enumerate(applied, start=first):
            self.registry.apply(st, seq, now)

    def _reload(self) -> None:
        """Read tree and registry back from the store after they ran ahead of it."""
        try:
            self._load()
        except Exception as exc:
            # Until the log reads back, the registry may hold what the log does not: refuse everything.
            self.failure = _describe(exc)
            log.error("the ledger is not ready: it cannot read its log back: %s", self.failure)
            raise Unavailable("the ledger cannot read its own log back; nothing was logged") from None

    def _require_healthy(self) -> None:
        if self.failure is not None:
            self._reload()  # the store may be back

    def _commit(self, first: int, leaves: list[bytes], ids: list[bytes]) -> None:
        nodes = [n for leaf in leaves for n in self._tree.append(merkle.leaf_hash(leaf))]
        note = sign_checkpoint(Checkpoint(self.origin, self._tree.size, self._tree.root()), self._signer)
        try:
            self.store.append(Batch(first, leaves, ids, nodes, note))
        except Exception as exc:
            log.error("a batch of %d entries could not be written: %s", len(leaves), _describe(exc))
            self._reload()
            raise Unavailable("the log could not be written; nothing in this batch was logged") from None
        self._note = note

    def _outcome(
        self, o: DepaError | tuple[int, bool], st: s.Statement, first: int, leaves: list[bytes]
    ) -> tuple[Outcome, bool]:
        if isinstance(o, DepaError):
            return o, False
        seq, new = o
        leaf = leaves[seq - first] if seq >= first else self.leaf(seq)
        proof = merkle.inclusion_proof(seq, self._tree.size, self._tree.read)
        return build(seq, leaf, proof, self._note, st.id), new

    # --- reads ----------------------------------------------------------------------

    def not_ready(self) -> str | None:
        """Why this ledger cannot take appends now, or None."""
        if self.failure is not None:
            return "the ledger cannot read its own log back"
        try:
            self.store.size()
        except Exception as exc:
            log.warning("the store does not answer: %s", _describe(exc))
            return "the database does not answer"
        return None

    def info(self) -> LogInfo:
        return LogInfo(origin=self.origin, vkey=str(self.vkey), operator=self.operator, size=self._tree.size)

    def checkpoint(self) -> str:
        return self._note

    def witnessed(self) -> str:
        """The newest checkpoint that carries witnesses' cosignatures."""
        with self._lock:
            if self._witnessed is None:
                raise NotFound("no witness has cosigned a checkpoint of this ledger yet")
            return self._witnessed

    def add_cosignatures(self, cosigned: str, witnesses: Sequence[VerifierKey]) -> str:
        """Keep the cosignatures of known witnesses on one of this ledger's checkpoints; return the merged note."""
        cp = verify_checkpoint(cosigned, self.vkey)  # our own signature, on a checkpoint we signed
        offered = parse_note(cosigned)
        with self._lock:
            stored = self.store.checkpoint_at(cp.size)
            if stored is None or parse_note(stored).text != offered.text:
                raise NotFound(f"this ledger signed no such checkpoint of size {cp.size}")
            kept = list(parse_note(stored).signatures)
            added = []
            for sig in offered.signatures:
                if sig in kept:
                    continue
                witness = next((w for w in witnesses if w.name == sig.name and w.key_id == sig.key_id), None)
                if witness is None:
                    raise NotAllowed(f"{sig.name} is not a witness this ledger accepts (DEPA_WITNESSES)")
                verify_cosignature(offered.text + "\n" + sig.line(), witness)
                added.append(sig)
            if len(kept) + len(added) == 1:
                raise Unprocessable(
                    "the note carries no witness's cosignature: post the checkpoint a witness cosigned",
                    remedy="a witness adds a cosignature/v1 line (c2sp.org/tlog-cosignature) and posts the note",
                )
            merged = str(Note(offered.text, (*kept, *added)))
            self.store.write_checkpoint(cp.size, merged)
            if cp.size == self._tree.size:
                self._note = merged
            if self._witnessed is None or cp.size >= verify_checkpoint(self._witnessed, self.vkey).size:
                self._witnessed = merged
            return merged

    def leaves(self, start: int, limit: int, reader: Reader = EVERYONE) -> list[bytes]:
        if start < 0 or not 1 <= limit <= 1000:
            raise MalformedInput("start must be >= 0 and limit between 1 and 1000")
        if not reader.everything:  # pages of a filtered log would not add up to the log an audit checks
            raise NotAllowed("listing the log is for the operator and auditors; a party reads its entries one by one")
        # Bounded by the tree before the store sees it: a database integer is 64 bits wide, a query's is not.
        return self.store.leaves(start, limit) if start < self._tree.size else []

    def leaf(self, seq: int, reader: Reader = EVERYONE) -> bytes:
        rows = self.store.leaves(seq, 1) if 0 <= seq < self._tree.size else []
        if not rows or not self._sees(reader, rows[0]):
            raise NotFound(f"no entry {seq}")
        return rows[0]

    def statement(self, statement_id: str, reader: Reader = EVERYONE) -> bytes:
        """The entry that logged the statement with this id."""
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", statement_id):
            raise MalformedInput(f"{statement_id!r} is not a statement id (sha256: and 64 hex digits)")
        sid = bytes.fromhex(statement_id[7:])
        seq = self.store.seqs_of([sid]).get(sid)
        if seq is None:
            raise NotFound(f"no statement {statement_id} in this log")
        return self.leaf(seq, reader)

    def _sees(self, reader: Reader, leaf: bytes) -> bool:
        if reader.everything:
            return True
        with self._lock:
            return reader.sees_contract(contract_of(self.registry, entry.decode(leaf).statement))

    def receipt(self, seq: int, reader: Reader = EVERYONE) -> Receipt:
        """The receipt of an entry already logged, under the newest checkpoint."""
        leaf = self.leaf(seq, reader)  # stored rows never change; the tree always holds what the store does
        with self._lock:
            note, size = self._note, self._tree.size
            proof = merkle.inclusion_proof(seq, size, self._tree.read)
        return build(seq, leaf, proof, note, sha256_digest(entry.signed_bytes(leaf, entry.decode(leaf))))

    def root_at(self, size: int) -> bytes | None:
        """The log's root at `size` (attestation nonces name one), None past its end."""
        return self._tree.root(size) if 0 <= size <= self._tree.size else None

    def superseded_at(self, size: int) -> datetime | None:
        """When the checkpoint of `size` stopped being the newest: entry `size`'s logged_at."""
        if size >= self._tree.size:
            return None
        return entry.decode(self.store.leaves(size, 1)[0]).logged_at

    def reader(self, did: str) -> Reader:
        """What the party, operator or attested run with this key may read."""
        with self._lock:
            return reader_of(self.registry, did)

    def inclusion(self, seq: int, size: int) -> InclusionProof:
        if not 0 <= seq < size <= self._tree.size:
            raise NotFound(f"no entry {seq} in a tree of size {size} (the log has {self._tree.size})")
        proof = merkle.inclusion_proof(seq, size, self.store.read_nodes)
        leaf_hash = self.store.read_nodes([(0, seq)])[0]
        return InclusionProof(seq=seq, size=size, leaf_hash=b64(leaf_hash), proof=[b64(p) for p in proof])

    def consistency(self, first: int, second: int) -> ConsistencyProof:
        if not 0 < first <= second <= self._tree.size:
            raise NotFound(f"no consistency proof from {first} to {second} (the log has {self._tree.size})")
        proof = merkle.consistency_proof(first, second, self.store.read_nodes)
        return ConsistencyProof(first=first, second=second, proof=[b64(p) for p in proof])

    def parties(self) -> list[PartyView]:
        with self._lock:
            return [party_view(p) for p in self.registry.current_parties()]

    def party(self, ref: str) -> PartyView | None:
        """The party `ref` names: by any DID it had, or by alias."""
        with self._lock:
            found = self.registry.resolve(ref)
            return party_view(found) if found else None

    def dids_of(self, party: str) -> list[str]:
        """Every DID the parties named `party` (or that ever had that DID) signed with."""
        with self._lock:
            found = {id(p): p for did, p in self.registry.parties.items() if party in (did, p.name)}
            return sorted({d for p in found.values() for d in (p.did, *p.former_dids)})

    def contracts(self) -> list[ContractView]:
        """Every contract the log holds, newest first."""
        with self._lock:
            now = self._clock()
            return [contract_view(r, now) for r in reversed(self.registry.contracts.values())]

    def artefacts(self, kind: str | None, limit: int) -> list[ArtefactView]:
        """The newest `limit` artefacts, of one kind if `kind` is given."""
        with self._lock:
            newest = (a for a in reversed(self.registry.artefacts.values()) if kind in (None, a.kind))
            return [artefact_view(a, self.registry.derived.get(a.digest, ())) for a in islice(newest, limit)]

    def _contract(self, contract_id: str, reader: Reader) -> ContractRecord:
        if not reader.sees_contract(contract_id):
            raise NotFound(f"no contract {contract_id}")
        return self.registry.contract(contract_id)

    def contract(self, contract_id: str, reader: Reader = EVERYONE) -> ContractView:
        with self._lock:
            return contract_view(self._contract(contract_id, reader), self._clock())

    def budget(self, contract_id: str, reader: Reader = EVERYONE) -> BudgetView:
        with self._lock:
            record = self._contract(contract_id, reader)
            return BudgetView(
                contract_id=contract_id,
                datasets=[
                    budget_view(cap.dataset, self.registry.budget_of(contract_id, cap.dataset))
                    for cap in record.contract.privacy()
                ],
            )

    def run(self, run_id: str, reader: Reader = EVERYONE) -> RunView:
        with self._lock:
            found = self.registry.runs.get(run_id)
            if found is None or not reader.sees_contract(found.contract_id):
                raise NotFound(f"no attested run {run_id}")
            return run_view(found)

    def artefact(self, digest: str, reader: Reader = EVERYONE) -> ArtefactView:
        with self._lock:
            found = self.registry.artefacts.get(digest)
            if found is None or not reader.sees_contract(found.contract_id):
                raise NotFound(f"no artefact {digest}")
            return artefact_view(found, self._children(digest, reader), self.registry.sources.get(digest))

    def digests_starting(self, prefix: str, reader: Reader = EVERYONE, limit: int = 10) -> list[str]:
        """The artefacts the reader sees whose digest starts with `prefix` (at least 8 hex digits), so a short
        digest can be pasted back; at most `limit`."""
        if not re.fullmatch(r"sha256:[0-9a-f]{8,64}", prefix):
            raise MalformedInput(f"{prefix!r} is not a digest prefix (sha256: and 8 to 64 hex digits)")
        with self._lock:  # one copy of the records under the lock the appends take; the scan runs after it
            arts = list(self.registry.artefacts.items())
        found = (d for d, a in arts if d.startswith(prefix) and reader.sees_contract(a.contract_id))
        return list(islice(found, limit))

    def _children(self, digest: str, reader: Reader) -> tuple[str, ...]:
        children = self.registry.derived.get(digest, ())
        if reader.everything:
            return children
        arts = self.registry.artefacts
        return tuple(c for c in children if reader.sees_contract(arts[c].contract_id))

    def lineage(self, digest: str, direction: Direction, reader: Reader = EVERYONE) -> Lineage:
        """Every artefact the reader sees that is reachable from `digest` through derived_from (up) or back (down)."""
        with self._lock:
            arts = self.registry.artefacts

            def shown(d: str) -> bool:
                return d in arts and reader.sees_contract(arts[d].contract_id)

            if not shown(digest):
                raise NotFound(f"no artefact {digest}")
            seen, links = walk(
                digest, lambda d: arts[d].derived_from, lambda d: self.registry.derived.get(d, ()), direction, shown
            )
            return Lineage(
                root=digest,
                direction=direction,
                artefacts=[
                    artefact_view(arts[d], self._children(d, reader)) for d in sorted(seen, key=lambda d: arts[d].seq)
                ],
                edges=[LineageEdge(parent=p, child=c) for p, c in sorted(links)],
            )
