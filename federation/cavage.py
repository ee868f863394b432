"""HTTP Signatures (draft-cavage-12) as Mastodon and GoToSocial speak them.

Why this module exists: most server-to-server requests in the fediverse are
still authenticated by a draft-cavage ``Signature`` header over a few request
lines, made with the actor's RSA key. We sign the way Mastodon signs
(``rsa-sha256``, ``(request-target) host date digest``) and read signatures the
way Mastodon reads them (``app/lib/signed_request.rb``): strict header syntax,
the covered headers it insists on, its query-less ``(request-target)``
fallback, and a ``Digest`` recomputed over the raw body. That wire format is
this module's whole concern, as RFC 9421's is :mod:`federation.rfc9421`'s;
:mod:`federation.httpsig` applies the clock window, key lookup and key-rotation
retry that both schemes share.

Everything here is pure: signing takes the clock as an argument and touches no
network, and parsing never looks a key up.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from federation.errors import SignatureError
from federation.hosts import url_authority
from federation.signed import HeaderInput, SignedRequest

_TCHARS = r"[0-9A-Za-z!#$%&'*+.^_`|~-]+"
_PARAM = re.compile(
    rf'\s*(?P<key>{_TCHARS})\s*=\s*(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<token>{_TCHARS}))'
)
_SEPARATOR = re.compile(r"\s*(?P<comma>,)?\s*")
_TIMESTAMP = re.compile(r"\d{1,10}")  # up to 2286: no overflow
_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})


def digest_header(body: bytes) -> str:
    """The ``Digest`` header value for ``body``: ``SHA-256=<base64>``."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def http_date(moment: datetime) -> str:
    """An RFC 7231 IMF-fixdate in GMT, e.g. ``Wed, 20 Dec 2023 10:00:00 GMT``."""
    return format_datetime(as_utc(moment), usegmt=True)


