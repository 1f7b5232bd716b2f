"""`depa-keys serve`: the broker's HTTP face. One route; problem+json for every refusal."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

from chain.http_server import install_problems, offline_docs
from chain.tlog.receipt import Receipt
from keybroker.release import Broker, ReleaseRequest, release


class ReleaseResponse(BaseModel):
    sealed: str
    receipt: Receipt


def create_app(broker: Broker) -> FastAPI:
    app = FastAPI(title="depa-keys broker", version="1", description="Releases dataset keys to attested runs.",
                  docs_url=None, redoc_url=None)  # fmt: skip
    install_problems(app)
    offline_docs(app)

    @app.post("/v1/release")
    def post_release(request: ReleaseRequest) -> ReleaseResponse:
        done = release(broker, request)
        return ReleaseResponse(sealed=done.sealed, receipt=done.receipt)

    return app
