"""federation.cavage against implementations we did not write: the PyPI ``httpsig``
package both ways, its fixed vectors, and requests Mastodon itself signed with
Mastodon's verdict on each."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import httpsig  # type: ignore[import-untyped]  # the independent implementation
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.cavage import (
    digest_header,
    http_date,
    parse_signature_header,
    sign_headers,
)
from federation.errors import SignatureError
from federation.signed import SignedRequest, VerifiedSignature
from tests.support.signing import (
    AS2,
    BODY,
    INBOX,
    KEY_ID,
    NOW,
    OWNER,
    POST_NAMES,
    Lookup,
    lookup_of,
    our_post,
    private_pem,
    public_pem,
    verify,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "httpsig"


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
