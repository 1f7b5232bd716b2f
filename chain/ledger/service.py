"""The ledger's HTTP API (FastAPI). Routes parse, call one ledger function, and render."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from chain.http_server import PROBLEM, depa_error, install_problems, offline_docs
from chain.ledger.home import Settings
from chain.ledger.ledger import Ledger
from chain.ledger.readers import EVERYONE, Reader
from chain.ledger.sequencer import Sequencer
from chain.ledger.sqlstore import StoreUnavailable
from chain.tlog.checkpoint import VerifierKey
from chain.tlog.receipt import MEDIA_TYPE, Receipt
from schemas import httpsig, statement
from schemas.api import (
    ArtefactView,
    BudgetView,
    ConsistencyProof,
    ContractView,
    InclusionProof,
    Lineage,
    LogInfo,
    PartyView,
    Readiness,
    RunView,
)
from schemas.errors import NotAllowed, TooLarge, TooSlow, Unavailable, UnsupportedMediaType
from schemas.lineage import Direction

log = logging.getLogger("depa.service")
_RECEIPT = {"application/json": {"schema": {"$ref": "#/components/schemas/Receipt"}}, MEDIA_TYPE: {}}
_PROBLEM = {"description": "refused: RFC 9457 problem", "content": {PROBLEM: {}}}
_APPEND_OPERATION: dict[str, Any] = {
    "summary": "Append a signed statement",
    "description": "Answers once the entry is durable and in a signed checkpoint. "
    "`Accept: text/x.tlog-proof` gives the receipt as a C2SP tlog-proof file.",
    "operationId": "append",
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": statement.Envelope.model_json_schema()}},
    },
    "responses": {
        "201": {"description": "logged: the receipt", "content": _RECEIPT},
        "200": {"description": "a replay: the existing receipt", "content": _RECEIPT},
        **{code: _PROBLEM for code in ("400", "403", "404", "408", "409", "413", "415", "422", "503")},
    },
}


def _require_json(request: Request) -> None:
    media, _, params = request.headers.get("content-type", "").partition(";")
    charset = params.strip().lower().removeprefix("charset=").strip('"') if params.strip() else "utf-8"
    if media.strip().lower() != "application/json" or charset != "utf-8":
        raise UnsupportedMediaType(f"a statement is application/json in UTF-8, not {media.strip() or 'untyped'!r}")


def _ledger_problems(app: FastAPI) -> None:
    """The shared problem handlers, and the ledger's own: a database error's words stay in the operator's log."""
    install_problems(app)

    @app.exception_handler(StoreUnavailable)
    async def _store(request: Request, exc: StoreUnavailable) -> JSONResponse:
        log.error("%s %s: %s", request.method, request.url.path, exc.detail)
        return await depa_error(request, Unavailable(f"{app.title} cannot reach its database now"))


async def _read_limited(request: Request, timeout: float) -> bytes:
    limit = statement.MAX_STATEMENT_BYTES
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"statement is {declared} bytes, over the {limit} limit")
    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"statement is over the {limit} limit")
                chunks.append(chunk)
    except TimeoutError:
        raise TooSlow(f"the body did not arrive within {timeout:g} s") from None
    return b"".join(chunks)


def signed_reader(request: Request) -> str:
    """The did:key that signed this request (RFC 9421), checked over the request exactly as it arrived."""
    raw_path = request.scope.get("raw_path") or request.scope["path"].encode()
    return httpsig.verify_read(
        request.method,
        request.headers.get("host", ""),
        raw_path.decode("latin-1"),
        request.scope.get("query_string", b"").decode("latin-1"),
        request.headers,
        time.time(),
    )


