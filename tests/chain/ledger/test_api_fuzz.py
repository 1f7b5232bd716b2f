"""Schemathesis drives every route, the web console's included, with generated input: no 500, ever."""

import schemathesis
from hypothesis import HealthCheck, settings

from chain.ledger.ledger import Ledger
from chain.ledger.service import create_app
from chain.ledger.store import MemoryStore
from schemas.keys import Signer
from webconsole.app import mount

ledger = Ledger(MemoryStore(), "ledger.test/fuzz", Signer.generate(), Signer.generate().did)
app = create_app(ledger)
mount(app, ledger)  # the web console's JSON routes too, as `depa-chain serve` serves them
# The live feed never ends by design: a generated call would wait on it forever.
schema = schemathesis.openapi.from_asgi("/openapi.json", app).exclude(path="/console/api/events")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_gives_a_server_error(case):
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}: {response.text[:300]}"
