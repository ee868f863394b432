"""Host normalisation, so every origin check compares like with like.

``Example.COM.``, ``example.com`` and the IDNA form of a Unicode name are the
same host (CVE-2023-42451 was a spoofing bug from comparing them naively).

Unicode names are encoded the way the HTTP clients that connect to them do:
UTS 46 mapping and IDNA 2008 (the ``idna`` package, which httpx and yarl use).
Python's own ``"idna"`` codec is IDNA 2003, which maps ``straße`` to
``strasse`` while the clients connect to ``xn--strae-oqa``: comparing with it
would let a block of one spelling be bypassed with the other.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import idna


def normalize_host(host: str) -> str:
    """Lower-case, strip one trailing dot, and encode Unicode labels as the clients do.

    A Unicode name that IDNA 2008 refuses is returned lower-cased: no client
    connects to it, so it can only ever equal itself.
    """
    host = host.strip().rstrip(".").lower()
    if host.isascii() or (host.startswith("[") and host.endswith("]")):
        return host  # nothing to encode (and the encoder is slow)
    try:
        return idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError:
        return host


def url_authority(url: str) -> str:
    """The normalised ``host[:port]`` of an absolute URL ('' if it has none).

    Default ports are dropped, so ``https://a.example:443/x`` and
    ``https://a.example/x`` share an authority.
    """
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return ""
    if not hostname:
        return ""
    host = normalize_host(hostname)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        return ""
    if port is None or (parts.scheme, port) in {("https", 443), ("http", 80)}:
        return host
    return f"{host}:{port}"


def same_origin(a: str, b: str) -> bool:
    """True when two absolute URLs share scheme-independent host and port."""
    auth_a = url_authority(a)
    return bool(auth_a) and auth_a == url_authority(b)


def normalize_domain(value: str) -> str:
    """A domain as block and allow lists store it: a normalised host, port kept.

    Accepts what an admin may paste (``https://Example.org:8443/path``) and
    returns ``host`` or ``host:port``.
    """
    value = value.strip()
    if "://" in value:
        value = value.split("://", 1)[1]
    value = value.split("/", 1)[0]
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit() and not host.endswith("]"):
        return f"{normalize_host(host)}:{port}"
    return normalize_host(value)


def split_port(domain: str) -> tuple[str, str | None]:
    """A normalised ``host[:port]`` as (host, port), port None when there is none.

    The colons of a bracketed IPv6 literal are not a port separator.
    """
    host, sep, port = domain.rpartition(":")
    if sep and port.isdigit() and (not host.startswith("[") or host.endswith("]")):
        return host, port
    return domain, None
