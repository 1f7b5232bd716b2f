"""A ledger client that trusts nothing it is told: every receipt is verified before it is
returned, and every checkpoint it sees must be consistent with the last one it remembers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from chain.client.http import SignedReads, problem_error, signed_by
from chain.tlog import entry, merkle
from chain.tlog.checkpoint import Checkpoint, VerifierKey, verify_checkpoint, verify_cosignature
from chain.tlog.entry import Entry
from chain.tlog.receipt import Receipt
from schemas import statement as s
from schemas.api import (
    ArtefactView,
    BudgetView,
    ConsistencyProof,
    ContractView,
    InclusionProof,
    Lineage,
    PartyView,
    RunView,
)
from schemas.canonical import canonical
from schemas.encoding import unb64
from schemas.errors import DepaError, ForkError, Unreachable, VerificationError
from schemas.keys import Signer
from schemas.lineage import Direction


class LedgerClient:
    def __init__(
        self,
        url: str,
        vkey: VerifierKey | str,
        *,
        state_file: Path | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        reader: Signer | None = None,
    ) -> None:
        """`reader`: the party key that signs reads, for a ledger that serves its parties only."""
        self.url = url.rstrip("/")
        self.vkey = vkey if isinstance(vkey, VerifierKey) else VerifierKey.parse(vkey)
        self.state_file = state_file
        self._http = httpx.Client(base_url=self.url, transport=transport, timeout=timeout, auth=signed_by(reader))
        self.last: str | None = None
        self._last_cp: Checkpoint | None = None
        self._proven: dict[int, tuple[Entry, s.Statement]] = {}
        if state_file is not None and state_file.exists():
            note = json.loads(state_file.read_text())["checkpoint"]
            self.last, self._last_cp = note, verify_checkpoint(note, self.vkey)

    def read_as(self, reader: Signer) -> None:
        """Sign reads from now on with this key (an attested run's, once its attestation is logged)."""
        self._http.auth = SignedReads(reader)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LedgerClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- HTTP ------------------------------------------------------------------------

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            resp = self._http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise Unreachable(f"cannot reach the ledger at {self.url}: {exc}") from exc
        if resp.status_code >= 400:
            raise problem_error(resp)
        return resp

    def _get_json(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params=params or None).json()

    # --- writes ----------------------------------------------------------------------

    def append(self, signed: dict[str, Any]) -> Receipt:
        """Post a signed statement; return its receipt once verified against the pinned vkey."""
        resp = self._request(
            "POST", "/v1/statements", content=canonical(signed), headers={"content-type": "application/json"}
        )
        receipt = Receipt.model_validate_json(resp.content)
        cp, logged = receipt.verify(self.vkey)
        if canonical(logged.statement) != canonical(signed):
            raise VerificationError("the ledger logged a different statement from the one sent")
        self.observe(receipt.checkpoint, cp)
        return receipt

    # --- checkpoints and consistency -------------------------------------------------

    def checkpoint(self) -> Checkpoint:
        return self.signed_checkpoint()[1]

    def signed_checkpoint(self) -> tuple[str, Checkpoint]:
        """The ledger's checkpoint note as signed, verified and shown consistent with the remembered one."""
        note = self._request("GET", "/v1/checkpoint").text
        cp = verify_checkpoint(note, self.vkey)
        self.observe(note, cp)
        return note, cp

    def add_cosignature(self, note: str) -> str:
        """Give the ledger its checkpoint with a witness's cosignature line added; the note with every cosignature
        it now carries."""
        return self._request("POST", "/v1/checkpoint/cosignatures", content=note).text

    def witnessed_checkpoint(self, witnesses: list[VerifierKey], quorum: int) -> Checkpoint:
        """The newest checkpoint that at least `quorum` of these witnesses cosigned, consistent with what we saw."""
        note = self._request("GET", "/v1/checkpoint/witnessed").text
        cp = verify_checkpoint(note, self.vkey)
        good = []
        for witness in witnesses:
            try:
                verify_cosignature(note, witness)
                good.append(witness.name)
            except DepaError:
                continue
        if len(good) < quorum:
            raise VerificationError(
                f"checkpoint {cp.size} is cosigned by {len(good)} of the {len(witnesses)} "
                f"witnesses given ({', '.join(good) or 'none'}); {quorum} are required"
            )
        self.observe(note, cp)
        return cp

    def observe(self, note: str, cp: Checkpoint) -> None:
        """Check a verified checkpoint against the remembered one; remember the newer."""
        last = self._last_cp
        if last is None:
            self._remember(note, cp)
            return
        old, new = (last, cp) if last.size <= cp.size else (cp, last)
        try:
            self._prove_prefix(old.size, old.root, new)
        except VerificationError as exc:
            raise ForkError(
                f"checkpoint of size {cp.size} is not consistent with the remembered one "
                f"of size {last.size}: {exc.detail}",
                old=self.last or "",
                new=note,
            ) from exc
        if cp.size > last.size:
            self._remember(note, cp)

    def _remember(self, note: str, cp: Checkpoint) -> None:
        self.last, self._last_cp = note, cp
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            self.state_file.write_text(json.dumps({"checkpoint": note}))

    # --- reads -----------------------------------------------------------------------

    def consistency(self, first: int, second: int) -> list[bytes]:
        found = ConsistencyProof.model_validate(self._get_json("/v1/proofs/consistency", first=first, second=second))
        return [unb64(p, "consistency proof hash") for p in found.proof]

    def _prove_prefix(self, size: int, root: bytes, checkpoint: Checkpoint) -> None:
        """Raise VerificationError unless `root` is this log's root at `size` <= the checkpoint's, by a proof."""
        if size == 0:
            if root != merkle.EMPTY_ROOT:
                raise VerificationError("an empty tree with a non-empty root")
            return
        proof = self.consistency(size, checkpoint.size) if size < checkpoint.size else []
        merkle.verify_consistency(size, checkpoint.size, root, checkpoint.root, proof)

    def root_at(self, size: int, claimed: bytes, checkpoint: Checkpoint) -> bytes | None:
        """`claimed` if it is this log's root at `size`, proven consistent with a verified checkpoint; else None."""
        if not 0 <= size <= checkpoint.size:
            return None
        try:
            self._prove_prefix(size, claimed, checkpoint)
        except VerificationError:
            return None
        return claimed

    def inclusion(self, seq: int, size: int) -> InclusionProof:
        return InclusionProof.model_validate(self._get_json("/v1/proofs/inclusion", seq=seq, size=size))

    def entries(self, start: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        return self._get_json("/v1/entries", start=start, limit=limit)

    def parties(self) -> list[PartyView]:
        return [PartyView.model_validate(p) for p in self._get_json("/v1/parties")]

    def contract(self, contract_id: str) -> ContractView:
        return ContractView.model_validate(self._get_json(f"/v1/contracts/{_seg(contract_id)}"))

    def digests_starting(self, prefix: str) -> list[str]:
        """The digests of registered artefacts that start with `prefix`: a short digest, pasted back."""
        return [str(d) for d in self._get_json("/v1/artefacts", prefix=prefix)]

    def artefact(self, digest: str) -> ArtefactView:
        return ArtefactView.model_validate(self._get_json(f"/v1/artefacts/{_seg(digest)}"))

    def budget(self, contract_id: str) -> BudgetView:
        return BudgetView.model_validate(self._get_json(f"/v1/contracts/{_seg(contract_id)}/budget"))

    def run(self, run_id: str) -> RunView:
        return RunView.model_validate(self._get_json(f"/v1/runs/{_seg(run_id)}"))

    def proven(self, seq: int, checkpoint: Checkpoint | None = None) -> tuple[Entry, s.Statement]:
        """An entry read with proof: its leaf included under a verified, consistent checkpoint, its signature good.

        What the views say is the ledger's word; what this returns needs no trust in the ledger.
        """
        if seq in self._proven:  # entries never change, and every later checkpoint is checked consistent
            return self._proven[seq]
        cp = checkpoint or self.checkpoint()
        if not 0 <= seq < cp.size:
            raise VerificationError(f"entry {seq} is not in the checkpoint of size {cp.size}")
        leaf = self._request("GET", f"/v1/entries/{seq}").content
        proof = self.inclusion(seq, cp.size)
        hashes = [unb64(h, "inclusion proof hash") for h in proof.proof]
        merkle.verify_inclusion(seq, cp.size, merkle.leaf_hash(leaf), hashes, cp.root)
        found = entry.decode(leaf)
        if found.seq != seq:
            raise VerificationError(f"entry {seq} says it is entry {found.seq}")
        st = s.from_raw(found.statement)
        st.verify()
        self._proven[seq] = (found, st)
        return found, st

    def seq_of(self, statement_id: str) -> int:
        """Where the statement with this id was logged (prove it with `proven`)."""
        return entry.decode(self._request("GET", f"/v1/statements/{statement_id}").content).seq

    def receipt(self, seq: int) -> Receipt:
        """A logged entry's receipt under the newest checkpoint, verified against the pinned vkey."""
        receipt = Receipt.model_validate_json(self._request("GET", f"/v1/entries/{seq}/receipt").content)
        cp, logged = receipt.verify(self.vkey)
        if logged.seq != seq:
            raise VerificationError(f"the receipt asked for entry {seq} is for entry {logged.seq}")
        self.observe(receipt.checkpoint, cp)
        return receipt

    def lineage(self, digest: str, direction: Direction = "both") -> Lineage:
        return Lineage.model_validate(self._get_json(f"/v1/artefacts/{_seg(digest)}/lineage", direction=direction))


def _seg(value: str) -> str:
    """One path segment, percent-encoded: a run id of `../contracts/x` names a run, never another route."""
    return quote(value, safe="")


def fetch_vkey(url: str) -> str:
    """The vkey a ledger serves: trust on first use, for when none was pinned."""
    try:
        resp = httpx.get(url.rstrip("/") + "/v1/vkey", timeout=10)
        resp.raise_for_status()
    except httpx.HTTPError as exc:
        raise Unreachable(f"cannot fetch the vkey from {url}: {exc}") from exc
    return resp.text.strip()
