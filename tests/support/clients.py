"""httpx clients for the test's own requests to servers on loopback (plain HTTP).

httpx loads the CA bundle into a new TLS context for every client or transport
it makes (tens of milliseconds, more on a busy machine), although these only
ever speak plain HTTP. They share one context, made once, instead.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any

import httpx


@functools.cache
def _tls() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def loopback_client(**options: Any) -> httpx.AsyncClient:
    """``httpx.AsyncClient(**options)``, with the shared TLS context."""
    return httpx.AsyncClient(verify=_tls(), **options)


def loopback_transport(**options: Any) -> httpx.AsyncHTTPTransport:
    """``httpx.AsyncHTTPTransport(**options)`` (``local_address``…), with the shared context."""
    return httpx.AsyncHTTPTransport(verify=_tls(), **options)
