"""Captured real-world ActivityPub payloads (tests/fixtures/payloads) and builders
of documents derived from them, for the federation tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from federation import as2

PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures" / "payloads"
FIXTURES = sorted(PAYLOADS.glob("*.json"))
KEY_FIXTURES = [p for p in FIXTURES if p.name.endswith("-key.json")]
ACTOR_FIXTURES = [
    p
    for p in FIXTURES
    if p not in KEY_FIXTURES
    and json.loads(p.read_text(encoding="utf-8"))["type"] in as2.ACTOR_TYPES
]
ACTIVITY_FIXTURES = [p for p in FIXTURES if p not in ACTOR_FIXTURES + KEY_FIXTURES]
ALICE = "https://mastodon.example/users/alice"
NODE = "https://haringey.example/actor"


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    return doc


def actor_doc(**changes: Any) -> dict[str, Any]:
    doc = load("mastodon-actor.json")
    doc.update(changes)
    return doc
