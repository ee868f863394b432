"""RFC 9421 HTTP Message Signatures, held to the rules Mastodon applies.

Why this module exists: Mastodon verifies RFC 9421 signatures by default from 4.5
and Fedify (>= 1.6) sends them first, falling back to draft-cavage on a 401. We
accept them on the same terms as Mastodon: exactly one signature; ``created``
and ``keyid`` present; ``@method`` and the target covered (``@target-uri``, or
``@authority`` with ``@request-target`` or ``@path``, the last leaving the query
unsigned like cavage's query-less fallback); for POST a covered
``Content-Digest`` (RFC 9530) whose ``sha-256`` member matches the raw body; and
``rsa-v1_5-sha256`` (an absent ``alg`` is accepted, the key must be RSA).

Structured-field parsing, the signature base and the cryptography come from the
``http_message_signatures`` library rather than code of ours. Its verifier would
resolve the key synchronously and check ``created`` against the wall clock, which
fits neither an async key fetch nor an injected clock, so verification is split:
:func:`parse_request` checks the shape and the digest and yields the ``keyid`` and
times; :mod:`federation.httpsig` then applies the shared clock window, fetches the
key (with the rotation retry) and calls :func:`signature_verifies` with it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import http_sf
import httpx
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric import rsa
from http_message_signatures import (
    HTTPMessageSignaturesException,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)

from federation.errors import SignatureError
from federation.signed import HeaderInput, SignedRequest

ALGORITHM = algorithms.RSA_V1_5_SHA256.algorithm_id
DEFAULT_LABEL = "sig1"


@dataclass(frozen=True)
class ParsedSignature:
    """What the verifier needs before it has a key: who claims to sign, and when."""

    label: str
    key_id: str
    created: datetime
    expires: datetime | None
    covered: frozenset[str]


@dataclass
class _Message:
    """The request view ``http_message_signatures`` resolves components from."""

    method: str
    url: str
    headers: httpx.Headers


class _OneKey(HTTPSignatureKeyResolver):
    """Hands the library a key we already fetched (or hold, when signing)."""

    def __init__(self, key: rsa.RSAPublicKey | rsa.RSAPrivateKey) -> None:
        self.key = key

    def resolve_public_key(self, key_id: str) -> rsa.RSAPublicKey | rsa.RSAPrivateKey:
        return self.key

    def resolve_private_key(self, key_id: str) -> rsa.RSAPublicKey | rsa.RSAPrivateKey:
        return self.key


class _Verifier(HTTPMessageVerifier):
    """The library's verifier minus its wall-clock check: ours runs on an injected ``now``."""

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        return None


def sign_rfc9421(
    method: str,
    url: str,
    headers: HeaderInput,
    body: bytes,
    *,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    now: datetime | None = None,
    label: str = DEFAULT_LABEL,
) -> dict[str, str]:
    """The headers to add for an RFC 9421 signature, as Fedify sends it.

    Covers ``@method``, ``@target-uri`` and, when there is a body (always for
    POST), ``content-digest``. Returns ``Signature-Input``, ``Signature`` and
    ``Content-Digest`` when one was made. For tests and double-knocking.
    """
    fields = httpx.Headers(headers)
    before = set(fields.keys())
    message = _Message(method.upper(), str(httpx.URL(url)), fields)
    has_body = bool(body) or method.upper() in {"POST", "PUT", "PATCH"}
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=_OneKey(private_key)
    )
    signer.sign(
        message,
        key_id=key_id,
        created=now or datetime.now(UTC),
        label=label,
        covered_component_ids=("@method", "@target-uri"),
        body=body if has_body else None,
        use_existing_digest="content-digest" in before,
    )
    added = {"Signature-Input": fields["signature-input"], "Signature": fields["signature"]}
    if "content-digest" not in before and "content-digest" in fields:
        added["Content-Digest"] = fields["content-digest"]
    return added


def parse_request(req: SignedRequest) -> ParsedSignature:
    """Check an RFC 9421 request's shape and body digest, before any key is fetched."""
    label, components, params = _single_signature(req)
    covered = frozenset(_covered_names(components))
    _check_coverage(req.method, covered)
    key_id, created, expires = _check_params(params)
    if "content-digest" in covered:
        check_content_digest(req.fields.get("content-digest"), req.body)
    return ParsedSignature(label, key_id, created, expires, covered)


