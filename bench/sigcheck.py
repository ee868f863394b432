"""A minimal draft-cavage HTTP Signatures signer and verifier, written for the
benchmarks only, independently of ``federation.httpsig``.

The bench signs its pre-made inbox traffic with it (so the node verifies
signatures made by code it does not share), the sink verifies a sample of
what the node sends with it, and the floors time it: it is the least work a
whole check of one inbox POST can do (parse the header, hash the body, build
the signing string, one RSA verification).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from email.utils import formatdate

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGNED = ("(request-target)", "host", "date", "digest", "content-type")
_PARAM = re.compile(r'(\w+)="([^"]*)"')
_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()


def digest(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def signing_string(names: list[str] | tuple[str, ...], method: str, path: str,
                   headers: Mapping[str, str]) -> bytes:
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {path}")
        else:
            lines.append(f"{name}: {headers[name]}")
    return "\n".join(lines).encode("utf-8")


def sign_post(host: str, path: str, body: bytes, key: rsa.RSAPrivateKey, key_id: str,
              *, date: str | None = None,
              content_type: str = "application/activity+json") -> dict[str, str]:
    """The headers of a POST signed as Mastodon signs it (lower-case names)."""
    headers = {
        "host": host,
        "date": date or formatdate(usegmt=True),
        "digest": digest(body),
        "content-type": content_type,
    }
    text = signing_string(SIGNED, "POST", path, headers)
    signature = base64.b64encode(key.sign(text, _PKCS1, _SHA256)).decode("ascii")
    headers["signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(SIGNED)}",'
        f'signature="{signature}"'
    )
    return headers


def parse_signature(value: str) -> dict[str, str]:
    return dict(_PARAM.findall(value))


def verify(method: str, path: str, headers: Mapping[str, str], body: bytes,
           public_key: rsa.RSAPublicKey) -> bool:
    """True when the request's draft-cavage signature (and Digest) hold.

    ``headers`` must be keyed by lower-case names.
    """
    params = parse_signature(headers.get("signature", ""))
    names = params.get("headers", "date").split()
    if "digest" in names and headers.get("digest") != digest(body):
        return False
    try:
        text = signing_string(names, method, path, headers)
        raw = base64.b64decode(params["signature"])
        public_key.verify(raw, text, _PKCS1, _SHA256)
    except (KeyError, ValueError, InvalidSignature):
        return False
    return True


def load_public(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def load_private(pem: str) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key
