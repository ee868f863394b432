"""Raw HTTP servers on 127.0.0.1 for the outbound clients' guard tests: they count
connections and keep what arrived, and answer however a test scripts them
(including not at all, or forever). Plus a self-signed certificate maker."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


@dataclass(frozen=True)
class Received:
    request_line: str
    headers: list[tuple[str, str]]
    body: bytes

    def values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


Respond = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def answer_ok(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(OK)
    await writer.drain()


class LoopbackServer:
    """HTTP/1.1 on 127.0.0.1: counts connections, keeps each request (``received``)
    and its Host header (``hosts``), then runs ``respond`` (default: 200 "ok")."""

    def __init__(
        self, ssl_context: ssl.SSLContext | None = None, respond: Respond = answer_ok
    ) -> None:
        self._ssl = ssl_context
        self._respond = respond
        self.connections = 0
        self.received: list[Received] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    @property
    def hosts(self) -> list[str]:
        return [host for r in self.received for host in r.values("host")]

    async def __aenter__(self) -> LoopbackServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self._ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *lines = head.split("\r\n")
            headers = [
                (name.strip(), value.strip())
                for name, sep, value in (line.partition(":") for line in lines)
                if sep
            ]
            length = next((int(v) for k, v in headers if k.lower() == "content-length"), 0)
            body = await reader.readexactly(length)
            self.received.append(Received(request_line, headers, body))
            await self._respond(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()


def self_signed(tmp_path: Path, name: str) -> tuple[Path, Path, bytes]:
    """A certificate for ``name`` (its own CA): cert file, key file, cert PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert_pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file, cert_pem


def tls_contexts(
    tmp_path: Path, name: str
) -> tuple[ssl.SSLContext, ssl.SSLContext, list[str | None]]:
    """(server context for ``name``, client context trusting it, SNI names seen)."""
    cert_file, key_file, cert_pem = self_signed(tmp_path, name)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_file, key_file)
    seen: list[str | None] = []

    def record_sni(_sock: ssl.SSLObject, sni: str | None, _ctx: ssl.SSLContext) -> None:
        seen.append(sni)

    server_ctx.sni_callback = record_sni
    client_ctx = ssl.create_default_context(cadata=cert_pem.decode("ascii"))
    return server_ctx, client_ctx, seen
