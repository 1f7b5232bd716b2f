"""The HTTP layer every client of a depa service shares: reads signed as RFC 9421, and problem+json answers
rebuilt as the typed errors they stand for (through the one registry, `schemas.errors`)."""

from __future__ import annotations

import time
from collections.abc import Generator

import httpx

from schemas import httpsig
from schemas.errors import DepaError, error_for_problem
from schemas.keys import Signer


class SignedReads(httpx.Auth):
    """Signs each read (GET) as RFC 9421 over its request line, so a ledger serving its parties only answers.
    Statements carry their own signatures: appends are sent as they are, at no cost on their path."""

    def __init__(self, signer: Signer) -> None:
        self.signer = signer

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if request.method == "GET":
            path, _, query = request.url.raw_path.decode("ascii").partition("?")
            request.headers.update(
                httpsig.sign_read(self.signer, request.method, request.headers["host"], path, query, int(time.time()))
            )
        yield request


def problem_error(resp: httpx.Response) -> DepaError:
    """The typed error a depa service's problem+json answer stands for."""
    try:
        body = resp.json()
        remedy = body.get("remedy")
        return error_for_problem(
            resp.status_code, str(body.get("type", "")), str(body.get("detail", "")), str(remedy) if remedy else None
        )
    except (ValueError, AttributeError):
        return DepaError(f"the service answered {resp.status_code}: {resp.text[:200]}")


def signed_by(reader: Signer | None) -> SignedReads | None:
    return SignedReads(reader) if reader is not None else None
