"""The party's side of the ledger: a client that verifies every receipt, proof and checkpoint it is given.

`http` is the HTTP and problem+json layer every client shares (the ledger's, the key broker's, the witness's);
`ledger` the ledger client; `verified` the reads proven against a checkpoint.
"""

from chain.client.http import SignedReads, problem_error, signed_by
from chain.client.ledger import LedgerClient, fetch_vkey

__all__ = ["LedgerClient", "SignedReads", "fetch_vkey", "problem_error", "signed_by"]
