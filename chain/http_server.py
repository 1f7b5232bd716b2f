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

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from schemas.errors import Unavailable

log = logging.getLogger("depa.http")
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


def run_server(app: object, sock: socket.socket, *, header_timeout: float = 10.0, **options: object) -> None:
    """Serve `app` on a socket from `bind` until SIGINT or SIGTERM."""
    protocol = type("Protocol", (HeaderDeadline,), {"header_timeout": header_timeout})
    config = uvicorn.Config(app, http=protocol, log_level="warning", timeout_graceful_shutdown=2,
                            timeout_keep_alive=5, **options)  # type: ignore[arg-type]  # fmt: skip
    uvicorn.Server(config).run(sockets=[sock])
