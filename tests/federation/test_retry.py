"""federation.retry: the delivery retry policy, table-tested with a pinned clock and rng."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from federation import retry
from federation.retry import RetryDecision, next_attempt

NOW = datetime(2027, 2, 3, 7, 0, tzinfo=UTC)
DAY = timedelta(days=1)

# Sum over c = 0..15 of c**4 is 178,312; Mastodon's totals (docs/interop.md#retries).
MIN_TOTAL = 178_312 + 15 * 16  # every random draw at 0
MAX_TOTAL = 178_312 * 3 // 2 + 15 * 16 + 9 * sum(range(1, 17))  # every draw at its top


class PinnedRandom(random.Random):
    """An rng whose ``random()`` always returns ``value``: the extremes of the schedule."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


def seeded() -> random.Random:
    return random.Random(1234)


def decide(
    attempts: int = 1, status: int | None = 500, retry_after: str | None = None
) -> RetryDecision:
    return next_attempt(attempts, status=status, retry_after=retry_after, now=NOW, rng=seeded())


# --- which failures are final ------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, "unsalvageable"),
        (403, "unsalvageable"),
        (405, "unsalvageable"),
        (413, "unsalvageable"),
        (422, "unsalvageable"),
        (501, "unsalvageable"),
        (404, "gone"),
        (410, "gone"),
    ],
)
def test_final_statuses_give_up_at_once(status: int, reason: str) -> None:
    decision = decide(status=status)
    assert decision == RetryDecision(give_up=True, reason=reason)


@pytest.mark.parametrize("status", [None, 301, 401, 408, 429, 500, 502, 503, 504, 520, 999])
def test_retryable_failures_are_retried_later(status: int | None) -> None:
    decision = decide(status=status)
    assert not decision.give_up
    assert decision.retry_at is not None and decision.retry_at > NOW


def test_network_error_is_reported_as_such() -> None:
    assert decide(status=None).reason == "network error"


@pytest.mark.parametrize("status", [200, 202, 204, 299])
def test_success_is_not_a_failure_to_retry(status: int) -> None:
    with pytest.raises(ValueError):
        decide(status=status)


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError):
        decide(attempts=0)


@pytest.mark.parametrize(
    ("attempts", "gives_up"), [(1, False), (15, False), (16, False), (17, True), (40, True)]
)
def test_sixteen_retries_then_give_up(attempts: int, gives_up: bool) -> None:
    decision = decide(attempts=attempts, status=503)
    assert decision.give_up is gives_up
    assert decision.reason == ("exhausted" if gives_up else "status 503")


def test_final_status_wins_over_exhaustion() -> None:
    assert decide(attempts=17, status=410).reason == "gone"


# --- the backoff schedule ----------------------------------------------------


@pytest.mark.parametrize("retry_index", range(retry.MAX_RETRIES))
def test_each_delay_lies_within_mastodons_bounds(retry_index: int) -> None:
    base = retry_index**4 + 15
    low = retry.backoff_delay(retry_index, PinnedRandom(0.0)).total_seconds()
    high = retry.backoff_delay(retry_index, PinnedRandom(0.999999)).total_seconds()
    seeded_delay = retry.backoff_delay(retry_index, seeded()).total_seconds()
    assert low == base
    assert high <= base + 0.5 * retry_index**4 + 9 * (retry_index + 1)
    assert low <= seeded_delay <= high


@pytest.mark.parametrize(
    ("rng", "expected_seconds"), [(PinnedRandom(0.0), MIN_TOTAL), (PinnedRandom(0.999999), None)]
)
def test_whole_schedule_spans_two_to_three_days(
    rng: random.Random, expected_seconds: int | None
) -> None:
    total = sum(retry.backoff_delay(c, rng).total_seconds() for c in range(retry.MAX_RETRIES))
    if expected_seconds is not None:
        assert total == expected_seconds == 178_552
    assert MIN_TOTAL <= total <= MAX_TOTAL == 268_932
    assert 2 * DAY < timedelta(seconds=total) < 3.2 * DAY


