"""`python -m scenarios NAME`: the ledger-only demo, or a clean-room scenario end to end."""

import sys

name = sys.argv[1] if len(sys.argv) > 1 else "credit_risk"
if name == "ledger":
    from scenarios.ledger_demo import main
else:
    from scenarios.engine import main
main()
