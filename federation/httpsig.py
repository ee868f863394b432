"""Verifying a signed request, whichever HTTP Signatures scheme signed it.

Why this module exists: a request may carry a draft-cavage ``Signature``
(:mod:`federation.cavage`, what Mastodon and GoToSocial send) or an RFC 9421
``Signature-Input`` (:mod:`federation.rfc9421`, what Mastodon 4.5 and Fedify
send first). Those modules check their scheme's shape and cryptography; this
one holds what must not differ between them, so a request is judged the same
either way: the body size cap, Mastodon's clock window, the key lookup and the
key-rotation retry, and "the key is on the owner's host".

Verification is split so that a caller can refuse a forged request before it
costs anything: :func:`claim_of` checks all that needs no key (header syntax, the
clock window, the body's digest) and says which key is claimed; the caller may
then check that claim against what the body says (the inbox wants the key on the
actor's host) before :func:`verify_claim` fetches the key. :func:`verify_request`
does both at once.

Everything here is pure: verification takes a plain
:class:`~federation.signed.SignedRequest`, an injected ``now`` and a
:class:`~federation.signed.KeyLookup`, and returns who signed or raises
:class:`~federation.errors.SignatureError` saying why.

Key rotation: when a signature does not verify with the key we have, the key is
looked up once more with ``refresh=True`` and the check is retried. Rate-limiting
those refreshes (Mastodon allows one per remote address per five minutes) is the
lookup's business, not ours: a lookup that declines to refetch simply returns the
cached key again or raises ``SignatureError``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from cryptography.hazmat.primitives.asymmetric import rsa

from federation import cavage, rfc9421
from federation.errors import SignatureError, TooLargeError
from federation.hosts import same_origin
from federation.signed import KeyLookup, PublicKeyInfo, SignedRequest, VerifiedSignature

CLOCK_SKEW = timedelta(hours=1)
DEFAULT_VALIDITY = timedelta(minutes=5)
MAX_VALIDITY = timedelta(hours=12)
DEFAULT_MAX_BODY = 1_048_576


@dataclass(frozen=True)
class SignatureClaim:
    """A signature that passed every check a key is not needed for.

    Its header parsed, its date inside the clock window, its digest matched
    against the body: all that is left is to fetch ``key_id`` and check the bytes.
    """

    key_id: str
    scheme: Literal["cavage", "rfc9421"]
    verifies: Callable[[rsa.RSAPublicKey], bool]


async def verify_request(
    req: SignedRequest,
    *,
    key_lookup: KeyLookup,
    now: datetime,
    max_body: int = DEFAULT_MAX_BODY,
) -> VerifiedSignature:
    """Verify a request's HTTP signature (RFC 9421 if ``Signature-Input`` is present,
    else draft-cavage) and return who signed it.

    Raises ``SignatureError`` with a short reason, or ``TooLargeError`` for a body over
    ``max_body`` (callers should also cap the body while reading it).
    """
    return await verify_claim(claim_of(req, now=now, max_body=max_body), key_lookup)


def claim_of(
    req: SignedRequest, *, now: datetime, max_body: int = DEFAULT_MAX_BODY
) -> SignatureClaim:
    """Check everything about a request's signature that needs no key, cheaply:
    header syntax, the covered headers, the clock window and the body's digest.

    Raises ``SignatureError`` (or ``TooLargeError``) at the first thing wrong.
    """
    if len(req.body) > max_body:
        raise TooLargeError(f"body of {len(req.body)} bytes exceeds {max_body}")
    now = cavage.as_utc(now)
    if "signature-input" in req.fields:
        return _rfc9421_claim(req, now)
    if "signature" in req.fields:
        return _cavage_claim(req, now)
    raise SignatureError("request is not signed")


async def verify_claim(claim: SignatureClaim, key_lookup: KeyLookup) -> VerifiedSignature:
    """Fetch the claimed key (with the rotation retry) and check the signature with it."""
    info = await _verify_with_rotation(claim.key_id, key_lookup, claim.verifies)
    return VerifiedSignature(key_id=claim.key_id, owner=info.owner, scheme=claim.scheme)


def _cavage_claim(req: SignedRequest, now: datetime) -> SignatureClaim:
    sig = cavage.parse_request(req)
    _check_clock_window(sig.created, sig.expires, now)
    if "digest" in sig.names:
        cavage.check_digest(req)
    texts = [
        cavage.signing_string(sig.names, pseudo, req.fields)
        for pseudo in cavage.pseudo_headers(req, sig)
    ]

    def attempt(key: rsa.RSAPublicKey) -> bool:
        return any(cavage.rsa_verifies(key, sig.signature, text) for text in texts)

    return SignatureClaim(sig.key_id, "cavage", attempt)


def _rfc9421_claim(req: SignedRequest, now: datetime) -> SignatureClaim:
    parsed = rfc9421.parse_request(req)
    _check_clock_window(parsed.created, parsed.expires, now)
    return SignatureClaim(
        parsed.key_id, "rfc9421", lambda key: rfc9421.signature_verifies(req, key)
    )


async def _verify_with_rotation(
    key_id: str, key_lookup: KeyLookup, attempt: Callable[[rsa.RSAPublicKey], bool]
) -> PublicKeyInfo:
    """Try the key we have, then (once) a freshly fetched one."""
    for refresh in (False, True):
        info = await key_lookup(key_id, refresh=refresh)
        if attempt(_usable_key(key_id, info)):
            return info
    raise SignatureError("signature does not verify with the signer's key")


def _usable_key(key_id: str, info: PublicKeyInfo) -> rsa.RSAPublicKey:
    if not same_origin(key_id, info.owner):
        raise SignatureError("keyId is not on the same host as the key owner")
    if not isinstance(info.public_key, rsa.RSAPublicKey):
        raise SignatureError("only RSA keys are supported")
    return info.public_key


def _check_clock_window(created: datetime, expires: datetime | None, now: datetime) -> None:
    """Mastodon's window: a Date is accepted within [now - 3900 s, now + 3600 s].

    The future check comes first: after it, no date arithmetic can overflow.
    """
    if created > now + CLOCK_SKEW:
        raise SignatureError("signature is dated in the future")
    expires = min(expires or created + DEFAULT_VALIDITY, created + MAX_VALIDITY)
    if now > expires + CLOCK_SKEW:
        raise SignatureError("signature has expired")
