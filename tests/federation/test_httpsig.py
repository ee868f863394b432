"""draft-cavage HTTP Signatures: our signer and verifier, checked against ``httpsig``
(PyPI) and Mastodon's own signed requests, plus every way a request must be refused."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpsig  # type: ignore[import-untyped]  # the independent implementation
import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from federation.cavage import (
    HttpSignatureAuth,
    digest_header,
    http_date,
    parse_signature_header,
    sign_headers,
)
from federation.errors import SignatureError, TooLargeError
from federation.httpsig import verify_request
from federation.signed import PublicKeyInfo, SignedRequest, VerifiedSignature

FIXTURES = Path(__file__).parent.parent / "fixtures" / "httpsig"
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
KEY_ID = "https://tocsin.example/actor#main-key"
OWNER = "https://tocsin.example/actor"
INBOX = "https://mastodon.example/users/alice/inbox"
BODY = b'{"type":"Follow","actor":"https://tocsin.example/actor"}'
AS2 = "application/activity+json"


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


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def our_post(
    key: rsa.RSAPrivateKey, *, url: str = INBOX, body: bytes = BODY, now: datetime = NOW
) -> SignedRequest:
    """A POST signed by our signer, as the receiving server would see it."""
    parts = httpx.URL(url)
    headers = {"Content-Type": AS2}
    headers.update(
        sign_headers("POST", url, headers, body, key_id=KEY_ID, private_key=key, now=now)
    )
    return SignedRequest("POST", parts.path, parts.query.decode(), headers, body)


def hand_signed(
    key: rsa.RSAPrivateKey,
    names: list[str],
    *,
    method: str = "POST",
    path: str = "/users/alice/inbox",
    query: str = "",
    headers: Mapping[str, str] | None = None,
    body: bytes = BODY,
    params: Mapping[str, str] | None = None,
    target: str | None = None,
) -> SignedRequest:
    """A request signed by a signing string built here, independently of our signer."""
    fields = httpx.Headers(
        headers
        if headers is not None
        else {"Host": "mastodon.example", "Date": http_date(NOW), "Digest": digest_header(body)}
    )
    params = dict(params if params is not None else {"algorithm": "rsa-sha256"})
    pseudo = {
        "(request-target)": target or f"{method.lower()} {path}" + (f"?{query}" if query else ""),
        "(created)": params.get("created", ""),
        "(expires)": params.get("expires", ""),
    }
    text = "\n".join(f"{n}: {pseudo[n] if n.startswith('(') else fields[n]}" for n in names)
    raw = key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    params = {"keyId": KEY_ID, **params, "headers": " ".join(names)}
    params["signature"] = base64.b64encode(raw).decode()
    fields["Signature"] = ",".join(f'{k}="{v}"' for k, v in params.items())
    return SignedRequest(method, path, query, fields, body)


POST_NAMES = ["(request-target)", "host", "date", "digest"]


async def verify(req: SignedRequest, lookup: Lookup, now: datetime = NOW) -> VerifiedSignature:
    return await verify_request(req, key_lookup=lookup, now=now)


# --- signing shape --------------------------------------------------------------------------


def test_digest_header_is_base64_sha256() -> None:
    assert digest_header(b"Hello world") == "SHA-256=ZOyIygCyaOW6GjVnihtTFtIS9PNmskdyMlNKiuyjfzw="


def test_post_signing_shape(key: rsa.RSAPrivateKey) -> None:
    added = sign_headers(
        "POST",
        "https://b.example:8443/inbox?page=2",
        {"Content-Type": AS2},
        BODY,
        key_id=KEY_ID,
        private_key=key,
        now=NOW,
    )
    assert set(added) == {"Host", "Date", "Digest", "Signature"}
    assert added["Host"] == "b.example:8443"
    assert added["Date"] == "Wed, 01 May 2024 12:00:00 GMT"
    assert added["Digest"] == digest_header(BODY)
    params = parse_signature_header(added["Signature"])
    assert params["keyId"] == KEY_ID
    assert params["algorithm"] == "rsa-sha256"
    assert params["headers"] == "(request-target) host date digest content-type"


def test_get_signing_shape_signs_accept(key: rsa.RSAPrivateKey) -> None:
    added = sign_headers(
        "GET", INBOX, {"Accept": AS2}, b"", key_id=KEY_ID, private_key=key, now=NOW
    )
    assert "Digest" not in added
    assert added["Host"] == "mastodon.example"
    assert parse_signature_header(added["Signature"])["headers"] == (
        "(request-target) host date accept"
    )


def test_get_without_accept_signs_request_target_host_date(key: rsa.RSAPrivateKey) -> None:
    added = sign_headers("GET", INBOX, {}, b"", key_id=KEY_ID, private_key=key, now=NOW)
    assert parse_signature_header(added["Signature"])["headers"] == "(request-target) host date"


def test_host_drops_the_default_port(key: rsa.RSAPrivateKey) -> None:
    added = sign_headers(
        "GET", "https://Mastodon.Example:443/x", {}, b"", key_id=KEY_ID, private_key=key, now=NOW
    )
    assert added["Host"] == "mastodon.example"


def test_signing_with_a_naive_clock_is_refused(key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_headers(
            "GET", INBOX, {}, b"", key_id=KEY_ID, private_key=key, now=datetime(2024, 5, 1)
        )


# --- interoperability -----------------------------------------------------------------------


def test_our_post_is_verified_by_httpsig(key: rsa.RSAPrivateKey) -> None:
    req = our_post(key, url=INBOX + "?page=2")
    verifier = httpsig.HeaderVerifier(
        dict(req.fields),
        public_pem(key),
        required_headers=["(request-target)", "host", "date", "digest"],
        method="POST",
        path="/users/alice/inbox?page=2",
        sign_header="signature",
    )
    assert verifier.verify() is True


async def test_httpsig_signed_post_is_verified_by_us(key: rsa.RSAPrivateKey) -> None:
    headers = {
        "Host": "mastodon.example",
        "Date": http_date(NOW),
        "Digest": digest_header(BODY),
        "Content-Type": AS2,
    }
    signer = httpsig.HeaderSigner(
        KEY_ID,
        private_pem(key),
        algorithm="rsa-sha256",
        headers=[*POST_NAMES, "content-type"],
        sign_header="signature",
    )
    signed = signer.sign(headers, method="POST", path="/users/alice/inbox?page=2")
    req = SignedRequest("POST", "/users/alice/inbox", "page=2", dict(signed), BODY)
    result = await verify(req, lookup_of(key))
    assert result == VerifiedSignature(key_id=KEY_ID, owner=OWNER, scheme="cavage")


def load_vector(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


def vector_request(raw: Mapping[str, Any]) -> SignedRequest:
    return SignedRequest(
        raw["method"],
        raw["path"],
        raw["query"],
        raw["headers"],
        raw["body"].encode(),
        scheme=raw["scheme"],
    )


async def test_fixed_httpsig_vector_verifies() -> None:
    vector = load_vector("cavage-post.json")
    private = serialization.load_pem_private_key(
        (FIXTURES / vector["key_file"]).read_bytes(), password=None
    )
    assert isinstance(private, rsa.RSAPrivateKey)
    req = vector_request(vector["request"])
    now = datetime.fromisoformat(vector["now"])
    result = await verify(req, lookup_of(private), now)
    assert (result.key_id, result.owner) == (vector["key_id"], vector["owner"])


def test_our_signature_equals_httpsig_byte_for_byte() -> None:
    vector = load_vector("cavage-post.json")
    private = serialization.load_pem_private_key(
        (FIXTURES / vector["key_file"]).read_bytes(), password=None
    )
    assert isinstance(private, rsa.RSAPrivateKey)
    raw = vector["request"]
    given = {"Host": raw["headers"]["Host"], "Content-Type": raw["headers"]["Content-Type"]}
    ours = sign_headers(
        "POST",
        "https://mastodon.example" + raw["path"],
        given,
        raw["body"].encode(),
        key_id=vector["key_id"],
        private_key=private,
        now=datetime.fromisoformat(vector["now"]),
    )
    theirs = parse_signature_header(raw["headers"]["Signature"])
    assert ours["Digest"] == raw["headers"]["Digest"]
    assert parse_signature_header(ours["Signature"])["signature"] == theirs["signature"]


MASTODON = load_vector("mastodon-upstream.json")
CAVAGE_CASES = [c for c in MASTODON["cases"] if c["name"].startswith("cavage")]


@pytest.mark.parametrize("case", CAVAGE_CASES, ids=[c["name"] for c in CAVAGE_CASES])
async def test_mastodon_signed_requests_get_mastodons_verdict(case: dict[str, Any]) -> None:
    public = serialization.load_pem_public_key(MASTODON["public_key_pem"].encode())
    lookup = Lookup([public], owner=MASTODON["owner"])
    req = vector_request(case["request"])
    now = datetime.fromisoformat(MASTODON["now"])
    if case["expect"] == "accept":
        assert (await verify(req, lookup, now)).owner == MASTODON["owner"]
    else:
        with pytest.raises(SignatureError):
            await verify(req, lookup, now)


def test_http_signature_auth_signs_an_httpx_request(key: rsa.RSAPrivateKey) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    auth = HttpSignatureAuth(KEY_ID, key, clock=lambda: NOW)
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        client.post(INBOX + "?x=1", content=BODY, headers={"Content-Type": AS2})
    sent = seen[0]
    verifier = httpsig.HeaderVerifier(
        dict(sent.headers),
        public_pem(key),
        required_headers=[*POST_NAMES, "content-type"],
        method="POST",
        path="/users/alice/inbox?x=1",
        sign_header="signature",
    )
    assert verifier.verify() is True


async def test_async_client_get_is_signed_and_verifies(key: rsa.RSAPrivateKey) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    auth = HttpSignatureAuth(KEY_ID, key, clock=lambda: NOW)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as client:
        await client.get("http://127.0.0.1:8001/actor", headers={"Accept": AS2})
    sent = seen[0]
    assert sent.headers["host"] == "127.0.0.1:8001"
    assert "accept" in parse_signature_header(sent.headers["signature"])["headers"]
    req = SignedRequest("GET", "/actor", "", sent.headers, b"", scheme="http")
    assert (await verify(req, lookup_of(key))).scheme == "cavage"


# --- refusals -------------------------------------------------------------------------------


async def test_unsigned_request_is_rejected() -> None:
    req = SignedRequest("POST", "/inbox", "", {"Host": "a.example"}, BODY)
    with pytest.raises(SignatureError, match="not signed"):
        await verify(req, Lookup([]))


async def test_signature_from_another_key_is_rejected(
    key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    lookup = lookup_of(other_key)
    with pytest.raises(SignatureError, match="does not verify"):
        await verify(our_post(key), lookup)
    assert lookup.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_body_changed_after_signing_is_rejected(key: rsa.RSAPrivateKey) -> None:
    req = our_post(key)
    tampered = SignedRequest(req.method, req.path, req.query, req.headers, BODY + b" ")
    lookup = lookup_of(key)
    with pytest.raises(SignatureError, match="Digest does not match"):
        await verify(tampered, lookup)
    assert lookup.calls == []  # refused before fetching anything


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
async def test_date_window(key: rsa.RSAPrivateKey, age: timedelta, accepted: bool) -> None:
    req = our_post(key, now=NOW - age)
    if accepted:
        assert (await verify(req, lookup_of(key))).owner == OWNER
    else:
        with pytest.raises(SignatureError, match=r"expired|future"):
            await verify(req, lookup_of(key))


async def test_unparsable_date_is_rejected(key: rsa.RSAPrivateKey) -> None:
    headers = {"Host": "mastodon.example", "Date": "wrong date", "Digest": digest_header(BODY)}
    req = hand_signed(key, POST_NAMES, headers=headers)
    with pytest.raises(SignatureError, match="Date"):
        await verify(req, lookup_of(key))


async def test_post_without_signed_digest_is_rejected(key: rsa.RSAPrivateKey) -> None:
    req = hand_signed(key, ["(request-target)", "host", "date"])
    with pytest.raises(SignatureError, match="must cover digest"):
        await verify(req, lookup_of(key))


async def test_signed_header_absent_from_request_is_rejected(key: rsa.RSAPrivateKey) -> None:
    req = our_post(key)
    headers = httpx.Headers(req.fields)
    del headers["content-type"]
    stripped = SignedRequest(req.method, req.path, req.query, headers, req.body)
    with pytest.raises(SignatureError, match="'content-type' is missing"):
        await verify(stripped, lookup_of(key))


async def test_signed_digest_absent_from_request_is_rejected(key: rsa.RSAPrivateKey) -> None:
    req = our_post(key)
    headers = httpx.Headers(req.fields)
    del headers["digest"]
    stripped = SignedRequest(req.method, req.path, req.query, headers, req.body)
    with pytest.raises(SignatureError, match="Digest header is missing"):
        await verify(stripped, lookup_of(key))


async def test_headers_param_missing_host_is_rejected(key: rsa.RSAPrivateKey) -> None:
    req = hand_signed(key, ["(request-target)", "date", "digest"])
    with pytest.raises(SignatureError, match="must cover host"):
        await verify(req, lookup_of(key))


async def test_headers_param_missing_request_target_is_rejected(key: rsa.RSAPrivateKey) -> None:
    req = hand_signed(key, ["host", "date", "digest"])
    with pytest.raises(SignatureError, match=r"must cover \(request-target\)"):
        await verify(req, lookup_of(key))


async def test_duplicate_params_are_rejected(key: rsa.RSAPrivateKey) -> None:
    req = our_post(key)
    headers = httpx.Headers(req.fields)
    headers["Signature"] = headers["Signature"] + ',keyId="https://evil.example/actor#key"'
    with pytest.raises(SignatureError, match="duplicate Signature parameter 'keyId'"):
        await verify(SignedRequest("POST", req.path, "", headers, BODY), lookup_of(key))


async def test_empty_headers_param_is_rejected(key: rsa.RSAPrivateKey) -> None:
    req = hand_signed(key, [])
    with pytest.raises(SignatureError, match="headers parameter is empty"):
        await verify(req, lookup_of(key))


@pytest.mark.parametrize(
    "value",
    [
        "",
        'keyId="a",signature="b",',
        'keyId="a" signature="b"',
        'keyId="a",signature=',
        'keyId="unterminated,signature="b"',
        "keyId",
    ],
)
def test_unparsable_signature_header_is_rejected(value: str) -> None:
    with pytest.raises(SignatureError, match="malformed"):
        parse_signature_header(value)


def test_signature_header_quoting_and_legacy_prefix_are_understood() -> None:
    params = parse_signature_header('Signature keyId="a\\"b" , algorithm=hs2019,headers="date"')
    assert params == {"keyId": 'a"b', "algorithm": "hs2019", "headers": "date"}


async def test_missing_key_id_is_rejected(key: rsa.RSAPrivateKey) -> None:
    req = our_post(key)
    headers = httpx.Headers(req.fields)
    headers["Signature"] = headers["Signature"].replace("keyId=", "keyid=")
    with pytest.raises(SignatureError, match="lacks keyId"):
        await verify(SignedRequest("POST", req.path, "", headers, BODY), lookup_of(key))


async def test_unknown_params_are_ignored(key: rsa.RSAPrivateKey) -> None:
    req = hand_signed(key, POST_NAMES, params={"algorithm": "rsa-sha256", "x-extra": "1"})
    assert (await verify(req, lookup_of(key))).owner == OWNER


@pytest.mark.parametrize("algorithm", ["rsa-sha512", "hmac-sha256", "ed25519", "RSA-SHA256"])
async def test_unsupported_algorithm_is_rejected(key: rsa.RSAPrivateKey, algorithm: str) -> None:
    req = hand_signed(key, POST_NAMES, params={"algorithm": algorithm})
    with pytest.raises(SignatureError, match="unsupported signature algorithm"):
        await verify(req, lookup_of(key))


async def test_absent_algorithm_is_treated_as_hs2019(key: rsa.RSAPrivateKey) -> None:
    req = hand_signed(key, POST_NAMES, params={})
    assert (await verify(req, lookup_of(key))).owner == OWNER


async def test_created_pseudo_header_may_replace_date_with_hs2019(key: rsa.RSAPrivateKey) -> None:
    created = str(int((NOW - timedelta(minutes=1)).timestamp()))
    headers = {"Host": "mastodon.example", "Digest": digest_header(BODY)}
    names = ["(request-target)", "host", "(created)", "digest"]
    req = hand_signed(
        key, names, headers=headers, params={"algorithm": "hs2019", "created": created}
    )
    assert (await verify(req, lookup_of(key))).owner == OWNER


async def test_created_pseudo_header_with_rsa_sha256_is_rejected(key: rsa.RSAPrivateKey) -> None:
    created = str(int(NOW.timestamp()))
    names = [*POST_NAMES, "(created)"]
    req = hand_signed(key, names, params={"algorithm": "rsa-sha256", "created": created})
    with pytest.raises(SignatureError, match="only allowed with hs2019"):
        await verify(req, lookup_of(key))


async def test_signed_expires_in_the_past_is_rejected(key: rsa.RSAPrivateKey) -> None:
    expires = str(int((NOW - timedelta(seconds=3601)).timestamp()))
    names = [*POST_NAMES, "(expires)"]
    req = hand_signed(key, names, params={"algorithm": "hs2019", "expires": expires})
    with pytest.raises(SignatureError, match="expired"):
        await verify(req, lookup_of(key))


async def test_key_id_on_another_host_than_owner_is_rejected(key: rsa.RSAPrivateKey) -> None:
    lookup = Lookup([key.public_key()], owner="https://elsewhere.example/actor")
    with pytest.raises(SignatureError, match="same host"):
        await verify(our_post(key), lookup)


async def test_non_rsa_key_is_rejected(key: rsa.RSAPrivateKey) -> None:
    lookup = Lookup([ed25519.Ed25519PrivateKey.generate().public_key()])
    with pytest.raises(SignatureError, match="only RSA"):
        await verify(our_post(key), lookup)


async def test_key_lookup_failure_is_passed_on(key: rsa.RSAPrivateKey) -> None:
    async def unreachable(key_id: str, *, refresh: bool) -> PublicKeyInfo:
        raise SignatureError("could not fetch key")

    with pytest.raises(SignatureError, match="could not fetch key"):
        await verify_request(our_post(key), key_lookup=unreachable, now=NOW)


async def test_rotated_key_is_refetched_once_and_accepted(
    key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    lookup = lookup_of(other_key, key)  # the cache holds the old key; a refresh finds the new
    assert (await verify(our_post(key), lookup)).owner == OWNER
    assert lookup.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_request_target_without_query_is_accepted_as_fallback(
    key: rsa.RSAPrivateKey,
) -> None:
    req = hand_signed(key, POST_NAMES, query="page=2", target="post /users/alice/inbox")
    assert (await verify(req, lookup_of(key))).owner == OWNER


async def test_request_target_with_another_query_is_rejected(key: rsa.RSAPrivateKey) -> None:
    req = hand_signed(key, POST_NAMES, query="page=2", target="post /users/alice/inbox?page=3")
    with pytest.raises(SignatureError, match="does not verify"):
        await verify(req, lookup_of(key))


@pytest.mark.parametrize(
    "digest",
    [
        "sha-256={sha256}",
        "SHA-512=" + base64.b64encode(hashlib.sha512(BODY).digest()).decode() + ",SHA-256={sha256}",
    ],
    ids=["lower-case-name", "several-digests"],
)
async def test_digest_variants_are_accepted(key: rsa.RSAPrivateKey, digest: str) -> None:
    sha256 = base64.b64encode(hashlib.sha256(BODY).digest()).decode()
    headers = {
        "Host": "mastodon.example",
        "Date": http_date(NOW),
        "Digest": digest.format(sha256=sha256),
    }
    req = hand_signed(key, POST_NAMES, headers=headers)
    assert (await verify(req, lookup_of(key))).owner == OWNER


async def test_digest_without_sha256_is_rejected(key: rsa.RSAPrivateKey) -> None:
    sha512 = base64.b64encode(hashlib.sha512(BODY).digest()).decode()
    headers = {"Host": "mastodon.example", "Date": http_date(NOW), "Digest": f"SHA-512={sha512}"}
    req = hand_signed(key, POST_NAMES, headers=headers)
    with pytest.raises(SignatureError, match="no SHA-256"):
        await verify(req, lookup_of(key))


async def test_oversized_body_is_rejected(key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(TooLargeError):
        await verify_request(our_post(key), key_lookup=lookup_of(key), now=NOW, max_body=10)