def test_walking_the_schedule_ends_after_about_two_to_three_days() -> None:
    rng = seeded()
    when, attempts = NOW, 1
    while True:
        decision = next_attempt(attempts, status=None, retry_after=None, now=when, rng=rng)
        if decision.give_up:
            break
        assert decision.retry_at is not None
        when, attempts = decision.retry_at, attempts + 1
    assert attempts == retry.MAX_RETRIES + 1
    assert 2 * DAY < when - NOW < 3.2 * DAY


def test_same_seed_gives_the_same_decision() -> None:
    assert decide(attempts=5) == decide(attempts=5)


def test_delays_grow_with_attempts() -> None:
    times = [decide(attempts=n).retry_at or NOW for n in range(1, retry.MAX_RETRIES + 1)]
    assert times == sorted(times) and NOW not in times


def test_default_rng_is_used_when_none_is_given() -> None:
    decision = next_attempt(3, status=500, retry_after=None, now=NOW)
    assert decision.retry_at is not None
    assert NOW + timedelta(seconds=2**4 + 15) <= decision.retry_at <= NOW + timedelta(minutes=2)


# --- Retry-After ---------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_later_than_backoff_is_honoured(status: int) -> None:
    decision = decide(status=status, retry_after="3600")
    assert decision.retry_at == NOW + timedelta(hours=1)


def test_retry_after_http_date_is_honoured() -> None:
    decision = decide(status=503, retry_after="Wed, 03 Feb 2027 09:30:00 GMT")
    assert decision.retry_at == NOW + timedelta(hours=2, minutes=30)


def test_retry_after_earlier_than_backoff_is_ignored() -> None:
    backoff = decide(attempts=10, status=503).retry_at
    assert decide(attempts=10, status=503, retry_after="1").retry_at == backoff


def test_retry_after_in_the_past_is_ignored() -> None:
    backoff = decide(status=429).retry_at
    hinted = decide(status=429, retry_after="Sun, 06 Nov 1994 08:49:37 GMT")
    assert hinted.retry_at == backoff


@pytest.mark.parametrize(
    "value", ["604800", "99999999999999999999999", "Sat, 01 Jan 2050 00:00:00 GMT"]
)
def test_retry_after_is_capped_at_one_day(value: str) -> None:
    assert decide(status=429, retry_after=value).retry_at == NOW + retry.RETRY_AFTER_CAP


@pytest.mark.parametrize("status", [None, 500, 502, 408])
def test_retry_after_is_ignored_on_other_statuses(status: int | None) -> None:
    assert decide(status=status, retry_after="3600").retry_at == decide(status=status).retry_at


@pytest.mark.parametrize("value", ["", "soon", "-5", "1.5", "٣٦٠٠", "Wed, 99 Foo 2027"])
def test_unparseable_retry_after_is_ignored(value: str) -> None:
    assert decide(status=503, retry_after=value).retry_at == decide(status=503).retry_at


def test_naive_utc_now_gets_a_naive_answer() -> None:
    naive_now = NOW.replace(tzinfo=None)
    decision = next_attempt(
        1, status=503, retry_after="Wed, 03 Feb 2027 09:30:00 GMT", now=naive_now, rng=seeded()
    )
    assert decision.retry_at == naive_now + timedelta(hours=2, minutes=30)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", NOW + timedelta(minutes=2)),
        (" 120 ", NOW + timedelta(minutes=2)),
        ("Wed, 03 Feb 2027 08:00:00 GMT", NOW + timedelta(hours=1)),
        ("Wed, 03 Feb 2027 09:00:00 +0100", NOW + timedelta(hours=1)),
        ("Wed, 03 Feb 2027 08:00:00 -0000", NOW + timedelta(hours=1)),
        ("nonsense", None),
    ],
)
def test_parse_retry_after(value: str, expected: datetime | None) -> None:
    assert retry.parse_retry_after(value, NOW) == expected


