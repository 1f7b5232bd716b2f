"""The web console: the ledger's evidence in a browser, which checks proofs and signs statements itself.

`depa-chain serve` mounts it read-only under /console; `depa-chain console` adds the local scenario runner.
"""
