"""The clean-room agent's side of key release: ask a provider's broker, open the sealed identity."""

from __future__ import annotations

import httpx

from keybroker.release import sign_request
from schemas.encoding import unb64
from schemas.errors import DepaError, Unreachable, error_for_problem
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
        try:
            problem = resp.json()
        except ValueError:
            raise DepaError(f"key broker answered {resp.status_code}: {resp.text[:200]}") from None
        raise error_for_problem(resp.status_code, str(problem.get("type", "")), str(problem.get("detail", "")))
    return unseal(identity, unb64(resp.json()["sealed"], "sealed key")).decode()
