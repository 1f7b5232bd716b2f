"""One error root for the whole project; each subclass says what went wrong and what to do.

The service maps these to RFC 9457 problem+json in one handler, and each CLI prints them
as one line; `status` is the HTTP status and `slug` the stable problem type.
"""

from __future__ import annotations


class DepaError(Exception):
    """Root of every error depa-chain raises on purpose; `extra` becomes members of the problem document."""

    status = 400
    slug = "error"
    remedy = ""

    def __init__(self, detail: str, *, remedy: str | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        if remedy is not None:
            self.remedy = remedy

    @property
    def type_uri(self) -> str:
        return f"urn:depa:problem:{self.slug}"

    def __str__(self) -> str:
        return f"{self.detail} ({self.remedy})" if self.remedy else self.detail


class MalformedInput(DepaError):
    """What was malformed, in the words of whoever sent it: each raise says what is wrong and, where it is not
    plain, what to send instead."""

    status, slug = 400, "malformed"


class SchemaViolation(DepaError):
    status, slug = 422, "schema"
    remedy = "fix the named field; the JSON Schemas are in schemas/json"


class BadSignature(DepaError):
    status, slug = 400, "bad-signature"
    remedy = "sign the RFC 8785 bytes of the statement without 'sig' with the issuer's key"


class Unauthenticated(DepaError):
    status, slug = 401, "unauthenticated"
    remedy = "sign the request with a registered party's key (RFC 9421; --key on the command line)"


class NotAllowed(DepaError):
    """Each raise names who may do what was refused."""

    status, slug = 403, "not-allowed"


class NotFound(DepaError):
    status, slug = 404, "not-found"


class Conflict(DepaError):
    status, slug = 409, "conflict"


class TooSlow(DepaError):
    status, slug = 408, "timeout"
    remedy = "send the whole request at once; the ledger waits only a few seconds for a body"


class TooLarge(DepaError):
    status, slug = 413, "too-large"
    remedy = "statements are limited to 64 KiB; register large content by digest"


class UnsupportedMediaType(DepaError):
    status, slug = 415, "media-type"
    remedy = "send the statement as Content-Type: application/json, in UTF-8"


class Unprocessable(DepaError):
    status, slug = 422, "unprocessable"


class BudgetExceeded(DepaError):
    status, slug = 409, "budget-exceeded"
    remedy = "train with more noise, fewer steps or a lower sample rate (depa-ccr plan finds the noise that fits)"


class AttestationRejected(DepaError):
    status, slug = 403, "attestation-rejected"
    remedy = "run the clean room on hardware the contract admits; the failed checks are named"


class Unavailable(DepaError):
    status, slug = 503, "unavailable"
    remedy = "retry later"


class VerificationError(DepaError):
    """A proof, signature or checkpoint did not verify: the input may have been tampered with."""

    status, slug = 400, "verification-failed"
    remedy = "the data may have been tampered with; do not trust it"


class WrongKey(DepaError):
    """The key given belongs to another log: a mistake of configuration, not evidence of tampering."""

    status, slug = 400, "wrong-key"
    remedy = "pin this ledger's own vkey: `depa-chain init` printed it, and GET /v1/vkey serves it"


class ForkError(VerificationError):
    """Two signed checkpoints that cannot both be true; both are kept as evidence."""

    slug = "fork"
    remedy = "keep both checkpoints as evidence of a forked or rolled-back log"

    def __init__(self, detail: str, *, old: str, new: str) -> None:
        super().__init__(detail)
        self.old = old
        self.new = new


class LedgerCorrupt(DepaError):
    status, slug = 500, "ledger-corrupt"
    remedy = "the stored log does not match its last signed checkpoint; restore from backup and audit"


class Unreachable(DepaError):
    status, slug = 503, "unreachable"
    remedy = "check the ledger URL and that the ledger is running"


class Unverified(DepaError):
    status, slug = 403, "unverified"
    remedy = "the ledger's entries do not show this; nothing was done"


class ReleaseRefused(DepaError):
    status, slug = 403, "release-refused"
    remedy = "nothing was released; the reason names what the ledger does not show"


class PickleRefused(DepaError):
    status, slug = 422, "pickle-refused"
    remedy = "exchange data as CSV, Parquet, HDF5 or PNG and models as safetensors or ONNX"


class NoTee(DepaError):
    status, slug = 503, "no-tee"
    remedy = "run inside an SEV-SNP or TDX guest, or pass --simulator where the contract allows a simulated TEE"


class RunFailed(DepaError):
    status, slug = 409, "run-failed"
    remedy = "the run was recorded as failed on the ledger with this failure code"


def _registry() -> dict[str, type[DepaError]]:
    found: dict[str, type[DepaError]] = {}
    todo: list[type[DepaError]] = [DepaError]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.slug, cls)
        todo += cls.__subclasses__()
    return found


# Every error type of the project, by problem type. They are all defined above, so whoever reads a problem
# document (the agent reading a key broker's, a CLI reading the ledger's) rebuilds the same type the service
# raised; a test keeps every DepaError subclass of the codebase in this module.
REGISTRY: dict[str, type[DepaError]] = _registry()


def error_for_problem(status: int, slug: str, detail: str, remedy: str | None = None) -> DepaError:
    """Rebuild the typed error a service answered as problem+json, with the remedy the service gave."""
    cls = REGISTRY.get(slug.rsplit(":", 1)[-1])
    if cls is None or cls is ForkError:  # a fork needs both checkpoints; a service never sends one
        return DepaError(f"{status}: {detail}", remedy=remedy)
    return cls(detail, remedy=remedy)
