"""When to try a failed delivery again, as pure functions.

The delivery worker asks one question after each failed POST: "when next, or
never?". Answering it without a clock, a database or a network makes the policy
readable in one place and table-testable (as Fedify's ``retry.ts`` and
microblog.pub's ``_exp_backoff`` do).

The policy follows Mastodon's ``DeliveryWorker`` (docs/interop.md#retries), because it is
what the servers we federate with expect of a sender:

- 16 retries after the first attempt (17 POSTs). Before retry ``c`` (0-based)
  wait ``c**4 + 15 + rand(0.5 * c**4)`` seconds plus Sidekiq's jitter
  ``rand(10) * (c + 1)``: 178,552 s (2.07 days) at least and 268,932 s
  (3.11 days) at most in total, the last gap about 14 to 21 hours.
- 4xx other than 401, 408 and 429 is final ("unsalvageable"), and so is 501:
  asking again gets the same answer. 404 and 410 are final too ("gone").
  Network errors (``status=None``), 3xx, 401, 408, 429 and 5xx are retried.
- ``Retry-After`` is honoured on 429 and 503, in both its delta-seconds and
  HTTP-date forms, but it never brings a retry *earlier* than the backoff would
  and never pushes it more than ``RETRY_AFTER_CAP`` ahead.

Whole hosts are handled separately: ``host_is_unreachable`` decides from the set
of UTC days on which deliveries to a host failed, and the worker then tries such
a host only every ``UNREACHABLE_RETRY_INTERVAL``.

Received activities whose processing failed have their own, shorter policy,
``next_inbound_attempt``: the sender already has its 202, so nobody else will
retry them, but a handler that failed five times will not succeed a sixth.
When it failed because another server was briefly unable to answer, the first
retries come within seconds.
"""

from __future__ import annotations

import random
from collections.abc import Set
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

MAX_RETRIES = 16
"""Retries after the first attempt, so at most ``MAX_RETRIES + 1`` POSTs."""

RETRY_AFTER_CAP = timedelta(days=1)
"""The furthest ahead a server's ``Retry-After`` may push one retry."""

UNREACHABLE_AFTER_DAYS = 3
"""Distinct failure days after which a host counts as unreachable.

Mastodon waits for 7 days, more than twice its ~3-day retry window, so a dead
host keeps receiving fresh jobs, each running its full 16 retries, for a week.
Ours is 3: one delivery's own schedule (2.07-3.11 days) spans 3 calendar days,
so by the time a delivery has used up its retries against a dead host the host
is marked, and newer deliveries stop hammering it. Three distinct days also
means failures spread over more than 24 hours, not one bad night. Being wrong
is cheap: an unreachable host is still tried every ``UNREACHABLE_RETRY_INTERVAL``
and recovers on its first success.
"""

UNREACHABLE_RETRY_INTERVAL = timedelta(hours=6)
"""How often to try a host marked unreachable (four times a day)."""

INBOUND_MAX_ATTEMPTS = 5
"""Processing attempts of one received activity before it is marked failed."""

INBOUND_BASE_DELAY = timedelta(seconds=30)
"""The pause after a received activity's first failed processing; doubled each time."""

INBOUND_REMOTE_BUSY_PAUSES = (timedelta(seconds=2), timedelta(seconds=10))
"""The first pauses when processing failed because another server could not answer
now (a fetch that timed out, was cut, or got 429 or 5xx): a server briefly busy
answers seconds later, and a relayed urgent callout is worth seconds, not
minutes. Two quick tries at most, then the doubling pauses; no extra attempts."""

_RETRY_AFTER_STATUSES = frozenset({429, 503})
_SALVAGEABLE_4XX = frozenset({401, 408, 429})
_GONE = frozenset({404, 410})
_DEFAULT_RNG = random.Random()


@dataclass(frozen=True)
class RetryDecision:
    """Either ``retry_at`` is set, or ``give_up`` is True; ``reason`` is for logs."""

    retry_at: datetime | None = None
    give_up: bool = False
    reason: str = ""

    def __post_init__(self) -> None:
        if (self.retry_at is None) != self.give_up:
            raise ValueError("a RetryDecision either retries at a time or gives up")

    @classmethod
    def at(cls, when: datetime, reason: str) -> RetryDecision:
        return cls(retry_at=when, reason=reason)

    @classmethod
    def stop(cls, reason: str) -> RetryDecision:
        return cls(give_up=True, reason=reason)


