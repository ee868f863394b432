"""Parse untrusted JSON with bounds on nesting and container size.

Every inbox body and every fetched document passes through here, so the
limits apply before any code walks the structure: Mastodon's CVE-2026-23962
was a DoS through an unbounded poll-option array, and deep nesting can exhaust
the stack of any recursive consumer further on.

The standard library's C decoder does the parsing (it is fast and refuses
runaway nesting with ``RecursionError`` rather than crashing); an iterative
walk then checks depth and sizes without recursion of its own. The caller
caps the byte size before calling (see ``federation.fetch``).

What is accepted here can also be stored, on SQLite and PostgreSQL alike, so
a document no database would take is refused at once (400) instead of
failing later on every retry: numbers must be finite (``1e400`` overflows to
infinity, which PostgreSQL's ``json`` refuses), strings and keys must be valid
Unicode (a lone ``\ud800`` escape is valid JSON but no UTF-8 text), and hold
no NUL (PostgreSQL's ``jsonb`` and ``text`` refuse ``\u0000``).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

from federation.errors import MalformedError

DEFAULT_MAX_DEPTH = 32
"""Activities nest 4-6 levels deep; 32 leaves room for odd extensions."""

DEFAULT_MAX_ARRAY = 1000
"""Longest array, and most members in one object, that we accept."""


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise MalformedError(
            "JSON number overflows to infinity", public_message="numbers must be finite"
        )
    return number


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
# only a \uD800-\uDFFF escape can put a surrogate in a string (raw ones are not UTF-8)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def loads_limited(
    data: bytes,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_array: int = DEFAULT_MAX_ARRAY,
) -> Any:
    """Decode UTF-8 JSON, refusing it (``MalformedError``) when it is invalid,
    nests containers deeper than ``max_depth``, or has an array or object with
    more than ``max_array`` items. ``NaN``, ``Infinity``, numbers that overflow
    to it, lone surrogates and NUL characters are refused too.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedError("body is not UTF-8", public_message="body is not UTF-8") from exc
    try:
        value = _DECODER.decode(text)
    except RecursionError:
        raise _too_deep(max_depth) from None
    except ValueError as exc:  # JSONDecodeError, and over-long integer literals
        raise MalformedError(f"invalid JSON: {exc}", public_message="invalid JSON") from None
    surrogates = _SURROGATE_ESCAPE.search(text) is not None
    check_shape(value, max_depth=max_depth, max_array=max_array, surrogates=surrogates)
    return value


def check_shape(value: Any, *, max_depth: int, max_array: int, surrogates: bool = True) -> None:
    """Walk decoded JSON level by level (no recursion) and enforce the bounds.

    Also refuses keys and strings no database stores: with a NUL character
    (PostgreSQL refuses them outright; no legitimate activity has one) or a
    lone surrogate (not Unicode text at all). ``surrogates=False`` skips that
    search when the JSON text had no escape that could make one.
    """
    if isinstance(value, str):
        _check_text(value, surrogates)
    level: list[Any] = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            raise _too_deep(max_depth)
        below: list[Any] = []
        for node in level:
            if len(node) > max_array:
                raise _too_long(len(node), max_array)
            for key in node if isinstance(node, dict) else ():
                _check_text(key, surrogates)
            for child in node.values() if isinstance(node, dict) else node:
                if isinstance(child, dict | list):
                    below.append(child)
                elif isinstance(child, str):
                    _check_text(child, surrogates)
        level = below


def _check_text(text: str, surrogates: bool) -> None:
    if "\x00" in text:
        raise MalformedError("JSON string contains a NUL character")
    if surrogates and _SURROGATE.search(text):
        raise MalformedError(
            "JSON string contains a lone surrogate", public_message="strings must be valid Unicode"
        )


def _too_long(length: int, max_array: int) -> MalformedError:
    return MalformedError(
        f"JSON container has {length} items, over the limit of {max_array}",
        public_message="JSON array or object too long",
    )


def _too_deep(max_depth: int) -> MalformedError:
    return MalformedError(
        f"JSON nested deeper than {max_depth} levels", public_message="JSON nested too deeply"
    )
