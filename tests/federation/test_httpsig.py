"""federation.httpsig: the rules a signed request meets whichever scheme signed it
(key lookup and rotation, the key's host, the clock window, the body cap)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from federation.errors import SignatureError, TooLargeError
from federation.httpsig import verify_request
from federation.signed import PublicKeyInfo, SignedRequest
from tests.support.signing import (
    BODY,
    KEY_ID,
    NOW,
    OWNER,
    Lookup,
    lookup_of,
    our_post,
    verify,
)


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


async def test_oversized_body_is_rejected(key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(TooLargeError):
        await verify_request(our_post(key), key_lookup=lookup_of(key), now=NOW, max_body=10)
