"""Host names compare as the HTTP clients connect to them (UTS 46, IDNA 2008)."""

from __future__ import annotations

import httpx
import pytest
import yarl

from federation.hosts import normalize_host, same_origin, url_authority


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("Example.COM.", "example.com"),
        ("straße.example", "xn--strae-oqa.example"),  # IDNA 2003 would say strasse.example
        ("STRASSE.example", "strasse.example"),
        ("\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com", "example.com"),  # full-width letters
        ("Bücher.example", "xn--bcher-kva.example"),
        ("xn--strae-oqa.example", "xn--strae-oqa.example"),
        ("[2001:DB8::1]", "[2001:db8::1]"),
    ],
)
def test_host_is_normalised_as_uts46_idna2008(typed: str, normalised: str) -> None:
    assert normalize_host(typed) == normalised


@pytest.mark.parametrize("host", ["straße.example", "Bücher.example", "faß.Example"])
def test_normalised_host_is_the_host_both_http_clients_connect_to(host: str) -> None:
    url = f"https://{host}/inbox"
    assert normalize_host(host) == httpx.URL(url).raw_host.decode("ascii")
    assert normalize_host(host) == yarl.URL(url).raw_host


def test_unicode_and_punycode_spellings_share_an_origin() -> None:
    assert same_origin("https://straße.example/a", "https://xn--strae-oqa.example/b")
    assert not same_origin("https://straße.example/a", "https://strasse.example/b")


def test_host_idna2008_refuses_is_kept_lower_cased_and_matches_only_itself() -> None:
    assert normalize_host("☃.NET") == "☃.net"
    assert url_authority("https://☃.net/x") == "☃.net"
