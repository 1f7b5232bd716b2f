"""The ledger: its reading of the log (records and the admission rules), the sequencer, the stores, its home
and settings, and the HTTP app. It imports the building blocks (`chain.tlog`, `attestation`, `privacy`) and
never a client, the console, the auditor, the agent, a broker or a scenario."""
