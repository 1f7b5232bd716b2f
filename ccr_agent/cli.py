"""`depa-ccr`: the clean-room agent (attest, fetch keys, train, post receipts)."""

from chain.placeholder import placeholder_app

app = placeholder_app("depa-ccr", "the agent inside a confidential clean room.", "the clean-room issue")