def sign_headers(
    method: str,
    url: str,
    headers: HeaderInput,
    body: bytes,
    *,
    key_id: str,
    private_key: rsa.RSAPrivateKey,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers to add to a request so that Mastodon accepts its signature.

    Returns ``Host``, ``Date``, ``Digest`` (when there is a body, and always for POST)
    and ``Signature``. An existing ``Host`` header is kept as it will be sent.
    """
    if '"' in key_id or "\\" in key_id:
        raise ValueError("key_id must not contain quotes or backslashes")
    target = httpx.URL(url)
    given = httpx.Headers(headers)
    host = given.get("host") or url_authority(str(target))
    if not host:
        raise ValueError("url must be absolute")
    added = {"Host": host, "Date": http_date(now or datetime.now(UTC))}
    has_body = bool(body) or method.upper() in {"POST", "PUT", "PATCH"}
    names = ["(request-target)", "host", "date"]
    if has_body:
        added["Digest"] = digest_header(body)
        names += ["digest"] + (["content-type"] if "content-type" in given else [])
    elif "accept" in given:
        names.append("accept")
    given.update(added)
    request_target = f"{method.lower()} {target.raw_path.decode('ascii')}"
    text = signing_string(names, {"(request-target)": request_target}, given)
    signature = private_key.sign(text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    added["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return added


_POST_NAMES = "(request-target) host date digest content-type"


class PostSigner:
    """Signs POSTs with one key exactly as :func:`sign_headers` does, for the
    delivery hot path: what is the same for every request is made once (the
    ``Signature`` parameters but the signature itself, the padding and hash
    objects), the ``Date`` once a second, and the ``Digest`` once per body (a
    fan-out POSTs one body to every inbox). No URL or header parsing: the
    caller gives the ``Host`` value and the request target it will send.
    """

    def __init__(self, key_id: str, private_key: rsa.RSAPrivateKey) -> None:
        if '"' in key_id or "\\" in key_id:
            raise ValueError("key_id must not contain quotes or backslashes")
        self._key = private_key
        self._params = f'keyId="{key_id}",algorithm="rsa-sha256",headers="{_POST_NAMES}",'
        self._padding = padding.PKCS1v15()
        self._hash = hashes.SHA256()
        self._body: bytes | None = None
        self._digest = ""
        self._second = -1
        self._date = ""

    def sign(
        self,
        host: str,
        target: str,
        body: bytes,
        content_type: str,
        *,
        now: datetime | None = None,
    ) -> dict[str, str]:
        """``Host``, ``Date``, ``Digest`` and ``Signature`` for a POST of ``body`` to
        ``target`` (the path and query as sent, already encoded) on ``host``."""
        if body is not self._body:
            self._body, self._digest = body, digest_header(body)
        date = http_date(now) if now is not None else self._current_date()
        text = (
            f"(request-target): post {target}\nhost: {host}\ndate: {date}\n"
            f"digest: {self._digest}\ncontent-type: {content_type.strip()}"
        )
        signature = self._key.sign(text.encode("utf-8"), self._padding, self._hash)
        return {
            "Host": host,
            "Date": date,
            "Digest": self._digest,
            "Signature": f'{self._params}signature="{base64.b64encode(signature).decode("ascii")}"',
        }

    def _current_date(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second, self._date = second, http_date(datetime.fromtimestamp(second, UTC))
        return self._date


class HttpSignatureAuth(httpx.Auth):
    """Signs every request of an ``httpx`` client with :func:`sign_headers`."""

    requires_request_body = True

    def __init__(
        self,
        key_id: str,
        private_key: rsa.RSAPrivateKey,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.key_id = key_id
        self.private_key = private_key
        self.clock = clock or (lambda: datetime.now(UTC))

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        signed = sign_headers(
            request.method,
            str(request.url),
            request.headers,
            request.content,
            key_id=self.key_id,
            private_key=self.private_key,
            now=self.clock(),
        )
        request.headers.update(signed)
        yield request


@dataclass(frozen=True)
class HttpSigner:
    """Signs bodiless requests (fetches) as ``key_id``: called with the method,
    the URL and the headers to be sent, it returns the headers to add
    (:func:`sign_headers`). A ``federation.fetch_client.Signer``."""

    key_id: str
    private_key: rsa.RSAPrivateKey
    clock: Callable[[], datetime] | None = None  # default: now

    def __call__(self, method: str, url: str, headers: Mapping[str, str]) -> dict[str, str]:
        return sign_headers(
            method,
            url,
            headers,
            b"",
            key_id=self.key_id,
            private_key=self.private_key,
            now=self.clock() if self.clock is not None else None,
        )


@dataclass(frozen=True)
class CavageInput:
    """A parsed ``Signature`` header: the key, the covered names, the signature and its times."""

    key_id: str
    names: tuple[str, ...]
    signature: bytes
    created: datetime
    expires: datetime | None
    pseudo: dict[str, str]


def parse_signature_header(value: str) -> dict[str, str]:
    """Parse a cavage ``Signature`` header strictly into its parameters.

    Rejects duplicate parameters, trailing commas and anything that is not
    ``name=token`` or ``name="quoted"``. Tolerates the stray ``Signature ``
    prefix that old node-http-signature versions send (as Mastodon does).
    """
    text = value.strip().removeprefix("Signature ")
    params: dict[str, str] = {}
    pos = 0
    while True:
        match = _PARAM.match(text, pos)
        if match is None:
            raise SignatureError("malformed Signature header")
        key = match["key"]
        if key in params:
            raise SignatureError(f"duplicate Signature parameter {key!r}")
        quoted = match["quoted"]
        params[key] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else match["token"]
        separator = _SEPARATOR.match(text, match.end())
        assert separator is not None  # the pattern matches the empty string
        pos = separator.end()
        if separator["comma"] is None:
            if pos != len(text):
                raise SignatureError("malformed Signature header")
            return params


def parse_request(req: SignedRequest) -> CavageInput:
    """The request's ``Signature`` header, checked against Mastodon's rules (no key yet)."""
    params = parse_signature_header(req.fields["signature"])
    key_id, signature = params.get("keyId"), params.get("signature")
    if not key_id or not signature:
        raise SignatureError("Signature header lacks keyId or signature")
    algorithm = params.get("algorithm", "hs2019")
    if algorithm not in _ALGORITHMS:
        raise SignatureError(f"unsupported signature algorithm {algorithm!r}")
    names = tuple(params.get("headers", "date").lower().split())
    if not names:
        raise SignatureError("Signature headers parameter is empty")
    if algorithm != "hs2019" and {"(created)", "(expires)"} & set(names):
        raise SignatureError("(created) and (expires) are only allowed with hs2019")
    _check_required_names(req.method, names)
    times = ("(created)", "(expires)")
    pseudo: dict[str, str] = {n: _timestamp_param(params, n) for n in times if n in names}
    created = _from_timestamp(pseudo["(created)"]) if "(created)" in pseudo else _date_header(req)
    expires = _from_timestamp(pseudo["(expires)"]) if "(expires)" in pseudo else None
    return CavageInput(key_id, names, _b64decode(signature), created, expires, pseudo)


def _check_required_names(method: str, names: Sequence[str]) -> None:
    missing = [n for n in ("(request-target)", "host") if n not in names]
    if "date" not in names and "(created)" not in names:
        missing.append("date")
    if method.upper() == "POST" and "digest" not in names:
        missing.append("digest")
    if missing:
        raise SignatureError(f"signature must cover {', '.join(missing)}")


def pseudo_headers(req: SignedRequest, sig: CavageInput) -> list[dict[str, str]]:
    """Pseudo-header values to try: ``(request-target)`` with the query, then without."""
    method = req.method.lower()
    targets = [f"{method} {req.path}?{req.query}"] if req.query else []
    targets.append(f"{method} {req.path}")
    return [{**sig.pseudo, "(request-target)": target} for target in targets]


def signing_string(names: Sequence[str], pseudo: Mapping[str, str], headers: httpx.Headers) -> str:
    """The text that is signed: one ``name: value`` line per covered (pseudo-)header."""
    lines = []
    for name in names:
        value = pseudo.get(name) if name.startswith("(") else headers.get(name)
        if value is None:
            raise SignatureError(f"signed header {name!r} is missing from the request")
        lines.append(f"{name}: {value.strip()}")
    return "\n".join(lines)


def check_digest(req: SignedRequest) -> None:
    """Recompute the SHA-256 digest over the raw body (Misskey CVE-2023-49079)."""
    value = req.fields.get("digest")
    if value is None:
        raise SignatureError("Digest header is missing")
    offered = [part.strip().split("=", 1) for part in value.split(",")]
    sha256 = [pair[1] for pair in offered if len(pair) == 2 and pair[0].lower() == "sha-256"]
    if not sha256:
        raise SignatureError("Digest header has no SHA-256 digest")
    actual = hashlib.sha256(req.body).digest()
    if not any(hmac.compare_digest(_b64decode(v, quiet=True), actual) for v in sha256):
        raise SignatureError("Digest does not match the body")


def _date_header(req: SignedRequest) -> datetime:
    value = req.fields.get("date")
    if value is None:
        raise SignatureError("signed header 'date' is missing from the request")
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError) as exc:
        raise SignatureError("Date header is not an HTTP date") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _timestamp_param(params: Mapping[str, str], pseudo_header: str) -> str:
    name = pseudo_header.strip("()")
    value = params.get(name, "")
    if not _TIMESTAMP.fullmatch(value):
        raise SignatureError(f"signed {pseudo_header} needs an integer {name} parameter")
    return value


def _from_timestamp(value: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignatureError("signature timestamp is out of range") from exc


def _b64decode(value: str, *, quiet: bool = False) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        if quiet:
            return b""
        raise SignatureError("signature is not valid base64") from exc


def rsa_verifies(key: rsa.RSAPublicKey, signature: bytes, text: str) -> bool:
    """Whether ``signature`` is ``key``'s RSASSA-PKCS1-v1_5 SHA-256 signature of ``text``."""
    try:
        key.verify(signature, text.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is a ``ValueError``."""
    if moment.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return moment.astimezone(UTC)
