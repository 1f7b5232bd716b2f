"""The transparency log's building blocks (RFC 9162, C2SP): Merkle hashing and proofs, the frontier, entries,
signed checkpoints and cosignatures, receipts, and checkpoint-bound nonces. Pure: no I/O, no ledger state;
every party (the ledger, its clients, the witness, the auditor) checks the log with these."""
