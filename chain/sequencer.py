"""Group commit: one task integrates whatever appends are waiting, as one batch.

While a batch is being written and fsynced in a worker thread, new requests are parsed and
their signatures checked on the event loop; they form the next batch. Overload is answered
with 503 rather than an unbounded queue.
"""

from __future__ import annotations

import asyncio

from chain.ledger import Ledger
from chain.receipt import Receipt
from schemas.errors import DepaError, Unavailable
from schemas.statement import Statement

Pending = tuple[Statement, "asyncio.Future[tuple[Receipt, bool]]"]


class Sequencer:
    def __init__(self, ledger: Ledger, max_batch: int, max_pending: int) -> None:
        self.ledger = ledger
        self.max_batch = max_batch
        self.max_pending = max_pending
        self._pending: list[Pending] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def submit(self, st: Statement) -> tuple[Receipt, bool]:
        """Wait until `st` is durable and in a signed checkpoint; return its receipt and whether it is new."""
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
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                await self._integrate(batch)

    async def _integrate(self, batch: list[Pending]) -> None:
        try:
            outcomes = await asyncio.to_thread(self.ledger.integrate, [st for st, _ in batch])
        except DepaError as exc:
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc)
            return
        for (_, fut), (outcome, new) in zip(batch, outcomes, strict=True):
            if fut.done():
                continue
            if isinstance(outcome, DepaError):
                fut.set_exception(outcome)
            else:
                fut.set_result((outcome, new))
