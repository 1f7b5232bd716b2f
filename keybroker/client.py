"""The clean-room agent's side of key release: ask a provider's broker, open the sealed identity."""

from __future__ import annotations

import httpx

from chain.client import problem_error
from keybroker.release import sign_request
from schemas.encoding import unb64
from schemas.errors import Unreachable
from schemas.keys import Signer, unseal


def request_key(
    broker_url: str, run_id: str, dataset: str, signer: Signer, identity: str, timeout: float = 60.0
) -> str:
    """The dataset's age identity, asked for with the run's receipt key, opened with its X25519 identity."""
    request = sign_request(signer, run_id, dataset)
    try:
        resp = httpx.post(f"{broker_url.rstrip('/')}/v1/release", json=request.model_dump(), timeout=timeout)
    except httpx.HTTPError as exc:
        raise Unreachable(f"cannot reach the key broker at {broker_url}: {exc}") from exc
    if resp.status_code >= 400:
        raise problem_error(resp)
    return unseal(identity, unb64(resp.json()["sealed"], "sealed key")).decode()
