"""Signature checks spread over the machine's other cores while the main process replays the log.

The replay goes on optimistically; if any signature fails, the audit replays again checking each one inline,
so what a bad statement would have changed is never counted (auditor/verify.py)."""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor

from schemas.encoding import b64url_decode
from schemas.errors import DepaError
from schemas.keys import verify

BATCH = 4096
IN_FLIGHT = 4  # batches queued per worker at most: the replay waits rather than buffer the whole log
Item = tuple[int, str, bytes, str]  # seq, signer's did:key, signed bytes, base64url signature


def _check(batch: list[Item]) -> list[tuple[int, str]]:
    failures = []
    for seq, did, signed, sig in batch:
        try:
            verify(did, signed, b64url_decode(sig))
        except DepaError as exc:
            failures.append((seq, exc.detail))
    return failures


class ParallelVerifier:
    def __init__(self, workers: int | None = None) -> None:
        self._workers = workers or max(1, (os.cpu_count() or 2) - 1)
        self._pool = ProcessPoolExecutor(max_workers=self._workers)
        self._batch: list[Item] = []
        self._futures: deque[Future[list[tuple[int, str]]]] = deque()
        self._failed: list[tuple[int, str]] = []

    def submit(self, seq: int, did: str, signed: bytes, sig: str) -> None:
        self._batch.append((seq, did, signed, sig))
        if len(self._batch) >= BATCH:
            self._send()

    def _send(self) -> None:
        while len(self._futures) >= IN_FLIGHT * self._workers:
            self._failed += self._futures.popleft().result()
        self._futures.append(self._pool.submit(_check, self._batch))
        self._batch = []

    def failures(self) -> list[tuple[int, str]]:
        """Every failed check, once all are done; the pool is shut down."""
        try:
            if self._batch:
                self._send()
            while self._futures:
                self._failed += self._futures.popleft().result()
            return self._failed
        finally:
            self._pool.shutdown()
