"""Who is asking, for limits kept in memory only.

Rate limits count requests per client. The key is the client's address for
IPv4 and its /64 network for IPv6 (one household or phone gets a whole /64,
so counting single IPv6 addresses would let one person be a billion
clients). Keys live only in the memory of the limiter that uses them: never
in the database, never in the logs.
"""

from __future__ import annotations

import ipaddress
import time
from collections import deque
from dataclasses import dataclass, field

MAX_KEYS = 10_000


def client_key(address: str | None) -> str:
    """``203.0.113.5`` → itself; ``2001:db8:1:2:3::4`` → ``2001:db8:1:2::/64``."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass
class SlidingWindow:
    """At most ``limit`` events per key in any ``window`` seconds."""

    limit: int
    window: float
    _events: dict[str, deque[float]] = field(default_factory=dict)

    def retry_after(self, key: str, now: float | None = None) -> float:
        """0 when an event is allowed now, else seconds until one is."""
        now = time.monotonic() if now is None else now
        times = self._events.get(key)
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            self._events.pop(key, None)
            return 0.0
        return times[0] + self.window - now if len(times) >= self.limit else 0.0

    def record(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if key not in self._events and len(self._events) >= MAX_KEYS:
            for old in list(self._events)[: MAX_KEYS // 10]:  # forget the oldest keys first
                del self._events[old]
        self._events.setdefault(key, deque()).append(now)
