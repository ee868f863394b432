"""netguard's rules in aiohttp's terms, for the two aiohttp clients (fetches and
deliveries).

aiohttp resolves host names through a resolver object and dials what it
returns, so the rule goes there: :class:`GuardedResolver` answers only with
addresses :func:`federation.netguard.checked_addresses` accepted, and refuses
the whole host when any answer is not public. aiohttp never asks a resolver
about a host written as an IP address, so :func:`check_target` judges those
(and the scheme) before a request is made; every request, and every redirect
hop, must go through it.
"""

from __future__ import annotations

import socket

import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from federation.errors import FetchError, UnsafeTargetError
from federation.netguard import (
    Resolver,
    SystemResolver,
    check_scheme,
    checked_addresses,
    is_public_address,
    parse_ip,
)


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver port, answered through netguard's check.

    Returns only checked addresses; raises :class:`UnsafeTargetError` (which
    aiohttp lets through untouched) when the host is refused, and ``OSError``
    (which aiohttp reports as a DNS failure) when it does not resolve.
    """

    def __init__(self, *, allow_private: bool, resolver: Resolver | None = None) -> None:
        self._allow_private = allow_private
        self._resolver: Resolver = resolver or SystemResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        try:
            addresses = await checked_addresses(
                host, port, resolver=self._resolver, allow_private=self._allow_private
            )
        except UnsafeTargetError:
            raise
        except FetchError as exc:
            raise OSError(str(exc)) from exc
        results: list[ResolveResult] = [
            {
                "hostname": host,
                "host": str(ip),
                "port": port,
                "family": socket.AF_INET if ip.version == 4 else socket.AF_INET6,
                "proto": socket.IPPROTO_TCP,
                "flags": socket.AI_NUMERICHOST,
            }
            for ip in addresses
        ]
        wanted = [r for r in results if family in (socket.AF_UNSPEC, r["family"])]
        if not wanted:
            raise OSError(f"{host!r} has no address of family {family!r}")
        return wanted

    async def close(self) -> None:
        return None


def check_target(url: yarl.URL, *, allow_private: bool) -> None:
    """Refuse a URL before any connection: its scheme, and a host written as an
    address (which aiohttp does not pass to the resolver) that is not public."""
    check_scheme(str(url), allow_private=allow_private)
    host = url.raw_host
    if not host:
        raise UnsafeTargetError(f"no host in {str(url)!r}")
    literal = parse_ip(host)
    if literal is None:
        if ":" in host or host.replace(".", "").isdigit():
            # 127.1, 2130706433: spellings the OS would read as an address
            raise UnsafeTargetError(
                f"{host!r} is not a canonical IP address",
                public_message="refusing a host written as a non-canonical address",
            )
        return
    if not allow_private and not is_public_address(literal):
        raise UnsafeTargetError(
            f"{host!r} is a non-public address",
            public_message="refusing to contact a non-public address",
        )
