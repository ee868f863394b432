"""A published domain-block list, item by item, both ways.

Each item of the collection linked from the Group actor's ``blockList``
(``node.ap.context``) is one block::

    {"type": "DomainBlock", "domain": "hostile.example", "severity": "suspend",
     "publicReason": "Harassment", "published": "2026-12-06T10:00:00Z"}

``severity`` is Mastodon's word (``suspend`` or ``silence``; both are blocks
on a Tocsin node, see ``node.block_csv``). The private reason an admin typed
is never published.
"""

from __future__ import annotations

from typing import Any

from node.allowlist import validate_domain
from node.ap.dates import iso_utc
from node.block_csv import SEVERITIES, BlockEntry
from node.models import DomainBlock

MAX_PUBLIC_REASON = 500


def block_to_as(block: DomainBlock) -> dict[str, Any]:
    return {
        "type": "DomainBlock",
        "domain": block.domain,
        "severity": block.severity,
        "publicReason": block.public_reason,
        "published": iso_utc(block.created_at),
    }


def as_to_block_entry(item: Any) -> BlockEntry | None:
    """A received item as a block, or None when it is not one we can apply."""
    if not isinstance(item, dict) or item.get("type") != "DomainBlock":
        return None
    domain, severity = item.get("domain"), item.get("severity", "suspend")
    if not isinstance(domain, str) or "*" in domain or severity not in SEVERITIES:
        return None
    try:
        domain = validate_domain(domain)
    except ValueError:
        return None
    reason = item.get("publicReason")
    reason = reason[:MAX_PUBLIC_REASON] if isinstance(reason, str) else ""
    return BlockEntry(domain, severity, reason)
