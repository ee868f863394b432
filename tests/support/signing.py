"""Requests signed with draft-cavage HTTP Signatures for the federation tests:
by our signer (``our_post``) or by a signing string built by hand (``hand_signed``),
and a key lookup that records its calls (``Lookup``)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from federation.cavage import (
    digest_header,
    http_date,
    sign_headers,
)
from federation.httpsig import verify_request
from federation.signed import PublicKeyInfo, SignedRequest, VerifiedSignature

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)

KEY_ID = "https://tocsin.example/actor#main-key"

OWNER = "https://tocsin.example/actor"

INBOX = "https://mastodon.example/users/alice/inbox"

BODY = b'{"type":"Follow","actor":"https://tocsin.example/actor"}'

AS2 = "application/activity+json"


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
