"""A stand-in for someone else's fediverse server (a Mastodon, say), served for
real over loopback HTTP.

It signs what it sends with ``httpsig`` — an HTTP Signatures implementation we
did not write — and verifies what it receives with the same library against
the sender's key, fetched over HTTP. So every exchange with a Tocsin node
proves interoperability, not just self-consistency.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import inspect
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

import httpsig  # type: ignore[import-untyped]
import httpx
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.clients import loopback_client
from tests.support.nodes import free_port

AS2 = "application/activity+json"
_KEYS: list[rsa.RSAPrivateKey] = []


def fixed_key(index: int) -> rsa.RSAPrivateKey:
    """RSA keys are slow to make; tests reuse a few per session."""
    while len(_KEYS) <= index:
        _KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _KEYS[index]


def private_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass
class Account:
    server: FakeServer
    name: str
    key: rsa.RSAPrivateKey
    username: bool = True  # False: the document has no preferredUsername

    @property
    def id(self) -> str:
        return f"{self.server.base}/users/{self.name}"

    @property
    def key_id(self) -> str:
        return f"{self.id}#main-key"

    @property
    def inbox(self) -> str:
        return f"{self.id}/inbox"

    def new_id(self, kind: str = "activities") -> str:
        return f"{self.id}/{kind}/{uuid.uuid4().hex}"

    def document(self) -> dict[str, Any]:
        doc = self._document()
        if not self.username:  # like fediverse-pasture's test actors
            del doc["preferredUsername"]
        return doc

    def _document(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.id,
            "type": "Person",
            "preferredUsername": self.name,
            "name": self.name.title(),
            "summary": "<p>Organiser</p>",
            "inbox": self.inbox,
            "outbox": f"{self.id}/outbox",
            "followers": f"{self.id}/followers",
            "following": f"{self.id}/following",
            "endpoints": {"sharedInbox": f"{self.server.base}/inbox"},
            "url": f"{self.server.base}/@{self.name}",
            "publicKey": {
                "id": self.key_id,
                "owner": self.id,
                "publicKeyPem": public_pem(self.key),
            },
        }

    def signed_headers(
        self, url: str, body: bytes, *, key_id: str | None = None, date: str | None = None
    ) -> dict[str, str]:
        """Headers of a POST signed by ``httpsig``, as Mastodon would send it."""
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {
            "Host": parts.netloc,
            "Date": date or formatdate(usegmt=True),
            "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode(),
            "Content-Type": AS2,
        }
        signer = httpsig.HeaderSigner(
            key_id or self.key_id,
            private_pem(self.key),
            algorithm="rsa-sha256",
            headers=["(request-target)", "host", "date", "digest", "content-type"],
            sign_header="signature",
        )
        return dict(signer.sign(headers, method="POST", path=path))

    async def post(self, url: str, activity: dict[str, Any], **sign: Any) -> httpx.Response:
        body = json.dumps(activity).encode()
        headers = self.signed_headers(url, body, **sign)
        async with loopback_client() as client:
            return await client.post(url, content=body, headers=headers)

    def follow(self, target: str) -> dict[str, Any]:
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": self.new_id("follows"),
            "type": "Follow",
            "actor": self.id,
            "object": target,
        }


@dataclass
class Received:
    path: str
    activity: dict[str, Any]
    signer_key_id: str
    verified: bool


@dataclass
class FakeServer:
    host: str
    port: int
    accounts: dict[str, Account] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    # tests may replace what an actor URL serves (to test hostile documents)
    override: dict[str, Callable[[], Response]] = field(default_factory=dict)
    inbox_status: int = 202
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    # other documents served by path (a JSON value, or a callable making the response)
    documents: dict[str, Any] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)  # every GET, path and query

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"

    def add_account(self, name: str, key_index: int = 0, *, username: bool = True) -> Account:
        account = Account(self, name, fixed_key(key_index), username)
        self.accounts[name] = account
        return account

    async def wait_for(
        self, predicate: Callable[[Received], bool], timeout: float = 10
    ) -> Received:
        async with asyncio.timeout(timeout):
            while True:
                self.arrived.clear()  # before scanning, so an arrival during the scan is seen
                for item in self.received:
                    if predicate(item):
                        return item
                await self.arrived.wait()

    # -- HTTP -------------------------------------------------------------------------

    async def _document(self, request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        self.fetched.append(target)
        found = self.documents.get(target)
        if found is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        if not callable(found):
            return JSONResponse(found, media_type=AS2)
        answer = found()
        return await answer if inspect.isawaitable(answer) else answer

    async def _actor(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.fetched.append(request.url.path)
        if request.url.path in self.override:
            return self.override[request.url.path]()
        if name not in self.accounts:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(self.accounts[name].document(), media_type=AS2)

    async def _webfinger(self, request: Request) -> Response:
        resource = request.query_params.get("resource", "")
        name = resource.removeprefix("acct:").split("@", 1)[0]
        if name not in self.accounts:
            return JSONResponse({"error": "not found"}, status_code=404)
        account = self.accounts[name]
        return JSONResponse(
            {
                "subject": f"acct:{name}@{self.authority}",
                "links": [{"rel": "self", "type": AS2, "href": account.id}],
            },
            media_type="application/jrd+json",
        )

    async def _inbox(self, request: Request) -> Response:
        body = await request.body()
        activity = json.loads(body)
        sig = httpsig.utils.parse_signature_header(request.headers["signature"])
        key_id = sig["keyid"]
        async with loopback_client() as client:
            actor = (await client.get(key_id.split("#")[0], headers={"Accept": AS2})).json()
        digest_ok = request.headers.get("digest") == (
            "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
        )
        verifier = httpsig.HeaderVerifier(
            dict(request.headers),
            actor["publicKey"]["publicKeyPem"],
            required_headers=["(request-target)", "host", "date", "digest"],
            method="POST",
            path=request.url.path,
            sign_header="signature",
        )
        verified = digest_ok and verifier.verify() and actor["id"] == activity.get("actor")
        self.received.append(Received(request.url.path, activity, key_id, bool(verified)))
        self.arrived.set()
        return Response(status_code=self.inbox_status)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/users/{name:str}", self._actor),
                Route("/.well-known/webfinger", self._webfinger),
                Route("/inbox", self._inbox, methods=["POST"]),
                Route("/users/{name:str}/inbox", self._inbox, methods=["POST"]),
                Route("/{path:path}", self._document),
            ]
        )


@asynccontextmanager
async def fake_server(host: str = "127.0.0.1") -> AsyncIterator[FakeServer]:
    server = FakeServer(host=host, port=free_port(host))
    config = uvicorn.Config(
        server.app(), host=host, port=server.port, log_level="warning", lifespan="off"
    )
    runner = uvicorn.Server(config)
    task = asyncio.create_task(runner.serve())
    try:
        while not runner.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield server
    finally:
        runner.should_exit = True
        await task


# -- remote follow: a server that publishes Mastodon's subscribe template ---------------------

SUBSCRIBE_REL = "http://ostatus.org/schema/1.0/subscribe"


@dataclass
class InteractiveServer(FakeServer):
    """A FakeServer whose WebFinger answer also carries the OStatus subscribe
    template, as Mastodon's does (``/authorize_interaction?uri={uri}``)."""

    subscribe_template: str | None = None  # None: the Mastodon-style default

    async def _webfinger(self, request: Request) -> Response:
        answer = await super()._webfinger(request)
        if answer.status_code != 200:
            return answer
        jrd = json.loads(bytes(answer.body))
        template = self.subscribe_template or f"{self.base}/authorize_interaction?uri={{uri}}"
        jrd["links"].append({"rel": SUBSCRIBE_REL, "template": template})
        return JSONResponse(jrd, media_type="application/jrd+json")


@asynccontextmanager
async def serve(server: FakeServer) -> AsyncIterator[FakeServer]:
    """Serve an already made ``FakeServer`` (or subclass) on its loopback port."""
    config = uvicorn.Config(
        server.app(), host=server.host, port=server.port, log_level="warning", lifespan="off"
    )
    runner = uvicorn.Server(config)
    task = asyncio.create_task(runner.serve())
    try:
        while not runner.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield server
    finally:
        runner.should_exit = True
        await task
