"""`depa-audit`: independent verification of a depa-chain ledger."""

from chain.placeholder import placeholder_app

app = placeholder_app(
    "depa-audit",
    "verify a depa-chain ledger end to end, independently (until then: depa-chain receipt verify).",
    "the auditor issue",
)