def create_app(ledger: Ledger, settings: Settings | None = None) -> FastAPI:
    """The service for `ledger`; it closes the ledger's store when it shuts down."""
    settings = settings or Settings()
    sequencer = Sequencer(ledger, settings.max_batch, settings.max_pending)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        # Everything alive now (libraries, the loaded log) lives as long as the process: keep it
        # out of the collector's full passes, which otherwise stall appends for tens of ms.
        gc.collect()
        gc.freeze()
        sequencer.start()
        yield
        await sequencer.stop()
        # Closed here, not after uvicorn returns: on SIGTERM uvicorn re-raises the signal once the
        # app has shut down. On the last close SQLite folds its write-ahead log into the database.
        ledger.store.close()

    app = FastAPI(
        docs_url=None,
        redoc_url=None,
        title="depa-chain ledger",
        version="1",
        description="Append-only Merkle ledger of signed DEPA-Training statements (RFC 9162, C2SP).",
        lifespan=lifespan,
    )

    _ledger_problems(app)
    offline_docs(app)

    def reader(request: Request) -> Reader:
        return EVERYONE if settings.read == "public" else ledger.reader(signed_reader(request))

    read = Depends(reader)  # a default, not an Annotated alias: annotations here are strings, resolved globally

    def whole_log(found: Reader = read) -> Reader:
        if not found.everything:
            raise NotAllowed("this view covers the whole log: it is served to the operator and auditors")
        return found

    app.state.whole_log = Depends(whole_log)  # the console's data, on routers added to this app

    async def append(request: Request) -> Response:
        _require_json(request)
        st = statement.parse(await _read_limited(request, settings.body_timeout))
        receipt, new = await sequencer.submit(st)
        status = 201 if new else 200
        if MEDIA_TYPE in request.headers.get("accept", ""):
            return PlainTextResponse(receipt.to_tlog_proof(), status_code=status, media_type=MEDIA_TYPE)
        return Response(receipt.model_dump_json(), status_code=status, media_type="application/json")

    # The hot path is a plain Starlette route: FastAPI's per-request machinery cost about 10% of
    # append throughput (bench/). The operation is added to the OpenAPI document by hand.
    app.router.routes.append(Route("/v1/statements", append, methods=["POST"]))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            doc["paths"]["/v1/statements"] = {"post": _APPEND_OPERATION}
            doc.setdefault("components", {}).setdefault("schemas", {})["Receipt"] = Receipt.model_json_schema()
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/v1/checkpoint", response_class=PlainTextResponse)
    def checkpoint() -> str:
        return ledger.checkpoint()

    witnesses = [VerifierKey.parse(w) for w in settings.witnesses]

    @app.get("/v1/checkpoint/witnessed", response_class=PlainTextResponse)
    def witnessed() -> str:
        """The newest checkpoint carrying witnesses' cosignatures (c2sp.org/tlog-cosignature)."""
        return ledger.witnessed()

    @app.post("/v1/checkpoint/cosignatures", response_class=PlainTextResponse)
    async def cosignatures(request: Request) -> str:
        """A witness's cosigned copy of one of this ledger's checkpoints; answers the note with every cosignature."""
        body = (await _read_limited(request, settings.body_timeout)).decode("utf-8", errors="replace")
        return ledger.add_cosignatures(body, witnesses)

    @app.get("/v1/ready", responses={503: _PROBLEM})
    def ready() -> Readiness:
        """Whether appends are served: the sequencer runs and the log reads back from its store."""
        reason = sequencer.not_ready()
        if reason is not None:
            raise Unavailable(f"not ready: {reason}")
        return Readiness(ready=True, size=ledger.info().size, sequencer_restarts=sequencer.restarts)

    @app.get("/v1/vkey", response_class=PlainTextResponse)
    def vkey() -> str:
        return str(ledger.vkey) + "\n"

    @app.get("/v1/log")
    def info() -> LogInfo:
        return ledger.info()

    @app.get("/v1/entries", responses={200: {"content": {"application/json": {}}}})
    def entries(
        start: Annotated[int, Query(ge=0)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 100, who: Reader = read
    ) -> Response:
        return Response(b"[" + b",".join(ledger.leaves(start, limit, who)) + b"]", media_type="application/json")

    @app.get("/v1/entries/{seq}", responses={200: {"content": {"application/json": {}}}})
    def entry(seq: int, who: Reader = read) -> Response:
        return Response(ledger.leaf(seq, who), media_type="application/json")

    @app.get("/v1/statements/{statement_id}", responses={200: {"content": {"application/json": {}}}})
    def logged_statement(statement_id: str, who: Reader = read) -> Response:
        """The entry that logged the statement with this id (its exact leaf bytes, as /v1/entries/{seq})."""
        return Response(ledger.statement(statement_id, who), media_type="application/json")

    @app.get("/v1/entries/{seq}/receipt", responses={200: {"content": _RECEIPT}})
    def receipt(seq: int, request: Request, who: Reader = read) -> Response:
        """The entry's receipt under the newest checkpoint; `Accept: text/x.tlog-proof` for the C2SP file."""
        found = ledger.receipt(seq, who)
        if MEDIA_TYPE in request.headers.get("accept", ""):
            return PlainTextResponse(found.to_tlog_proof(), media_type=MEDIA_TYPE)
        return Response(found.model_dump_json(), media_type="application/json")

    @app.get("/v1/proofs/inclusion")
    def inclusion(seq: Annotated[int, Query(ge=0)], size: Annotated[int, Query(ge=1)]) -> InclusionProof:
        return ledger.inclusion(seq, size)

    @app.get("/v1/proofs/consistency")
    def consistency(first: Annotated[int, Query(ge=1)], second: Annotated[int, Query(ge=1)]) -> ConsistencyProof:
        return ledger.consistency(first, second)

    @app.get("/v1/parties")
    def parties(_: Reader = read) -> list[PartyView]:
        return ledger.parties()

    @app.get("/v1/contracts/{contract_id}")
    def contract(contract_id: str, who: Reader = read) -> ContractView:
        return ledger.contract(contract_id, who)

    @app.get("/v1/contracts/{contract_id}/budget")
    def budget(contract_id: str, who: Reader = read) -> BudgetView:
        return ledger.budget(contract_id, who)

    @app.get("/v1/runs/{run_id}")
    def run(run_id: str, who: Reader = read) -> RunView:
        return ledger.run(run_id, who)

    @app.get("/v1/artefacts")
    def artefacts(prefix: str, who: Reader = read) -> list[str]:
        """The digests of the artefacts you may read that start with `prefix` (8 hex digits at least), up to 10."""
        return ledger.digests_starting(prefix, who)

    @app.get("/v1/artefacts/{digest}")
    def artefact(digest: str, who: Reader = read) -> ArtefactView:
        return ledger.artefact(digest, who)

    @app.get("/v1/artefacts/{digest}/lineage")
    def lineage(digest: str, direction: Direction = "both", who: Reader = read) -> Lineage:
        return ledger.lineage(digest, direction, who)

    return app
