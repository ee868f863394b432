"""RFC 9421 HTTP Message Signatures: verified through ``verify_request`` against requests
signed by ``http_message_signatures`` directly and by Mastodon, plus Mastodon's refusals."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    MappingKeyResolver,
    algorithms,
)

from federation.errors import SignatureError
from federation.httpsig import verify_request
from federation.rfc9421 import check_content_digest, sign_rfc9421
from federation.signed import PublicKeyInfo, SignedRequest, VerifiedSignature

FIXTURES = Path(__file__).parent.parent / "fixtures" / "httpsig"
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
KEY_ID = "https://tocsin.example/actor#main-key"
OWNER = "https://tocsin.example/actor"
HOST = "mastodon.example"
PATH = "/users/alice/inbox"
BODY = b'{"type":"Follow","actor":"https://tocsin.example/actor"}'


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Lookup:
    """A key lookup that serves keys in turn (the last one repeats) and records its calls."""

    keys: list[Any]
    owner: str = OWNER
    calls: list[tuple[str, bool]] = field(default_factory=list)

    async def __call__(self, key_id: str, *, refresh: bool) -> PublicKeyInfo:
        self.calls.append((key_id, refresh))
        public = self.keys[min(len(self.calls), len(self.keys)) - 1]
        return PublicKeyInfo(key_id=key_id, owner=self.owner, public_key=public)


def lookup_of(*private_keys: rsa.RSAPrivateKey) -> Lookup:
    return Lookup([k.public_key() for k in private_keys])


@dataclass
class Message:
    """The minimal request shape ``http_message_signatures`` signs and verifies."""

    method: str
    url: str
    headers: dict[str, str]


def library_signed(
    key: rsa.RSAPrivateKey | Any,
    *,
    method: str = "POST",
    query: str = "",
    body: bytes | None = BODY,
    covered: Sequence[str] = ("@method", "@target-uri"),
    algorithm: type[algorithms.HTTPSignatureAlgorithm] = algorithms.RSA_V1_5_SHA256,
    created: datetime = NOW,
    include_alg: bool = True,
    labels: Sequence[str] = ("sig1",),
) -> SignedRequest:
    """A request signed by ``http_message_signatures`` itself, not through our code."""
    url = f"https://{HOST}{PATH}" + (f"?{query}" if query else "")
    message = Message(method, url, {"Host": HOST, "Content-Type": "application/activity+json"})
    signer = HTTPMessageSigner(
        signature_algorithm=algorithm,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={KEY_ID: key}),
    )
    for n, label in enumerate(labels):
        signer.sign(
            message,
            key_id=KEY_ID,
            created=created,
            label=label,
            include_alg=include_alg,
            covered_component_ids=covered,
            body=body if n == 0 else None,
            use_existing_digest=n > 0,
            append_if_signature_exists=n > 0,
        )
    return SignedRequest(method, PATH, query, message.headers, body or b"")


def our_signed(key: rsa.RSAPrivateKey, *, method: str = "POST", url: str = "") -> SignedRequest:
    url = url or f"https://{HOST}{PATH}"
    parts = httpx.URL(url)
    headers = {"Host": parts.netloc.decode()}
    body = BODY if method == "POST" else b""
    headers.update(
        sign_rfc9421(method, url, headers, body, key_id=KEY_ID, private_key=key, now=NOW)
    )
    return SignedRequest(
        method, parts.path, parts.query.decode(), headers, body, scheme=parts.scheme
    )


def with_headers(req: SignedRequest, **changes: str) -> SignedRequest:
    headers = httpx.Headers(req.fields)
    for name, value in changes.items():
        headers[name.replace("_", "-")] = value
    return SignedRequest(req.method, req.path, req.query, headers, req.body, scheme=req.scheme)


async def verify(req: SignedRequest, lookup: Lookup, now: datetime = NOW) -> VerifiedSignature:
    return await verify_request(req, key_lookup=lookup, now=now)


# --- signing and interoperability -----------------------------------------------------------


def test_sign_rfc9421_shape(key: rsa.RSAPrivateKey) -> None:
    added = sign_rfc9421(
        "POST", f"https://{HOST}{PATH}", {}, BODY, key_id=KEY_ID, private_key=key, now=NOW
    )
    assert set(added) == {"Signature-Input", "Signature", "Content-Digest"}
    assert added["Signature-Input"] == (
        f'sig1=("@method" "@target-uri" "content-digest");created={int(NOW.timestamp())};'
        f'keyid="{KEY_ID}";alg="rsa-v1_5-sha256"'
    )
    digest = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    assert added["Content-Digest"] == f"sha-256=:{digest}:"


def test_our_signature_is_verified_by_http_message_signatures(key: rsa.RSAPrivateKey) -> None:
    req = our_signed(key)
    message = Message("POST", f"https://{HOST}{PATH}", dict(req.fields))
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.RSA_V1_5_SHA256,
        key_resolver=MappingKeyResolver(public_keys={KEY_ID: key.public_key()}, private_keys={}),
    )
    (result,) = verifier.verify(message, max_age=None, body=BODY)
    assert result.parameters["keyid"] == KEY_ID
    assert result.body == BODY


async def test_library_signed_post_is_verified_by_us(key: rsa.RSAPrivateKey) -> None:
    result = await verify(library_signed(key, query="page=2"), lookup_of(key))
    assert result == VerifiedSignature(key_id=KEY_ID, owner=OWNER, scheme="rfc9421")


async def test_our_get_on_loopback_http_verifies(key: rsa.RSAPrivateKey) -> None:
    req = our_signed(key, method="GET", url="http://127.0.0.1:8001/actor?x=1")
    assert "content-digest" not in req.fields
    assert (await verify(req, lookup_of(key))).scheme == "rfc9421"


async def test_target_uri_binds_the_scheme(key: rsa.RSAPrivateKey) -> None:
    req = our_signed(key, method="GET", url="http://127.0.0.1:8001/actor")
    as_https = SignedRequest(req.method, req.path, req.query, req.headers, req.body)
    with pytest.raises(SignatureError, match="does not verify"):
        await verify(as_https, lookup_of(key))


async def test_fixed_library_vector_verifies() -> None:
    vector = json.loads((FIXTURES / "rfc9421-post.json").read_text())
    private = serialization.load_pem_private_key(
        (FIXTURES / vector["key_file"]).read_bytes(), password=None
    )
    assert isinstance(private, rsa.RSAPrivateKey)
    raw = vector["request"]
    req = SignedRequest(
        raw["method"],
        raw["path"],
        raw["query"],
        raw["headers"],
        raw["body"].encode(),
        scheme=raw["scheme"],
    )
    result = await verify(req, lookup_of(private), datetime.fromisoformat(vector["now"]))
    assert (result.key_id, result.owner) == (vector["key_id"], vector["owner"])


MASTODON = json.loads((FIXTURES / "mastodon-upstream.json").read_text())
RFC_CASES = [c for c in MASTODON["cases"] if c["name"].startswith("RFC 9421")]


@pytest.mark.parametrize("case", RFC_CASES, ids=[c["name"] for c in RFC_CASES])
async def test_mastodon_signed_requests_get_mastodons_verdict(case: dict[str, Any]) -> None:
    public = serialization.load_pem_public_key(MASTODON["public_key_pem"].encode())
    lookup = Lookup([public], owner=MASTODON["owner"])
    raw = case["request"]
    req = SignedRequest(
        raw["method"], raw["path"], raw["query"], raw["headers"], raw["body"].encode()
    )
    now = datetime.fromisoformat(MASTODON["now"])
    if case["expect"] == "accept":
        assert (await verify(req, lookup, now)).scheme == "rfc9421"
    else:
        with pytest.raises(SignatureError):
            await verify(req, lookup, now)


async def test_authority_and_path_coverage_is_accepted(key: rsa.RSAPrivateKey) -> None:
    req = library_signed(key, covered=("@method", "@authority", "@path"))
    assert (await verify(req, lookup_of(key))).owner == OWNER


async def test_absent_alg_with_an_rsa_key_is_accepted(key: rsa.RSAPrivateKey) -> None:
    req = library_signed(key, include_alg=False)
    assert "alg=" not in req.fields["signature-input"]
    assert (await verify(req, lookup_of(key))).owner == OWNER


# --- refusals -------------------------------------------------------------------------------


async def test_body_changed_after_signing_is_rejected(key: rsa.RSAPrivateKey) -> None:
    req = library_signed(key)
    tampered = SignedRequest(req.method, req.path, req.query, req.headers, BODY + b" ")
    lookup = lookup_of(key)
    with pytest.raises(SignatureError, match="Content-Digest does not match"):
        await verify(tampered, lookup)
    assert lookup.calls == []


async def test_post_without_covered_content_digest_is_rejected(key: rsa.RSAPrivateKey) -> None:
    req = library_signed(key, body=None)
    with pytest.raises(SignatureError, match="must cover content-digest"):
        await verify(req, lookup_of(key))


async def test_covered_content_digest_absent_from_request_is_rejected(
    key: rsa.RSAPrivateKey,
) -> None:
    req = library_signed(key)
    headers = httpx.Headers(req.fields)
    del headers["content-digest"]
    stripped = SignedRequest(req.method, req.path, req.query, headers, req.body)
    with pytest.raises(SignatureError, match="Content-Digest header is missing"):
        await verify(stripped, lookup_of(key))


def test_content_digest_without_sha256_is_rejected() -> None:
    sha512 = base64.b64encode(hashlib.sha512(BODY).digest()).decode()
    with pytest.raises(SignatureError, match="no sha-256"):
        check_content_digest(f"sha-512=:{sha512}:", BODY)


def test_content_digest_with_other_algorithms_beside_sha256_is_accepted() -> None:
    sha256 = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    check_content_digest(f"unixsum=:AAAA:, sha-256=:{sha256}:", BODY)


async def test_signature_from_another_key_is_rejected(
    key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    lookup = lookup_of(other_key)
    with pytest.raises(SignatureError, match="does not verify"):
        await verify(library_signed(key), lookup)
    assert lookup.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_rotated_key_is_refetched_once_and_accepted(
    key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    lookup = lookup_of(other_key, key)
    assert (await verify(library_signed(key), lookup)).owner == OWNER
    assert lookup.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_key_id_on_another_host_than_owner_is_rejected(key: rsa.RSAPrivateKey) -> None:
    lookup = Lookup([key.public_key()], owner="https://elsewhere.example/actor")
    with pytest.raises(SignatureError, match="same host"):
        await verify(library_signed(key), lookup)


async def test_two_signatures_are_rejected(key: rsa.RSAPrivateKey) -> None:
    req = library_signed(key, labels=("sig1", "sig2"))
    with pytest.raises(SignatureError, match="exactly one"):
        await verify(req, lookup_of(key))


@pytest.mark.parametrize(
    ("covered", "reason"),
    [
        (("@target-uri",), "must cover @method"),
        (("@method",), "must cover @target-uri"),
        (("@method", "@path"), "must cover @target-uri"),
    ],
)
async def test_uncovered_method_or_target_is_rejected(
    key: rsa.RSAPrivateKey, covered: tuple[str, ...], reason: str
) -> None:
    with pytest.raises(SignatureError, match=reason):
        await verify(library_signed(key, covered=covered), lookup_of(key))


async def test_unsupported_alg_is_rejected(key: rsa.RSAPrivateKey) -> None:
    req = library_signed(key, algorithm=algorithms.RSA_PSS_SHA512)
    with pytest.raises(SignatureError, match="unsupported signature algorithm"):
        await verify(req, lookup_of(key))


async def test_missing_created_is_rejected(key: rsa.RSAPrivateKey) -> None:
    req = library_signed(key)
    signature_input = req.fields["signature-input"].replace(f";created={int(NOW.timestamp())}", "")
    with pytest.raises(SignatureError, match="no created"):
        await verify(with_headers(req, signature_input=signature_input), lookup_of(key))


async def test_malformed_signature_input_is_rejected(key: rsa.RSAPrivateKey) -> None:
    req = with_headers(library_signed(key), signature_input='sig1=("@method"')
    with pytest.raises(SignatureError, match="malformed Signature-Input"):
        await verify(req, lookup_of(key))


async def test_duplicate_labels_are_rejected(key: rsa.RSAPrivateKey) -> None:
    req = library_signed(key)
    doubled = req.fields["signature-input"] + ", " + req.fields["signature-input"]
    with pytest.raises(SignatureError, match="malformed Signature-Input"):
        await verify(with_headers(req, signature_input=doubled), lookup_of(key))


@pytest.mark.parametrize(
    ("age", "accepted"),
    [
        (timedelta(seconds=3900), True),
        (timedelta(seconds=3901), False),
        (timedelta(seconds=-3600), True),
        (timedelta(seconds=-3601), False),
    ],
    ids=["just-inside-past", "too-old", "just-inside-future", "too-far-in-future"],
)
async def test_created_window(key: rsa.RSAPrivateKey, age: timedelta, accepted: bool) -> None:
    req = library_signed(key, created=NOW - age)
    if accepted:
        assert (await verify(req, lookup_of(key))).owner == OWNER
    else:
        with pytest.raises(SignatureError, match=r"expired|future"):
            await verify(req, lookup_of(key))
