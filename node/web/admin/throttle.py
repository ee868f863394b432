"""Login throttling, in memory only.

Wrong passwords are counted per (account, client): a few are free, then each
one makes that client wait longer (4 s, 8 s, 16 s … capped), so whoever guesses
from elsewhere slows only themselves and the owner still logs in from their own
device. A generous window per client across accounts stops one client spraying
many accounts. Wrong two-factor codes are counted per account, whoever sends
them and whatever the password did, with delays that grow the same way.

A client is its address (IPv6 by /64, see ``node.web.clients.client_key``),
kept only as a key in this process's memory: never in the database or the logs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from node.web.clients import MAX_KEYS, SlidingWindow


@dataclass(frozen=True)
class Backoff:
    """``free`` failures cost nothing; then the wait doubles from ``first`` to ``cap``.
    A key with no failure for ``forget`` seconds starts over."""

    free: int
    first: float
    cap: float
    forget: float

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(math.ldexp(self.first, min(failures - self.free, 32)), self.cap)


PASSWORDS = Backoff(free=5, first=4.0, cap=300.0, forget=3600.0)
CODES = Backoff(free=3, first=5.0, cap=900.0, forget=86_400.0)
CLIENT_FAILURES = 50  # wrong passwords or codes per client, any accounts, per window
CLIENT_WINDOW = 15 * 60.0


@dataclass
class GrowingDelays:
    """Per key: how many failures in a row, and when the last one was."""

    backoff: Backoff
    _state: dict[str, tuple[int, float]] = field(default_factory=dict)

    def retry_after(self, key: str, now: float) -> float:
        failures, last = self._state.get(key, (0, now))
        if now - last > self.backoff.forget:
            del self._state[key]
            return 0.0
        return max(0.0, last + self.backoff.delay(failures) - now)

    def failed(self, key: str, now: float) -> None:
        failures, last = self._state.pop(key, (0, now))
        if now - last > self.backoff.forget:
            failures = 0
        if len(self._state) >= MAX_KEYS:  # forget the oldest keys first
            for old in list(self._state)[: MAX_KEYS // 10]:
                del self._state[old]
        self._state[key] = (failures + 1, now)

    def clear(self, key: str) -> None:
        self._state.pop(key, None)


def _seconds(wait: float) -> int:
    return math.ceil(wait) if wait > 0 else 0


@dataclass
class LoginThrottle:
    passwords: GrowingDelays = field(default_factory=lambda: GrowingDelays(PASSWORDS))
    codes: GrowingDelays = field(default_factory=lambda: GrowingDelays(CODES))
    clients: SlidingWindow = field(
        default_factory=lambda: SlidingWindow(CLIENT_FAILURES, CLIENT_WINDOW)
    )

    def password_wait(self, account: str, client: str, now: float | None = None) -> int:
        """Seconds until this client may try a password for ``account`` (0: go ahead)."""
        now = time.monotonic() if now is None else now
        wait = max(
            self.passwords.retry_after(f"{account}\n{client}", now),
            self.clients.retry_after(client, now),
        )
        return _seconds(wait)

    def password_failed(self, account: str, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.passwords.failed(f"{account}\n{client}", now)
        self.clients.record(client, now)

    def password_ok(self, account: str, client: str) -> None:
        self.passwords.clear(f"{account}\n{client}")

    def code_wait(self, account: str, client: str, now: float | None = None) -> int:
        """Seconds until anyone may try a code for ``account`` (0: go ahead)."""
        now = time.monotonic() if now is None else now
        wait = max(self.codes.retry_after(account, now), self.clients.retry_after(client, now))
        return _seconds(wait)

    def code_failed(self, account: str, client: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.codes.failed(account, now)
        self.clients.record(client, now)

    def code_ok(self, account: str) -> None:
        self.codes.clear(account)
