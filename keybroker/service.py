"""`depa-keys serve`: the broker's HTTP face. One route; problem+json for every refusal."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel, Field

from chain.receipt import Receipt
from chain.service import depa_error
from keybroker.release import Broker, release
from schemas.errors import DepaError


class ReleaseRequest(BaseModel):
    run_id: str = Field(min_length=1, max_length=128)
    dataset: str = Field(min_length=1)


class ReleaseResponse(BaseModel):
    sealed: str
    receipt: Receipt


def create_app(broker: Broker) -> FastAPI:
    app = FastAPI(title="depa-keys broker", version="1", description="Releases dataset keys to attested runs.")

    app.add_exception_handler(DepaError, depa_error)  # type: ignore[arg-type]

    @app.post("/v1/release")
    def post_release(request: ReleaseRequest) -> ReleaseResponse:
        done = release(broker, request.run_id, request.dataset)
        return ReleaseResponse(sealed=done.sealed, receipt=done.receipt)

    return app
