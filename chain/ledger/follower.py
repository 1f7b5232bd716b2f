"""Views derived from the log, in the spirit of Tessera's Followers: each reads the committed entries from the
store in order, exactly once, at its own pace, and never the ledger's state or its lock.

A follower follows when it is read, not on the append path: the sequencer is CPU-bound under the GIL, and
every entry a view derived while appends wait would be taken from them. The console's index and its replay
are followers; a follower that fails on an entry stops before it, and the next read tries it again.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod

from chain.ledger.store import Store


class Follower(ABC):
    """A view of the log built entry by entry; `follow` feeds it what the store holds beyond `processed`."""

    def __init__(self, store: Store, chunk: int = 1000) -> None:
        self.store, self._chunk = store, chunk
        self._processed = 0
        self._lock = threading.Lock()

    @property
    def processed(self) -> int:
        """How many entries, from the first, the view holds (Tessera's EntriesProcessed)."""
        return self._processed

    def follow(self) -> int:
        """Feed the view every committed entry it has not seen, in order; return how many it holds."""
        with self._lock:
            while leaves := self.store.leaves(self._processed, self._chunk):
                for leaf in leaves:
                    self.add(self._processed, leaf)
                    self._processed += 1
            return self._processed

    @abstractmethod
    def add(self, seq: int, leaf: bytes) -> None:
        """Take entry `seq` (its exact leaf bytes) into the view: called once per entry, in order, under the
        follower's lock."""
