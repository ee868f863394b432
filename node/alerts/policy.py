"""When to try a failed alert again, as a pure function (like
``federation.retry.next_attempt``, whose backoff and final statuses it shares).

An alert is worth something only while its callout runs: it is retried with
the deliveries' backoff (15 s, 16 s, 31 s, 96 s, …) at most ``MAX_ATTEMPTS``
times, and never after ``deadline`` (the callout's end).
"""

from __future__ import annotations

import random
from datetime import datetime

from federation.retry import RetryDecision, backoff_delay, final_reason, parse_retry_after

MAX_ATTEMPTS = 8
_RNG = random.Random()


def next_alert_attempt(
    attempts: int,
    *,
    status: int | None,
    retry_after: str | None,
    now: datetime,
    deadline: datetime,
    rng: random.Random | None = None,
) -> RetryDecision:
    """After the ``attempts``-th failed try (1 after the first): when next, or never.

    ``status`` is the push service's HTTP status (None for a network error, and
    for e-mail, whose permanent failures the sender stops on itself)."""
    if attempts < 1:
        raise ValueError("attempts counts failures so far and starts at 1")
    final = final_reason(status)
    if final is not None:
        return RetryDecision.stop(final)
    if attempts >= MAX_ATTEMPTS:
        return RetryDecision.stop("exhausted")
    when = now + backoff_delay(attempts - 1, rng or _RNG)
    if retry_after:
        hinted = parse_retry_after(retry_after, now)
        if hinted is not None and hinted > when:
            when = hinted
    if when >= deadline:
        return RetryDecision.stop("the callout is over")
    return RetryDecision.at(when, "network error" if status is None else f"status {status}")
