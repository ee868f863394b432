"""How often a callout's tally goes out: every few seconds while few answered,
less often when each Update is a signed POST to hundreds of servers."""

from datetime import timedelta

from node.content.callouts import (
    TALLY_INTERVAL,
    TALLY_INTERVAL_MAX,
    TALLY_POSTS_PER_SECOND,
    tally_interval,
)


def test_a_callout_few_answered_gets_the_shortest_interval() -> None:
    assert tally_interval(0) == TALLY_INTERVAL
    assert tally_interval(10) == TALLY_INTERVAL


def test_the_interval_grows_with_the_answers_so_updates_stay_near_a_rate_of_posts() -> None:
    answers = 20 * TALLY_POSTS_PER_SECOND
    assert tally_interval(answers) == timedelta(seconds=20)
    assert tally_interval(answers + TALLY_POSTS_PER_SECOND) > tally_interval(answers)


def test_the_published_totals_are_never_more_than_the_longest_interval_behind() -> None:
    assert tally_interval(10_000_000) == TALLY_INTERVAL_MAX
