"""Group commit: one task integrates whatever appends are waiting, as one batch.

While a batch is being written and fsynced in a worker thread, new requests are parsed and
their signatures checked on the event loop; they form the next batch. Overload is answered
with 503 rather than an unbounded queue. The task never dies of a batch: whatever a batch
raises fails that batch's requests, and a task that ends anyway is started again.
"""

from __future__ import annotations

import asyncio
import logging

from chain.ledger.ledger import Ledger
from chain.tlog.receipt import Receipt
from schemas.errors import DepaError, Unavailable
from schemas.statement import Statement

Pending = tuple[Statement, "asyncio.Future[tuple[Receipt, bool]]"]
log = logging.getLogger("depa.sequencer")


class Sequencer:
    def __init__(self, ledger: Ledger, max_batch: int, max_pending: int) -> None:
        self.ledger = ledger
        self.max_batch = max_batch
        self.max_pending = max_pending
        self._pending: list[Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._batch: list[Pending] = []  # the batch being integrated
        self._stopping = False
        self.restarts = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        self._task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if self._stopping or task.cancelled():
            return
        self.restarts += 1
        cause = task.exception()
        log.error("the sequencer stopped (%r); starting it again (restart %d)", cause, self.restarts)
        _fail(self._batch, cause or Unavailable("the sequencer stopped"))
        self._batch = []
        self.start()
        self._wake.set()  # the requests already waiting are served by the new task

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def not_ready(self) -> str | None:
        """Why appends cannot be served now, or None."""
        if not self.running:
            return "the sequencer is not running"
        return self.ledger.not_ready()

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for _, fut in self._pending:
            if not fut.done():
                fut.set_exception(Unavailable("the ledger is shutting down"))
        self._pending.clear()

    async def submit(self, st: Statement) -> tuple[Receipt, bool]:
        """Wait until `st` is durable and in a signed checkpoint; return its receipt and whether it is new."""
        if self._stopping:
            raise Unavailable("the ledger is shutting down")
        if len(self._pending) >= self.max_pending:
            raise Unavailable(f"{len(self._pending)} appends are waiting")
        fut: asyncio.Future[tuple[Receipt, bool]] = asyncio.get_running_loop().create_future()
        self._pending.append((st, fut))
        self._wake.set()
        return await fut

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                self._batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                await self._integrate(self._batch)
                self._batch = []

    async def _integrate(self, batch: list[Pending]) -> None:
        try:
            outcomes = await asyncio.to_thread(self.ledger.integrate, [st for st, _ in batch])
            answers = list(zip(batch, outcomes, strict=True))
        except Exception as exc:
            _fail(batch, exc)
            return
        for (_, fut), (outcome, new) in answers:
            if fut.done():
                continue
            if isinstance(outcome, DepaError):
                fut.set_exception(outcome)
            else:
                fut.set_result((outcome, new))


def _fail(batch: list[Pending], exc: BaseException) -> None:
    if not isinstance(exc, DepaError):
        log.error("a batch of %d statements failed; each is answered 503", len(batch), exc_info=exc)
        exc = Unavailable("the ledger could not answer; send the statement again (if logged, its receipt comes back)")
    for _, fut in batch:
        if not fut.done():
            fut.set_exception(exc)