# --- the decision type -------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs", [{}, {"retry_at": NOW, "give_up": True}, {"give_up": False, "reason": "x"}]
)
def test_decision_is_either_a_time_or_giving_up(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RetryDecision(**kwargs)


# --- hosts that keep failing --------------------------------------------------


@pytest.mark.parametrize(
    ("status", "counts"),
    [
        *[(status, True) for status in (None, 500, 503, 429, 401, 301)],
        *[(status, False) for status in (404, 410, 400, 501, 202)],
    ],
)
def test_only_retryable_failures_count_against_a_host(status: int | None, counts: bool) -> None:
    assert retry.is_host_failure(status) is counts


@pytest.mark.parametrize(
    ("days", "unreachable"),
    [
        (set(), False),
        ({date(2027, 2, 1)}, False),
        ({date(2027, 2, 1), date(2027, 2, 2)}, False),
        ({date(2027, 2, 1), date(2027, 2, 2), date(2027, 2, 3)}, True),
        ({date(2027, 1, 1), date(2027, 1, 15), date(2027, 2, 3), date(2027, 2, 4)}, True),
    ],
)
def test_host_failing_on_three_distinct_days_is_unreachable(
    days: set[date], unreachable: bool
) -> None:
    assert retry.host_is_unreachable(days) is unreachable


def test_unreachable_threshold_can_be_raised_to_mastodons_seven_days() -> None:
    days = {date(2027, 2, d) for d in range(1, 7)}
    assert not retry.host_is_unreachable(days, threshold=7)
    assert retry.host_is_unreachable(days | {date(2027, 2, 7)}, threshold=7)


def test_one_delivery_failing_throughout_marks_its_host_unreachable() -> None:
    """Why 3 days: a single delivery's own retries touch at least three UTC days."""
    rng = PinnedRandom(0.0)  # the shortest possible schedule
    start = datetime(2027, 2, 3, 23, 59, tzinfo=UTC)  # the worst start time
    when, days = start, {start.date()}
    for c in range(retry.MAX_RETRIES):
        when += retry.backoff_delay(c, rng)
        days.add(when.date())
    assert retry.host_is_unreachable(days)


def test_unreachable_hosts_are_retried_a_few_times_a_day() -> None:
    assert timedelta(hours=1) <= retry.UNREACHABLE_RETRY_INTERVAL <= DAY


# --- processing of received activities ----------------------------------------


@pytest.mark.parametrize(
    ("attempts", "pause"),
    [
        (1, timedelta(minutes=1)),
        (2, timedelta(minutes=2)),
        (3, timedelta(minutes=4)),
        (4, timedelta(minutes=8)),
    ],
)
def test_failed_processing_is_retried_after_a_doubling_pause(
    attempts: int, pause: timedelta
) -> None:
    decision = retry.next_inbound_attempt(attempts, now=NOW)
    assert decision.retry_at == NOW + pause
    assert not decision.give_up


@pytest.mark.parametrize(
    ("attempts", "pause"),
    [
        (1, timedelta(seconds=2)),
        (2, timedelta(seconds=10)),
        (3, timedelta(minutes=4)),
        (4, timedelta(minutes=8)),
    ],
)
def test_processing_that_met_a_busy_server_is_retried_within_seconds_then_as_usual(
    attempts: int, pause: timedelta
) -> None:
    decision = retry.next_inbound_attempt(attempts, now=NOW, remote_busy=True)
    assert decision.retry_at == NOW + pause


@pytest.mark.parametrize("attempts", [5, 6, 100])
@pytest.mark.parametrize("remote_busy", [False, True])
def test_failed_processing_gives_up_after_five_attempts(attempts: int, remote_busy: bool) -> None:
    decision = retry.next_inbound_attempt(attempts, now=NOW, remote_busy=remote_busy)
    assert decision.give_up
    assert decision.retry_at is None
    assert decision.reason == "exhausted"


def test_failed_processing_counts_attempts_from_one() -> None:
    with pytest.raises(ValueError, match="starts at 1"):
        retry.next_inbound_attempt(0, now=NOW)


@pytest.mark.parametrize("attempts", [1, 2, 4])
def test_malformed_activity_is_not_retried(attempts: int) -> None:
    decision = retry.next_inbound_attempt(attempts, now=NOW, permanent=True)
    assert decision.give_up
    assert decision.retry_at is None
    assert decision.reason == "permanent"
