"""The console's routes, added to a ledger's FastAPI app: static pages under /console, JSON under /console/api.

Everything here reads; the only writes are statements the browser signed itself and posts to /v1/statements,
and, with a Runner (`depa-chain console`), scenario runs behind its token.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auditor.verify import AuditReport
from chain.ledger.ledger import Ledger
from chain.tlog.checkpoint import parse_note
from scenarios import STEP
from schemas.api import ArtefactView, ContractView, PartyView
from schemas.contract import Contract
from schemas.errors import NotAllowed, NotFound
from schemas.lineage import Direction, Graph
from webconsole.entries import EntryIndex, EntryRow, Filters, Page, page, row_of
from webconsole.replayed import BudgetSeries, Replayed, audit_contract
from webconsole.runner import Runner, RunState, Scenario

STATIC = files("webconsole") / "static"
POLL_S = 0.25  # how often the live feed looks for new entries
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_RAW_HEADERS = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
Auth = Annotated[str | None, Header(description="Bearer and the token `depa-chain console` printed")]


class Summary(BaseModel):
    origin: str
    operator: str
    size: int
    checkpoint: str  # the signed note; the browser checks it against the vkey its user pinned
    signers: list[str]  # names on the note's signature lines: the log's and its witnesses'
    served_vkey: str  # what the server says its key is: shown, never trusted by the page
    witnessed: str | None  # the newest checkpoint witnesses cosigned, if any has
    runner: bool


class PartyRef(BaseModel):
    ref: str
    role: str
    name: str | None
    signed_seq: int | None


class ContractSummary(BaseModel):
    id: str
    name: str
    purpose: str
    state: str
    proposer: str
    proposed_seq: int
    parties: list[PartyRef]
    datasets: int


class Shown(BaseModel):
    """One entry as the explorer shows it; the page fetches its bytes and proof from /v1 to check them."""

    row: EntryRow
    signer: PartyView | None
    statement: dict


def mount(app: FastAPI, ledger: Ledger, runner: Runner | None = None) -> None:
    index = EntryIndex(ledger.store)
    replayed = Replayed(ledger.store, ledger.operator)
    # The console's views span the whole log: on a ledger serving its parties only, they are the operator's
    # and auditors' (signed reads, as every /v1 read); parties read their own contracts through /v1.
    api = APIRouter(prefix="/console/api", dependencies=[app.state.whole_log])

    def name_of(did: str) -> str | None:
        party = ledger.party(did)
        return party.name if party else None

    def signer_of(row: EntryRow) -> str | None:
        """The party that signed, else the operator or the run's attested key, by what it is."""
        name = name_of(row.signer)
        if name is not None:
            return name
        if row.signer == ledger.operator:
            return "the ledger's operator"
        return "the run's clean room" if row.run and agent_of(ledger, row.run) == row.signer else None

    def named(rows: list[EntryRow]) -> list[EntryRow]:
        return [r.model_copy(update={"signer_name": signer_of(r)}) for r in rows]

    @api.get("/summary")
    def summary() -> Summary:
        note = ledger.checkpoint()
        return Summary(
            origin=ledger.origin,
            operator=ledger.operator,
            size=ledger.info().size,
            checkpoint=note,
            signers=[s.name for s in parse_note(note).signatures],
            served_vkey=str(ledger.vkey),
            witnessed=witnessed(ledger),
            runner=runner is not None,
        )

    @api.get("/entries")
    def entries(
        kind: str | None = None,
        party: Annotated[str | None, Query(description="a party's name or any DID it had")] = None,
        contract: str | None = None,
        run: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before: Annotated[int | None, Query(ge=0)] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> Page:
        signers = dids_named(ledger, party) if party else None
        f = Filters(kind=kind, signers=signers, contract=contract, run=run, since=since, until=until)
        shown = page(ledger.store, index, f, before, limit)
        return shown.model_copy(update={"rows": named(shown.rows)})

    @api.get("/entries/{seq}")
    def shown(seq: int) -> Shown:
        leaf = ledger.leaf(seq)
        row = named([row_of(leaf)])[0]
        return Shown(row=row, signer=ledger.party(row.signer), statement=json.loads(leaf)["statement"])

    @api.get("/events")
    async def events(request: Request, after: Annotated[int | None, Query(ge=0)] = None) -> StreamingResponse:
        """Server-sent events: one `entry` event per new entry, as the ledger logs it."""

        async def stream() -> AsyncIterator[str]:
            seen = ledger.info().size if after is None else after
            yield f"event: size\ndata: {seen}\n\n"
            while not await request.is_disconnected():
                size = ledger.info().size
                if size > seen:
                    leaves = await asyncio.to_thread(ledger.leaves, seen, min(size - seen, 200))
                    for row in named([row_of(leaf) for leaf in leaves]):
                        yield f"event: entry\nid: {row.seq}\ndata: {row.model_dump_json()}\n\n"
                    seen += len(leaves)
                else:
                    yield ": idle\n\n"  # a comment: keeps proxies from closing a quiet stream
                    await asyncio.sleep(POLL_S)

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    @api.get("/filters")
    def filters() -> dict[str, list[str]]:
        """The values the log holds for each filter, for the explorer's pickers."""
        index.follow()
        return {"kind": sorted(index.values("kind")), "run": index.values("run")[-200:]}

    @api.get("/contracts")
    def contracts() -> list[ContractSummary]:
        return [summarise(c, name_of) for c in ledger.contracts()]

    @api.get("/contracts/{contract_id}/budget")
    def budget_history(contract_id: str) -> list[BudgetSeries]:
        return replayed.budget_history(contract_id)

    @api.get("/contracts/{contract_id}/audit")
    def audit(contract_id: str) -> AuditReport:
        ledger.contract(contract_id)  # 404 for a contract this ledger never logged
        return audit_contract(ledger.store, ledger.checkpoint(), ledger.vkey, ledger.operator, contract_id)

    @api.get("/artefacts")
    def artefacts(kind: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[ArtefactView]:
        """The newest artefacts, of one kind if asked."""
        return ledger.artefacts(kind, limit)

    @api.get("/lineage/{digest}")
    def lineage(digest: str, direction: Direction = "both") -> Graph:
        return replayed.lineage(digest, direction)

    if runner is not None:
        _mount_runner(api, runner)

    app.include_router(api)
    app.mount("/console/static", Confined(StaticFiles(directory=str(STATIC))), name="console-static")

    @app.get("/console", include_in_schema=False)
    def console_root() -> RedirectResponse:
        return RedirectResponse("/console/")

    @app.get("/console/", include_in_schema=False)
    def console_page() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


class Confined:
    """The console's own files carry its security headers; a plain ASGI wrapper, so the ledger's hot path
    (POST /v1/statements) pays for no middleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_RAW_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def witnessed(ledger: Ledger) -> str | None:
    try:
        return ledger.witnessed()
    except NotFound:
        return None


def dids_named(ledger: Ledger, party: str) -> list[str]:
    """Every DID of the parties `party` names, by name or by any DID they had; itself if it names none."""
    return ledger.dids_of(party) or [party]


def agent_of(ledger: Ledger, run_id: str) -> str | None:
    """The attested key of a run, which signs its later statements."""
    try:
        return ledger.run(run_id).agent
    except NotFound:
        return None


def summarise(view: ContractView, name_of: Callable[[str], str | None]) -> ContractSummary:
    c = Contract.model_validate(view.contract)
    signed = {sig.party: sig.seq for sig in view.signatures}
    return ContractSummary(
        id=view.id,
        name=c.id,
        purpose=c.purpose,
        state=view.state,
        proposer=name_of(view.proposer) or view.proposer,
        proposed_seq=view.proposed_seq,
        datasets=len(c.datasets),
        parties=[
            PartyRef(ref=ref, role=role, name=name_of(ref), signed_seq=signed.get(ref))
            for ref, role in c.named_parties().items()
        ],
    )


def _mount_runner(api: APIRouter, runner: Runner) -> None:
    def authorized(authorization: str | None) -> None:
        given = (authorization or "").removeprefix("Bearer ")
        if not secrets.compare_digest(given.encode(), runner.token.encode()):
            raise NotAllowed("the scenario runner needs the token that `depa-chain console` printed at start")

    @api.get("/scenarios")
    def scenarios(authorization: Auth = None) -> list[Scenario]:
        authorized(authorization)
        return runner.scenarios()

    @api.post("/scenarios/{name}/runs", status_code=201)
    def start(name: str, authorization: Auth = None) -> RunState:
        authorized(authorization)
        return runner.start(name).state()

    @api.get("/runs/{run_id}")
    def state(run_id: str, authorization: Auth = None) -> RunState:
        authorized(authorization)
        return runner.get(run_id).state()

    @api.get("/runs/{run_id}/output")
    async def output(run_id: str, request: Request, authorization: Auth = None) -> StreamingResponse:
        """The run's output as NDJSON, from the start: `{"line", "step"}` per line (`step` when it starts one),
        then the run's final state."""
        authorized(authorization)
        run = runner.get(run_id)

        async def stream() -> AsyncIterator[str]:
            seen = 0
            while not await request.is_disconnected():
                await asyncio.to_thread(run.wait, seen, 1.0)
                lines, done = run.lines[seen:], run.exit_code is not None
                for line in lines:
                    step = line.removeprefix(STEP).strip() if line.startswith(STEP) else None
                    yield json.dumps({"line": line, "step": step}) + "\n"
                seen += len(lines)
                if done and seen == len(run.lines):
                    yield run.state().model_dump_json() + "\n"
                    return

        return StreamingResponse(stream(), media_type="application/x-ndjson", headers={"Cache-Control": "no-store"})

    @api.post("/runs/{run_id}/explore")
    def explore(run_id: str, authorization: Auth = None) -> RunState:
        authorized(authorization)
        runner.explore(run_id)
        return runner.get(run_id).state()
