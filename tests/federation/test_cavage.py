"""draft-cavage HTTP Signatures (federation.cavage): our signer and verifier, checked
against ``httpsig`` (PyPI) and Mastodon's own signed requests, plus every way a
cavage signature must be refused."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpsig  # type: ignore[import-untyped]  # the independent implementation
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.cavage import (
    HttpSignatureAuth,
    PostSigner,
    digest_header,
    http_date,
    parse_signature_header,
    sign_headers,
)
from federation.errors import SignatureError
from federation.signed import SignedRequest
from tests.support.signing import (
    AS2,
    BODY,
    INBOX,
    KEY_ID,
    NOW,
    OWNER,
    POST_NAMES,
    hand_signed,
    lookup_of,
    our_post,
    public_pem,
    verify,
)


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


def test_post_signer_signs_exactly_as_sign_headers(key: rsa.RSAPrivateKey) -> None:
    signer = PostSigner(KEY_ID, key)
    for body in (BODY, b'{"other": "body"}', BODY):  # the digest follows the body
        for url, host, target in [
            ("https://b.example:8443/inbox?page=2", "b.example:8443", "/inbox?page=2"),
            (
                "https://mastodon.example/users/alice/inbox",
                "mastodon.example",
                "/users/alice/inbox",
            ),
        ]:
            expected = sign_headers(
                "POST", url, {"Content-Type": AS2}, body, key_id=KEY_ID, private_key=key, now=NOW
            )
            assert signer.sign(host, target, body, AS2, now=NOW) == expected


def test_post_signer_dates_each_request_now(key: rsa.RSAPrivateKey) -> None:
    signer = PostSigner(KEY_ID, key)
    before = datetime.now(UTC).replace(microsecond=0)
    date = parsedate_to_datetime(signer.sign("b.example", "/inbox", BODY, AS2)["Date"])
    assert before <= date <= datetime.now(UTC)


def test_post_signer_refuses_a_key_id_that_would_break_the_header(
    key: rsa.RSAPrivateKey,
) -> None:
    with pytest.raises(ValueError, match="quotes"):
        PostSigner('https://x.example/a"b', key)


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


async def test_body_changed_after_signing_is_rejected(key: rsa.RSAPrivateKey) -> None:
    req = our_post(key)
    tampered = SignedRequest(req.method, req.path, req.query, req.headers, BODY + b" ")
    lookup = lookup_of(key)
    with pytest.raises(SignatureError, match="Digest does not match"):
        await verify(tampered, lookup)
    assert lookup.calls == []  # refused before fetching anything


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
