"""The JSON-LD context of everything Tocsin publishes.

Only the two well-known context URLs plus an inline term map: a processor
never has to fetch anything else (Fedify and Misskey may refuse to).
"""

from __future__ import annotations

from typing import Any

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"

TERMS: dict[str, Any] = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "toot": "http://joinmastodon.org/ns#",
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
}

CONTEXT: list[Any] = [AS_CONTEXT, SECURITY_CONTEXT, TERMS]


def document(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the context first, as a top-level document."""
    return {"@context": CONTEXT, **body}
