"""How every depa service is served: uvicorn, with bounds that slow or idle clients cannot get round.

uvicorn bounds a request's body (the app reads it under DEPA_BODY_TIMEOUT), idle keep-alive connections
(`timeout_keep_alive`) and how many connections it serves (`limit_concurrency`), but not how long a
client may take to send its request line and headers: a socket that sends nothing, or a byte a minute,
is held for good. `HeaderDeadline` closes it, with a 408, once the deadline passes.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from schemas.errors import DepaError, Unavailable

log = logging.getLogger("depa.http")
PROBLEM = "application/problem+json"
_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class HeaderDeadline(HttpToolsProtocol):
    """A request's line and headers must arrive within `header_timeout` s of the connection or its first byte."""

    header_timeout = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a new request on a kept-alive connection
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        log.info("%s: no request headers within %g s; connection closed", self.client, self.header_timeout)
        if not self.transport.is_closing():
            self.transport.write(_TIMEOUT)
            self.transport.close()


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything says it serves: a port in use is one clear error."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise Unavailable(
            f"cannot listen on {host}:{port}: {exc.strerror}", remedy="choose another --port, or stop what holds it"
        ) from None
    return sock


def run_server(app: FastAPI, sock: socket.socket, *, header_timeout: float = 10.0, **options: object) -> None:
    """Serve `app` on a socket from `bind` until SIGINT or SIGTERM."""
    protocol = type("Protocol", (HeaderDeadline,), {"header_timeout": header_timeout})
    config = uvicorn.Config(app, http=protocol, log_level="warning", timeout_graceful_shutdown=2,
                            timeout_keep_alive=5, **options)  # type: ignore[arg-type]  # fmt: skip
    uvicorn.Server(config).run(sockets=[sock])


async def depa_error(_: Request, exc: DepaError) -> JSONResponse:
    """Every refusal as RFC 9457 problem+json; the other depa services install the same handler."""
    extra = {"remedy": exc.remedy} if exc.remedy else {}
    return problem(exc.status, exc.slug, type(exc).__name__, exc.detail, **extra, **exc.extra)


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"urn:depa:problem:{slug}", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def install_problems(app: FastAPI) -> None:
    """Every answer but success is problem+json: refusals, schema errors, unknown routes and unforeseen errors."""
    app.add_exception_handler(DepaError, depa_error)  # type: ignore[arg-type]

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return problem(422, "schema", "SchemaViolation", f"{where}: {first['msg']}")

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, "http", "HTTPError", str(exc.detail))

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        log.info("%s %s: the client went away before its request was read", request.method, request.url.path)
        return Response(status_code=400)  # nobody reads it; what matters is one log line, not a traceback

    @app.exception_handler(Exception)
    async def _unforeseen(request: Request, exc: Exception) -> JSONResponse:
        # Internals (driver messages, SQL) go to the operator's log only; the caller learns to retry.
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return await depa_error(request, Unavailable(f"{app.title} could not answer this request"))


def offline_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from files shipped in a package (swagger-ui-bundle): FastAPI's own page loads them
    from a CDN, which shows a blank page where there is no internet."""
    import swagger_ui_bundle
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    app.mount("/docs/static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title}: API",
            swagger_js_url="/docs/static/swagger-ui-bundle.js",
            swagger_css_url="/docs/static/swagger-ui.css",
            swagger_favicon_url="/docs/static/favicon-32x32.png",
        )
