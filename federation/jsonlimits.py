"""Parse untrusted JSON with bounds on nesting and container size.

Every inbox body and every fetched document passes through here, so the
limits apply before any code walks the structure: Mastodon's CVE-2026-23962
was a DoS through an unbounded poll-option array, and deep nesting can exhaust
the stack of any recursive consumer further on.

The standard library's C decoder does the parsing (it is fast and refuses
runaway nesting with ``RecursionError`` rather than crashing); an iterative
walk then checks depth and sizes without recursion of its own. The caller
caps the byte size before calling (see ``federation.fetch``).
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from federation.errors import MalformedError

DEFAULT_MAX_DEPTH = 32
"""Activities nest 4-6 levels deep; 32 leaves room for odd extensions."""

DEFAULT_MAX_ARRAY = 1000
"""Longest array, and most members in one object, that we accept."""


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def loads_limited(
    data: bytes,
    *,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_array: int = DEFAULT_MAX_ARRAY,
) -> Any:
    """Decode UTF-8 JSON, refusing it (``MalformedError``) when it is invalid,
    nests containers deeper than ``max_depth``, or has an array or object with
    more than ``max_array`` items. ``NaN`` and ``Infinity`` are refused too.
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
    check_shape(value, max_depth=max_depth, max_array=max_array)
    return value


def check_shape(value: Any, *, max_depth: int, max_array: int) -> None:
    """Walk decoded JSON level by level (no recursion) and enforce the bounds.

    Also refuses NUL characters in keys and strings: no database stores them
    (PostgreSQL refuses them outright), and no legitimate activity has one.
    """
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
            if isinstance(node, dict) and any("\x00" in key for key in node):
                raise _has_nul()
            for child in node.values() if isinstance(node, dict) else node:
                if isinstance(child, dict | list):
                    below.append(child)
                elif isinstance(child, str) and "\x00" in child:
                    raise _has_nul()
        level = below


def _has_nul() -> MalformedError:
    return MalformedError("JSON string contains a NUL character")


def _too_long(length: int, max_array: int) -> MalformedError:
    return MalformedError(
        f"JSON container has {length} items, over the limit of {max_array}",
        public_message="JSON array or object too long",
    )


def _too_deep(max_depth: int) -> MalformedError:
    return MalformedError(
        f"JSON nested deeper than {max_depth} levels", public_message="JSON nested too deeply"
    )
