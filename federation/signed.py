"""What a signed request and its verification are made of, whatever the scheme.

These types are shared by the two signature schemes (:mod:`federation.cavage`,
:mod:`federation.rfc9421`), the verifier that chooses between them
(:mod:`federation.httpsig`) and the inbox (:mod:`federation.inbox`); they live
here so that none of those modules has to import another to name them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import httpx
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

HeaderInput = httpx.Headers | Mapping[str, str] | Sequence[tuple[str, str]]


@dataclass(frozen=True)
class SignedRequest:
    """An incoming request as the verifier needs it, independent of any web framework.

    ``path`` is the raw (percent-encoded) path as it was on the wire, ``query`` the raw
    query string without ``?`` (empty when there is none), ``body`` the exact bytes
    received. ``headers`` may be any mapping or list of pairs; it is normalised to a
    case-insensitive ``httpx.Headers`` of the bytes as sent (a ``str`` read as latin-1,
    the way ASGI servers hand header bytes over, so any byte is accepted; a value
    outside ASCII then fails verification with a 401, never an encoding error).
    ``scheme`` is the scheme the client used (behind a TLS proxy, ``https``); only
    RFC 9421 ``@target-uri`` depends on it.
    """

    method: str
    path: str
    query: str
    headers: HeaderInput
    body: bytes
    scheme: str = "https"

    def __post_init__(self) -> None:
        if not isinstance(self.headers, httpx.Headers):
            object.__setattr__(self, "headers", httpx.Headers(_as_bytes(self.headers)))

    @property
    def fields(self) -> httpx.Headers:
        """The headers as a case-insensitive ``httpx.Headers``."""
        headers = self.headers
        return headers if isinstance(headers, httpx.Headers) else httpx.Headers(headers)


@dataclass(frozen=True)
class PublicKeyInfo:
    """A public key as published by its owner (an actor's ``publicKey``)."""

    key_id: str
    owner: str
    public_key: PublicKeyTypes


@dataclass(frozen=True)
class VerifiedSignature:
    """Who signed a request: the key and the actor that owns it."""

    key_id: str
    owner: str
    scheme: Literal["cavage", "rfc9421"]


class KeyLookup(Protocol):
    """Finds the public key for a ``keyId``; raises ``SignatureError`` if it can't be had.

    ``refresh=True`` asks for a fresh fetch past any cache (key rotation). The
    lookup decides whether to honour it and is responsible for rate-limiting it.
    """

    async def __call__(self, key_id: str, *, refresh: bool) -> PublicKeyInfo: ...


def _as_bytes(headers: HeaderInput) -> list[tuple[bytes, bytes]]:
    """Header pairs as bytes: httpx would encode ``str`` values as ASCII and raise."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return [(_wire(name), _wire(value)) for name, value in pairs]


def _wire(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        return text
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")
