"""Login throttling, in memory only.

Failures are counted per account and per client address. The address is kept
only in this process's memory, as a key in a dict that forgets old entries:
it is never written to the database or the logs.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

WINDOW = 15 * 60.0
ACCOUNT_LIMIT = 5
CLIENT_LIMIT = 20
MAX_KEYS = 10_000


@dataclass
class LoginThrottle:
    window: float = WINDOW
    account_limit: int = ACCOUNT_LIMIT
    client_limit: int = CLIENT_LIMIT
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, account: str, client: str, now: float | None = None) -> int:
        """Seconds until another attempt is allowed (0: go ahead)."""
        now = time.monotonic() if now is None else now
        waits = [0.0]
        for key, limit in (
            (f"a:{account}", self.account_limit),
            (f"c:{client}", self.client_limit),
        ):
            times = self._recent(key, now)
            if len(times) >= limit:
                waits.append(times[0] + self.window - now)
        return int(max(waits)) + (1 if max(waits) > 0 else 0)

    def failed(self, account: str, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if len(self._failures) >= MAX_KEYS:  # forget the oldest keys first
            for key in list(self._failures)[: MAX_KEYS // 10]:
                del self._failures[key]
        for key in (f"a:{account}", f"c:{client}"):
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, account: str) -> None:
        self._failures.pop(f"a:{account}", None)
