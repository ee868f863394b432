"""The rest of the fediverse, on loopback: one process that listens on many
addresses in 127.0.0.0/8 (one socket per address, all on one port), so each
address stands in for one remote server.

Every address serves actor documents (``GET /users/NAME``, with a public key,
so the node resolves keys through its real fetch path) and takes activities
at ``POST /inbox`` and ``POST /users/NAME/inbox``, answering 202. It counts
what arrives, checks that each POST carries exactly one signature, and
verifies the signature of a sample (every ``sample_every``-th POST) with the
bench's own verifier against keys the orchestrator hands it.

A control endpoint on ``127.0.0.1:ctrl_port`` answers ``GET /stats`` and
``POST /keys`` (a JSON map of keyId to PEM) and ``POST /reset``.

    python -m bench.remote CONFIG.json     # prints "ready" once listening
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

from bench import sigcheck

AS2 = "application/activity+json"


def key_index(host: str, name: str, nkeys: int) -> int:
    """Which of the shared test keys an account uses (the signer uses the same rule)."""
    return zlib.crc32(f"{host}/{name}".encode()) % nkeys


def actor_document(base: str, name: str, pem: str) -> dict[str, Any]:
    actor_id = f"{base}/users/{name}"
    return {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            "https://w3id.org/security/v1",
            {"manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
             "toot": "http://joinmastodon.org/ns#", "discoverable": "toot:discoverable"},
        ],
        "id": actor_id,
        "type": "Person",
        "preferredUsername": name,
        "name": f"Bench {name}",
        "summary": "<p>A loopback account of the Tocsin benchmarks.</p>",
        "inbox": f"{actor_id}/inbox",
        "outbox": f"{actor_id}/outbox",
        "followers": f"{actor_id}/followers",
        "following": f"{actor_id}/following",
        "endpoints": {"sharedInbox": f"{base}/inbox"},
        "url": f"{base}/@{name}",
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id, "publicKeyPem": pem},
    }


class State:
    def __init__(self, config: dict[str, Any]) -> None:
        self.port: int = config["port"]
        self.accounts: int = config.get("accounts", 1)
        self.public_pems: list[str] = json.loads(Path(config["keys"]).read_text())["public"]
        self.sample_every: int = config.get("sample_every", 10)
        self.status: int = config.get("inbox_status", 202)
        self.verify_keys: dict[str, Any] = {}
        self.docs: dict[tuple[str, str], bytes] = {}
        self.reset()

    def reset(self) -> None:
        self.posts = 0
        self.gets = 0
        self.not_found = 0
        self.first_post: float | None = None
        self.last_post: float | None = None
        self.first_get: float | None = None
        self.last_get: float | None = None
        self.by_host: Counter[str] = Counter()
        self.by_type: Counter[str] = Counter()
        self.not_one_signature = 0
        self.sampled = 0
        self.verified = 0
        self.failed = 0
        self.unknown_key = 0
        self.tallies: list[int] = []  # totals carried by each Update of a Question, in order

    def stats(self) -> dict[str, Any]:
        hits = list(self.by_host.values())
        return {
            "posts": self.posts,
            "gets": self.gets,
            "not_found": self.not_found,
            "first_post": self.first_post,
            "last_post": self.last_post,
            "first_get": self.first_get,
            "last_get": self.last_get,
            "hosts_posted_to": len(self.by_host),
            "max_posts_per_host": max(hits, default=0),
            "min_posts_per_host": min(hits, default=0),
            "by_type": dict(self.by_type),
            "not_one_signature": self.not_one_signature,
            "sampled": self.sampled,
            "verified": self.verified,
            "failed": self.failed,
            "unknown_key": self.unknown_key,
            "tallies": self.tallies,
        }

    # -- the remote servers ------------------------------------------------------------

    def actor(self, host: str, name: str) -> bytes | None:
        if not name.startswith("u") or not name[1:].isdigit() or int(name[1:]) >= self.accounts:
            return None
        cached = self.docs.get((host, name))
        if cached is None:
            pem = self.public_pems[key_index(host, name, len(self.public_pems))]
            doc = actor_document(f"http://{host}", name, pem)
            cached = self.docs[(host, name)] = json.dumps(doc).encode()
        return cached

    def post(self, local_ip: str, path: str, headers: list[tuple[str, str]], body: bytes) -> None:
        now = time.time()
        self.posts += 1
        self.first_post = self.first_post or now
        self.last_post = now
        self.by_host[local_ip] += 1
        signatures = [v for k, v in headers if k == "signature"]
        if len(signatures) != 1 or any(k == "signature-input" for k, _ in headers):
            self.not_one_signature += 1
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {}
        kind = doc.get("type", "?") if isinstance(doc, dict) else "?"
        self.by_type[str(kind)] += 1
        obj = doc.get("object") if isinstance(doc, dict) else None
        if kind == "Update" and isinstance(obj, dict) and obj.get("type") == "Question":
            total = sum(
                int((o.get("replies") or {}).get("totalItems", 0))
                for o in obj.get("oneOf", []) + obj.get("anyOf", [])
                if isinstance(o, dict)
            )
            self.tallies.append(total)
        if self.posts % self.sample_every == 1 or self.sample_every == 1:
            self._verify(path, headers, body)

    def _verify(self, path: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.sampled += 1
        fields = dict(headers)
        key_id = sigcheck.parse_signature(fields.get("signature", "")).get("keyId", "")
        key = self.verify_keys.get(key_id)
        if key is None:
            self.unknown_key += 1
        elif sigcheck.verify("POST", path, fields, body, key):
            self.verified += 1
        else:
            self.failed += 1


def _response(status: int, body: bytes = b"", content_type: str = "application/json") -> bytes:
    reason = {200: "OK", 202: "Accepted", 404: "Not Found", 400: "Bad Request"}.get(status, "X")
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\n"
    if body:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode("ascii") + b"\r\n" + body


class HttpProtocol(asyncio.Protocol):
    """Just enough HTTP/1.1 (keep-alive, Content-Length bodies) for the bench."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.local_ip = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.local_ip = transport.get_extra_info("sockname")[0]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = []
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers.append((name.strip().lower(), value.strip()))
            length = int(next((v for k, v in headers if k == "content-length"), "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            assert self.transport is not None
            self.transport.write(self.handler(self.local_ip, method, target, headers, body))


def serve_remote(state: State):  # type: ignore[no-untyped-def]
    def handle(local_ip: str, method: str, target: str, headers: list[tuple[str, str]],
               body: bytes) -> bytes:
        path = target.split("?", 1)[0]
        if method == "POST" and (path == "/inbox" or path.endswith("/inbox")):
            state.post(local_ip, path, headers, body)
            return _response(state.status)
        if method == "GET" and path.startswith("/users/"):
            now = time.time()
            state.gets += 1
            state.first_get = state.first_get or now
            state.last_get = now
            host = next((v for k, v in headers if k == "host"), f"{local_ip}:{state.port}")
            doc = state.actor(host, path.removeprefix("/users/"))
            if doc is not None:
                return _response(200, doc, AS2)
        state.not_found += 1
        return _response(404)

    return lambda: HttpProtocol(handle)


def serve_control(state: State):  # type: ignore[no-untyped-def]
    def handle(local_ip: str, method: str, target: str, headers: list[tuple[str, str]],
               body: bytes) -> bytes:
        if method == "GET" and target == "/stats":
            return _response(200, json.dumps(state.stats()).encode())
        if method == "POST" and target == "/keys":
            for key_id, pem in json.loads(body).items():
                state.verify_keys[key_id] = sigcheck.load_public(pem)
            return _response(200, b"{}")
        if method == "POST" and target == "/reset":
            state.reset()
            return _response(200, b"{}")
        return _response(404)

    return lambda: HttpProtocol(handle)


async def main(config_path: str) -> None:
    config = json.loads(Path(config_path).read_text())  # noqa: ASYNC240 (before serving)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    state = State(config)
    loop = asyncio.get_running_loop()
    servers = [
        await loop.create_server(
            serve_remote(state), host=config["hosts"], port=config["port"], backlog=1024,
            reuse_address=True,
        ),
        await loop.create_server(serve_control(state), host="127.0.0.1",
                                 port=config["ctrl_port"], reuse_address=True),
    ]
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        for server in servers:
            server.close()


if __name__ == "__main__":
    try:
        import uvloop

        run = uvloop.run
    except ImportError:
        run = asyncio.run
    with contextlib.suppress(KeyboardInterrupt):
        run(main(sys.argv[1]))
