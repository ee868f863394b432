"""A small RFC 8030 push service on loopback, and the browser side of a push
subscription, for the alert tests.

The service checks every message the way a real one would: the VAPID
``Authorization: vapid t=JWT, k=KEY`` (RFC 8292: an ES256 JWT signed by the
key ``k``, ``aud`` its own origin, ``exp`` in the future and within a day,
``sub`` a contact), ``Content-Encoding: aes128gcm``, ``TTL`` and ``Urgency``.
The subscriber decrypts the body (RFC 8291) with its own private key through
``http_ece``, a library we did not write, so what an alert says is proven.
A test can script answers (404, 410, 500) per subscriber.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import http_ece  # type: ignore[import-untyped]
import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.nodes import free_port


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Subscriber:
    """What a browser holds for one push subscription: its key pair and secret."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def to_json(self) -> dict[str, Any]:
        """What ``PushSubscription.toJSON()`` gives the page's script."""
        public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)},
        }

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
        )
        data: dict[str, Any] = json.loads(plain)
        return data


@dataclass(frozen=True)
class PushMessage:
    subscriber: str  # the id in the endpoint's path
    data: dict[str, Any]
    headers: dict[str, str]
    vapid_key: str  # the ``k`` the message was signed with


class VapidRefused(Exception):
    pass


def verify_vapid(header: str, audience: str) -> str:
    """The ``k`` of a valid RFC 8292 ``Authorization`` header; raises otherwise."""
    scheme, _, params = header.partition(" ")
    if scheme.lower() != "vapid":
        raise VapidRefused(f"scheme {scheme!r}")
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    token, key = parts["t"], parts["k"]
    head, claims, signature = token.split(".")
    if json.loads(unb64url(head)) != {"typ": "JWT", "alg": "ES256"}:
        raise VapidRefused("not an ES256 JWT")
    point = unb64url(key)
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    raw = unb64url(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise VapidRefused("bad signature") from exc
    body = json.loads(unb64url(claims))
    now = time.time()
    if body.get("aud") != audience:
        raise VapidRefused(f"aud {body.get('aud')!r} is not {audience!r}")
    if not now < body["exp"] <= now + 24 * 3600:
        raise VapidRefused("exp out of range")
    if not str(body.get("sub", "")).startswith(("mailto:", "https:")):
        raise VapidRefused("no sub")
    return key


@dataclass
class PushService:
    port: int
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    received: list[PushMessage] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    script: dict[str, list[int]] = field(default_factory=dict)  # answers to give, in order
    posts: int = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def subscriber(self, name: str) -> Subscriber:
        sub = Subscriber(f"{self.origin}/push/{name}")
        self.subscribers[name] = sub
        return sub

    def messages(self, name: str) -> list[dict[str, Any]]:
        return [m.data for m in self.received if m.subscriber == name]

    async def _push(self, request: Request) -> Response:
        self.posts += 1
        name = request.path_params["name"]
        answers = self.script.get(name)
        if answers:
            return Response(status_code=answers.pop(0))
        sub = self.subscribers.get(name)
        if sub is None:
            return Response(status_code=404)
        try:
            key = verify_vapid(request.headers.get("authorization", ""), self.origin)
            if request.headers.get("content-encoding") != "aes128gcm":
                raise VapidRefused("not aes128gcm")
            if not request.headers.get("ttl", "").isdigit():
                raise VapidRefused("no TTL")
            data = sub.decrypt(await request.body())
        except (VapidRefused, KeyError, ValueError) as exc:
            self.refused.append(f"{name}: {exc}")
            return Response(status_code=403)
        self.received.append(PushMessage(name, data, dict(request.headers), key))
        return Response(status_code=201)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/push/{name:str}", self._push, methods=["POST"])])


@asynccontextmanager
async def push_service() -> AsyncIterator[PushService]:
    service = PushService(port=free_port())
    config = uvicorn.Config(
        service.app(), host="127.0.0.1", port=service.port, log_level="warning", lifespan="off"
    )
    runner = uvicorn.Server(config)
    task = asyncio.create_task(runner.serve())
    try:
        while not runner.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield service
    finally:
        runner.should_exit = True
        await task