def signature_verifies(req: SignedRequest, public_key: rsa.RSAPublicKey) -> bool:
    """True if the signature verifies with ``public_key``, False if the bytes don't match.

    Anything else wrong with the signature (a component that can't be resolved, a
    malformed field) raises ``SignatureError``: refetching the key would not help.
    """
    verifier = _Verifier(
        signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=_OneKey(public_key)
    )
    try:
        verifier.verify(_message(req), max_age=None)
    except InvalidSignature as exc:
        if isinstance(exc.__cause__, CryptoInvalidSignature):
            return False
        raise SignatureError(f"RFC 9421 signature rejected: {exc}") from exc
    except HTTPMessageSignaturesException as exc:
        raise SignatureError(f"RFC 9421 signature rejected: {exc}") from exc
    return True


def check_content_digest(value: str | None, body: bytes) -> None:
    """RFC 9530 ``Content-Digest``: a ``sha-256`` member must match the raw body.

    Other algorithms are ignored, as Mastodon does.
    """
    if value is None:
        raise SignatureError("Content-Digest header is missing")
    digests = _parse_dictionary(value, "Content-Digest")
    member = digests.get("sha-256")
    if member is None or not isinstance(member[0], bytes):
        raise SignatureError("Content-Digest has no sha-256 digest")
    if not hmac.compare_digest(member[0], hashlib.sha256(body).digest()):
        raise SignatureError("Content-Digest does not match the body")


def _single_signature(req: SignedRequest) -> tuple[str, list[Any], Mapping[str, Any]]:
    inputs = _parse_dictionary(req.fields.get("signature-input", ""), "Signature-Input")
    signatures = _parse_dictionary(req.fields.get("signature", ""), "Signature")
    if len(inputs) != 1 or inputs.keys() != signatures.keys():
        raise SignatureError("exactly one RFC 9421 signature is supported")
    label, (components, params) = next(iter(inputs.items()))
    if not isinstance(components, list):
        raise SignatureError("Signature-Input member must be an inner list")
    return label, components, params


def _covered_names(components: list[Any]) -> list[str]:
    """Covered component names; a field with parameters other than ``sf`` is not counted."""
    names = []
    for value, params in components:
        if isinstance(value, str) and set(params) <= {"sf"}:
            names.append(value)
    return names


def _check_coverage(method: str, covered: frozenset[str]) -> None:
    if "@method" not in covered:
        raise SignatureError("signature must cover @method")
    by_parts = "@authority" in covered and bool({"@request-target", "@path"} & covered)
    if "@target-uri" not in covered and not by_parts:
        raise SignatureError("signature must cover @target-uri")
    if method.upper() == "POST" and "content-digest" not in covered:
        raise SignatureError("signature must cover content-digest on POST")


def _check_params(params: Mapping[str, Any]) -> tuple[str, datetime, datetime | None]:
    key_id = params.get("keyid")
    if not isinstance(key_id, str) or not key_id:
        raise SignatureError("signature has no keyid")
    alg = params.get("alg", ALGORITHM)
    if alg != ALGORITHM:
        raise SignatureError(f"unsupported signature algorithm {alg!r}")
    if "created" not in params:
        raise SignatureError("signature has no created time")
    created = _timestamp(params["created"], "created")
    expires = _timestamp(params["expires"], "expires") if "expires" in params else None
    return key_id, created, expires


def _timestamp(value: object, name: str) -> datetime:
    if type(value) is not int:
        raise SignatureError(f"signature {name} is not an integer")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureError(f"signature {name} is out of range") from exc


def _parse_dictionary(value: str, field: str) -> dict[str, Any]:
    def reject_duplicate(key: str, context: str) -> None:
        raise ValueError(f"duplicate key {key!r} in {context}")

    try:
        parsed = http_sf.parse(
            value.encode("ascii"), tltype="dictionary", on_duplicate_key=reject_duplicate
        )
    except (UnicodeEncodeError, ValueError) as exc:
        raise SignatureError(f"malformed {field} header") from exc
    if not isinstance(parsed, dict):
        raise SignatureError(f"malformed {field} header")
    return parsed


def _message(req: SignedRequest) -> _Message:
    host = req.fields.get("host")
    if not host:
        raise SignatureError("Host header is missing")
    query = f"?{req.query}" if req.query else ""
    return _Message(req.method.upper(), f"{req.scheme}://{host}{req.path}{query}", req.fields)
