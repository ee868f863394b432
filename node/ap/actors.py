"""Our actors as ActivityStreams documents."""

from __future__ import annotations

from html import escape
from typing import Any

from node.ap.context import document
from node.ap.dates import iso_utc
from node.models import LocalActor
from node.urls import Urls


def block_list_url(actor_id: str) -> str:
    """Where the Group actor ``actor_id`` publishes its block list."""
    return f"{actor_id}/blocklist"


def _iso(actor: LocalActor) -> str:
    return iso_utc(actor.created_at)


def _public_key(urls: Urls, actor_id: str, actor: LocalActor) -> dict[str, str]:
    return {
        "id": urls.key_id(actor_id),
        "owner": actor_id,
        "publicKeyPem": actor.public_key_pem,
    }


def _summary_html(text: str) -> str:
    """The profile summary is typed as plain text; AS2 ``summary`` is HTML."""
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    return "".join(f"<p>{escape(p.strip()).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def group_to_as(
    actor: LocalActor,
    urls: Urls,
    *,
    discoverable: bool = True,
    indexable: bool = True,
    block_list: bool = False,
    also_known_as: list[str] | None = None,
    moved_to: str | None = None,
) -> dict[str, Any]:
    """The network's Group actor, as Mastodon, Misskey and Mobilizon read it;
    ``discoverable`` and ``indexable`` are the admin's switches, ``block_list``
    links the published block list, and ``also_known_as``/``moved_to`` are the
    node's former and new actors (docs/moving.md)."""
    actor_id = urls.actor(actor.username)
    extra: dict[str, Any] = {}
    if block_list:
        extra["blockList"] = block_list_url(actor_id)
    if also_known_as:
        extra["alsoKnownAs"] = list(also_known_as)
    if moved_to:
        extra["movedTo"] = moved_to
    if actor.region:
        extra["attachment"] = [
            {"type": "PropertyValue", "name": "Region", "value": escape(actor.region)}
        ]
    return document(
        {
            "id": actor_id,
            "type": "Group",
            "preferredUsername": actor.username,
            "name": actor.display_name or actor.username,
            "summary": _summary_html(actor.summary),
            "inbox": urls.inbox(actor.username),
            "outbox": urls.outbox(actor.username),
            "followers": urls.followers(actor.username),
            "following": urls.following(actor.username),
            "endpoints": {"sharedInbox": urls.shared_inbox},
            "upcomingEvents": f"{actor_id}/events",
            "publicKey": _public_key(urls, actor_id, actor),
            "manuallyApprovesFollowers": actor.manually_approves_followers,
            "discoverable": discoverable,
            "indexable": indexable,
            "url": urls.home,
            "published": _iso(actor),
            **extra,
        }
    )


def instance_actor_to_as(actor: LocalActor, urls: Urls) -> dict[str, Any]:
    """The Application actor that signs fetches; readable without a signature."""
    actor_id = urls.instance_actor
    return document(
        {
            "id": actor_id,
            "type": "Application",
            "preferredUsername": actor.username,
            "name": actor.display_name,
            "inbox": f"{actor_id}/inbox",
            "outbox": f"{actor_id}/outbox",
            "endpoints": {"sharedInbox": urls.shared_inbox},
            "publicKey": _public_key(urls, actor_id, actor),
            "manuallyApprovesFollowers": True,
            "url": urls.home,
            "published": _iso(actor),
        }
    )
