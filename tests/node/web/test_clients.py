"""Client keys and sliding windows for limits kept in memory."""

from __future__ import annotations

from node.web.clients import MAX_KEYS, SlidingWindow, client_key


def test_ipv6_clients_are_counted_by_their_64_network() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:bbbb::2")
    assert client_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")


def test_ipv4_and_ipv4_mapped_clients_are_the_same_single_address() -> None:
    assert client_key("::ffff:203.0.113.5") == client_key("203.0.113.5") == "203.0.113.5"
    assert client_key("203.0.113.6") != client_key("203.0.113.5")


def test_client_without_an_address_shares_one_key() -> None:
    assert client_key(None) == client_key("") == "unknown"


def test_window_allows_limit_events_then_says_when_the_next_is_allowed() -> None:
    window = SlidingWindow(limit=3, window=60.0)
    for t in (0.0, 10.0, 20.0):
        assert window.retry_after("a", now=t) == 0
        window.record("a", now=t)
    assert window.retry_after("a", now=30.0) == 30.0  # the first event leaves at t=60
    assert window.retry_after("b", now=30.0) == 0  # another key is counted apart
    assert window.retry_after("a", now=60.0) == 0


def test_window_forgets_the_oldest_keys_when_full() -> None:
    window = SlidingWindow(limit=1, window=60.0)
    for index in range(MAX_KEYS + 1):
        window.record(f"k{index}", now=0.0)
    assert window.retry_after("k0", now=1.0) == 0  # forgotten: memory stays bounded
    assert window.retry_after(f"k{MAX_KEYS}", now=1.0) == 59.0
