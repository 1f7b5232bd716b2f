"""HTTP Message Signatures (RFC 9421) over reads: a party proves who asks by signing the request line.

A signed read covers "@method" "@authority" "@path" "@query" and carries `created`, `keyid` (the
reader's did:key) and `alg="ed25519"`. Nothing in a GET changes state, so no nonce is kept: a
captured signature can only repeat the same read, for at most MAX_SKEW_S, to someone who already
saw its answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from schemas import keys
from schemas.encoding import b64, unb64
from schemas.errors import BadSignature, MalformedInput, Unauthenticated

LABEL = "depa"
COVERED = ("@method", "@authority", "@path", "@query")
ALG = "ed25519"
MAX_SKEW_S = 300  # how far a signature's `created` may be from the server's clock

_NAME = r"[a-z*][a-z0-9_.*-]*"
_STRING = r'"[\x20-\x21\x23-\x5b\x5d-\x7e]*"'  # sf-string without escapes: nothing we sign needs them
# One dictionary member of Signature-Input, as RFC 8941 serializes it (the only form accepted, so the
# text after `label=` is exactly the "@signature-params" value the signer signed).
_INPUT = re.compile(rf"^({_NAME})=(\((?:{_STRING}(?: {_STRING})*)?\)(?:;{_NAME}=(?:-?\d{{1,15}}|{_STRING}))*)$")
_PARAM = re.compile(rf";({_NAME})=(-?\d{{1,15}}|{_STRING})")
_SIGNATURE = re.compile(rf"^({_NAME})=:([A-Za-z0-9+/=]{{1,200}}):$")


def signature_base(components: Sequence[tuple[str, str]], params: str) -> bytes:
    """RFC 9421 section 2.5: one `"name": value` line per covered component, then the parameters."""
    lines = [f'"{name}": {value}' for name, value in components]
    lines.append(f'"@signature-params": {params}')
    return "\n".join(lines).encode()


def read_components(method: str, authority: str, path: str, query: str) -> list[tuple[str, str]]:
    """The derived components of a request (section 2.2); `query` without its `?`, `path` as sent."""
    return list(zip(COVERED, (method.upper(), authority.lower(), path or "/", "?" + query), strict=True))


def sign_read(signer: keys.Signer, method: str, authority: str, path: str, query: str, created: int) -> dict[str, str]:
    """The Signature-Input and Signature headers for one request."""
    covered = " ".join(f'"{name}"' for name in COVERED)
    params = f'({covered});created={created};keyid="{signer.did}";alg="{ALG}"'
    sig = signer.sign(signature_base(read_components(method, authority, path, query), params))
    return {"signature-input": f"{LABEL}={params}", "signature": f"{LABEL}=:{b64(sig)}:"}


def verify_read(method: str, authority: str, path: str, query: str, headers: Mapping[str, str], now: float) -> str:
    """The did:key that signed this request; Unauthenticated if it is unsigned, stale or signed badly."""
    given, signature = headers.get("signature-input"), headers.get("signature")
    if given is None or signature is None:
        raise Unauthenticated("this ledger serves entries only to its parties: the read is not signed")
    found, sig = _INPUT.match(given.strip()), _SIGNATURE.match(signature.strip())
    if found is None or sig is None or found[1] != sig[1]:
        raise Unauthenticated("Signature-Input and Signature must be one RFC 9421 signature with the same label")
    label, params = found[1], found[2]
    covered = re.findall(r'"([^"]*)"', params[: params.index(")")])
    values = {k: v.strip('"') if v.startswith('"') else int(v) for k, v in _PARAM.findall(params[params.index(")") :])}
    if sorted(covered) != sorted(COVERED):
        raise Unauthenticated(f"a signed read covers exactly {' '.join(COVERED)}; {label} covers {covered}")
    keyid, created, alg = values.get("keyid"), values.get("created"), values.get("alg", ALG)
    if not isinstance(keyid, str) or not isinstance(created, int) or alg != ALG:
        raise Unauthenticated(f'a signed read names its keyid (a did:key), created, and alg="{ALG}"')
    if abs(now - created) > MAX_SKEW_S:
        raise Unauthenticated(f"the signature was created {now - created:+.0f} s from now; {MAX_SKEW_S} s at most")
    expires = values.get("expires")
    if isinstance(expires, int) and expires < now:
        raise Unauthenticated("the signature has expired")
    ordered = dict(read_components(method, authority, path, query))
    try:
        keys.verify(keyid, signature_base([(c, ordered[c]) for c in covered], params), unb64(sig[2], "signature"))
    except BadSignature as exc:
        raise Unauthenticated(f"the read's signature does not verify under {keyid}") from exc
    except MalformedInput as exc:  # a keyid that is no did:key, or bad base64
        raise Unauthenticated(f"the read's signature cannot be checked: {exc.detail}") from exc
    return keyid
