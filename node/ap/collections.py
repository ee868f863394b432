"""OrderedCollection and its pages, with real paging (``?page=N``, 1-based)."""

from __future__ import annotations

import math
from typing import Any

from node.ap.context import document

PAGE_SIZE = 40


def page_count(total: int, page_size: int = PAGE_SIZE) -> int:
    return max(1, math.ceil(total / page_size))


def ordered_collection(
    collection_id: str, total: int, page_size: int = PAGE_SIZE
) -> dict[str, Any]:
    return document(
        {
            "id": collection_id,
            "type": "OrderedCollection",
            "totalItems": total,
            "first": f"{collection_id}?page=1",
            "last": f"{collection_id}?page={page_count(total, page_size)}",
        }
    )


def hidden_collection(collection_id: str, total: int) -> dict[str, Any]:
    """A collection whose items are not shown: its size only, no pages."""
    return document({"id": collection_id, "type": "OrderedCollection", "totalItems": total})


def ordered_collection_page(
    collection_id: str,
    page: int,
    items: list[Any],
    total: int,
    page_size: int = PAGE_SIZE,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": f"{collection_id}?page={page}",
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "totalItems": total,
        "orderedItems": items,
    }
    if page > 1:
        body["prev"] = f"{collection_id}?page={page - 1}"
    if page < page_count(total, page_size):
        body["next"] = f"{collection_id}?page={page + 1}"
    return document(body)