def next_attempt(
    attempts: int,
    *,
    status: int | None,
    retry_after: str | None,
    now: datetime,
    rng: random.Random | None = None,
) -> RetryDecision:
    """Decide what to do after a failed delivery.

    ``attempts`` counts failed attempts so far, this one included (1 after the
    first POST failed). ``status`` is the HTTP status, or None for a network
    error or timeout; a 2xx is a success and must not be passed. ``now`` may be
    aware (preferred) or naive UTC; ``retry_at`` follows the same convention.
    """
    if attempts < 1:
        raise ValueError("attempts counts failures so far and starts at 1")
    if status is not None and 200 <= status < 300:
        raise ValueError("a 2xx response is a success, not a failure to retry")
    final = final_reason(status)
    if final is not None:
        return RetryDecision.stop(final)
    if attempts > MAX_RETRIES:
        return RetryDecision.stop("exhausted")
    when = now + backoff_delay(attempts - 1, rng if rng is not None else _DEFAULT_RNG)
    if status in _RETRY_AFTER_STATUSES and retry_after:
        hinted = parse_retry_after(retry_after, now)
        if hinted is not None and hinted > when:
            when = hinted
    return RetryDecision.at(when, "network error" if status is None else f"status {status}")


def final_reason(status: int | None) -> str | None:
    """Why a response is final ("gone", "unsalvageable"), or None when worth retrying."""
    if status is None:
        return None
    if status in _GONE:
        return "gone"
    if status == 501 or (400 <= status < 500 and status not in _SALVAGEABLE_4XX):
        return "unsalvageable"
    return None


def is_host_failure(status: int | None) -> bool:
    """Whether a response counts towards the host's failure days.

    As in Mastodon, only retryable failures count: a host that answers 404 or
    400 is up, it just does not want this delivery.
    """
    if status is not None and 200 <= status < 300:
        return False
    return final_reason(status) is None


def backoff_delay(retry: int, rng: random.Random) -> timedelta:
    """The wait before 0-based retry ``retry``: ``c**4 + 15 + rand(0.5*c**4) + rand(10)*(c+1)``."""
    base = retry**4
    spread = rng.random() * 0.5 * base
    jitter = int(rng.random() * 10) * (retry + 1)
    return timedelta(seconds=base + 15 + spread + jitter)


def parse_retry_after(value: str, now: datetime) -> datetime | None:
    """The instant a ``Retry-After`` value names, capped at ``now + RETRY_AFTER_CAP``.

    Accepts delta-seconds and HTTP-date; anything else is None (ignored).
    """
    value = value.strip()
    cap = now + RETRY_AFTER_CAP
    if value.isascii() and value.isdigit():
        seconds = int(value) if len(value) <= 9 else int(RETRY_AFTER_CAP.total_seconds())
        return min(now + timedelta(seconds=seconds), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(_same_convention(when, now), cap)


def _same_convention(when: datetime, now: datetime) -> datetime:
    """Express ``when`` as aware or naive-UTC, matching ``now`` so they compare."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        return when.astimezone(UTC).replace(tzinfo=None)
    return when


def host_is_unreachable(
    failure_days: Set[date], *, threshold: int = UNREACHABLE_AFTER_DAYS
) -> bool:
    """Whether a host has failed on ``threshold`` distinct (UTC) days.

    The caller adds today's date on each host failure (see ``is_host_failure``)
    and clears the set on any successful delivery to the host or any signed
    request from it, as Mastodon's ``DeliveryFailureTracker`` does.
    """
    return len(failure_days) >= threshold


def next_inbound_attempt(
    attempts: int, *, now: datetime, permanent: bool = False, remote_busy: bool = False
) -> RetryDecision:
    """Decide what to do after processing a received activity failed.

    ``attempts`` counts processing attempts so far, this one included (1 after
    the first failed). The pause before the next is ``INBOUND_BASE_DELAY *
    2**attempts`` (1, 2, 4, 8 minutes); after ``INBOUND_MAX_ATTEMPTS`` give up.
    ``permanent``: the failure would repeat on every attempt (a malformed
    activity), so give up at once. ``remote_busy``: another server could not
    answer now, so the first two pauses are ``INBOUND_REMOTE_BUSY_PAUSES``
    (2 s, 10 s, then 4 and 8 minutes).
    """
    if attempts < 1:
        raise ValueError("attempts counts failures so far and starts at 1")
    if permanent:
        return RetryDecision.stop("permanent")
    if attempts >= INBOUND_MAX_ATTEMPTS:
        return RetryDecision.stop("exhausted")
    pause = INBOUND_BASE_DELAY * 2**attempts
    if remote_busy and attempts <= len(INBOUND_REMOTE_BUSY_PAUSES):
        pause = INBOUND_REMOTE_BUSY_PAUSES[attempts - 1]
    return RetryDecision.at(now + pause, f"attempt {attempts} failed")
