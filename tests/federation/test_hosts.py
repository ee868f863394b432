"""Host names compare as the HTTP clients connect to them (UTS 46, IDNA 2008)."""

from __future__ import annotations

import httpx
import pytest
import yarl

from federation.hosts import (
    normalize_domain,
    normalize_host,
    same_origin,
    split_port,
    url_authority,
)


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


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Example.ORG. ", "example.org"),
        ("https://Example.org/some/page", "example.org"),
        ("https://example.org:8443/inbox", "example.org:8443"),
        ("straße.example:8000", "xn--strae-oqa.example:8000"),
        ("[2001:DB8::1]", "[2001:db8::1]"),
        ("[2001:db8::1]:8443", "[2001:db8::1]:8443"),
        ("", ""),
    ],
)
def test_domain_typed_by_an_admin_is_stored_normalised_with_its_port(
    typed: str, stored: str
) -> None:
    assert normalize_domain(typed) == stored


@pytest.mark.parametrize(
    ("domain", "parts"),
    [
        ("example.org", ("example.org", None)),
        ("example.org:8443", ("example.org", "8443")),
        ("[2001:db8::1]", ("[2001:db8::1]", None)),
        ("[2001:db8::1]:8443", ("[2001:db8::1]", "8443")),
        ("example.org:http", ("example.org:http", None)),
    ],
)
def test_port_is_split_from_a_domain_but_not_from_an_ipv6_literal(
    domain: str, parts: tuple[str, str | None]
) -> None:
    assert split_port(domain) == parts
