"""Every activity this node sends, built in one place.

Each builder returns the activity without ``@context`` (``node.outbox.enqueue``
adds it) and takes its id from the caller, so that the caller decides when a
new id is due (docs/interop.md#follows: every Follow gets a fresh one) and
tests can compare whole documents.

Two addressings occur. Follows and their answers go to one actor only
(``to`` = that actor), and so do direct messages to a callout's responders
(with a ``Mention``, so that Mastodon shows them as private mentions).
Content and profile changes are public: Public in ``to``, our followers
collection in ``cc`` (docs/interop.md#content), which is what Mastodon reads
as a public post.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from federation.as2 import AS_PUBLIC
from node.ap.dates import iso_utc
from node.i18n import SOURCE_LANGUAGE

PublicationKind = Literal["Create", "Update", "Delete"]

# -- to one actor -----------------------------------------------------------------------


def follow_ref_to_as(*, follow_id: str, actor: str, target: str) -> dict[str, str]:
    """A Follow as Accept, Reject and Undo embed it: the four fields Mastodon
    matches against the follow it stored (docs/interop.md#follows)."""
    return {"id": follow_id, "type": "Follow", "actor": actor, "object": target}


def follow_to_as(*, activity_id: str, actor: str, target: str) -> dict[str, Any]:
    """``actor`` asks to follow ``target``."""
    return {**follow_ref_to_as(follow_id=activity_id, actor=actor, target=target), "to": [target]}


def _answer(
    kind: Literal["Accept", "Reject"],
    activity_id: str,
    actor: str,
    follow: dict[str, Any],
    follower: str,
) -> dict[str, Any]:
    return {"id": activity_id, "type": kind, "actor": actor, "object": follow, "to": [follower]}


def accept_to_as(
    *, activity_id: str, actor: str, follow: dict[str, Any], follower: str
) -> dict[str, Any]:
    """Accept ``follow`` (embedded as received, see ``follow_ref_to_as``) from ``follower``."""
    return _answer("Accept", activity_id, actor, follow, follower)


def reject_to_as(
    *, activity_id: str, actor: str, follow: dict[str, Any], follower: str
) -> dict[str, Any]:
    """Refuse ``follow``, or end it once accepted: Mastodon drops the follow either way."""
    return _answer("Reject", activity_id, actor, follow, follower)


def undo_follow_to_as(
    *, activity_id: str, actor: str, follow_id: str, target: str
) -> dict[str, Any]:
    """Stop following ``target``; the Follow is embedded so that a receiver that
    lost its id can still match it by (actor, object)."""
    follow = follow_ref_to_as(follow_id=follow_id, actor=actor, target=target)
    return {"id": activity_id, "type": "Undo", "actor": actor, "object": follow, "to": [target]}


def ignore_to_as(*, activity_id: str, actor: str, join_id: str, joiner: str) -> dict[str, Any]:
    """The answer to every ``Join`` of our events: RSVPs are not taken over
    ActivityPub (``joinMode: none``), and FEP-8a8e asks for an ``Ignore``."""
    return {"id": activity_id, "type": "Ignore", "actor": actor, "object": join_id, "to": [joiner]}


# -- public, copied to our followers ----------------------------------------------------


def _public(
    kind: str,
    activity_id: str,
    actor: str,
    followers: str,
    obj: str | dict[str, Any],
    published: datetime | None,
) -> dict[str, Any]:
    activity: dict[str, Any] = {"id": activity_id, "type": kind, "actor": actor}
    if published is not None:
        activity["published"] = iso_utc(published)
    activity.update(to=[AS_PUBLIC], cc=[followers], object=obj)
    return activity


def publication_to_as(
    kind: PublicationKind,
    *,
    activity_id: str,
    actor: str,
    followers: str,
    obj: dict[str, Any],
    published: datetime,
) -> dict[str, Any]:
    """Create, Update or Delete of one of our objects, embedded whole (a
    ``Tombstone`` for Delete)."""
    return _public(kind, activity_id, actor, followers, obj, published)


def announce_to_as(
    *, activity_id: str, actor: str, followers: str, object_id: str, published: datetime
) -> dict[str, Any]:
    """Share a remote object by its id only: receivers fetch it from its origin."""
    return _public("Announce", activity_id, actor, followers, object_id, published)


def undo_announce_to_as(
    *,
    activity_id: str,
    actor: str,
    followers: str,
    announce: dict[str, Any],
    published: datetime,
) -> dict[str, Any]:
    """Take a share back: ``announce`` is the Announce as it was sent (without
    ``@context``) and ``published`` the date it was sent."""
    return _public("Undo", activity_id, actor, followers, announce, published)


def actor_update_to_as(
    *, activity_id: str, actor_doc: dict[str, Any], followers: str
) -> dict[str, Any]:
    """``Update`` of our actor with its whole document (without ``@context``), so
    that followers refresh name, summary and key without fetching it again."""
    return _public("Update", activity_id, actor_doc["id"], followers, actor_doc, None)


def state_note_to_as(
    *,
    note_id: str,
    actor: str,
    followers: str,
    in_reply_to: str,
    content: str,
    url: str,
    published: datetime,
    language: str = SOURCE_LANGUAGE,
) -> dict[str, Any]:
    """A short public post about one of our objects (``in_reply_to``): a callout's
    new state, an event moved or called off. Sent as the object of a ``Create``
    (``publication_to_as``), so that timelines show the news, not only the poll."""
    return {
        "id": note_id,
        "type": "Note",
        "attributedTo": actor,
        "inReplyTo": in_reply_to,
        "content": content,
        "contentMap": {language: content},
        "mediaType": "text/html",
        "url": url,
        "published": iso_utc(published),
        "to": [AS_PUBLIC],
        "cc": [followers],
    }


def direct_note_to_as(
    *,
    activity_id: str,
    actor: str,
    recipient: str,
    mention: str,
    content: str,
    in_reply_to: str,
    published: datetime,
    language: str = SOURCE_LANGUAGE,
) -> dict[str, Any]:
    """``Create`` of a ``Note`` for ``recipient`` alone: no Public, no followers,
    and a ``Mention`` tag (``mention`` is ``@user@host``), which is what Mastodon
    shows as a private mention. The Note's id is the activity's with ``#note``."""
    note = {
        "id": f"{activity_id}#note",
        "type": "Note",
        "attributedTo": actor,
        "inReplyTo": in_reply_to,
        "content": content,
        "contentMap": {language: content},
        "mediaType": "text/html",
        "published": iso_utc(published),
        "to": [recipient],
        "cc": [],
        "tag": [{"type": "Mention", "href": recipient, "name": mention}],
    }
    return {
        "id": activity_id,
        "type": "Create",
        "actor": actor,
        "published": iso_utc(published),
        "to": [recipient],
        "cc": [],
        "object": note,
    }


# -- moving to a new domain (docs/moving.md) -----------------------------------------------


def move_to_as(*, activity_id: str, actor: str, target: str, followers: str) -> dict[str, Any]:
    """``actor`` has moved to ``target``, as Mastodon sends it for an account:
    the object is the actor itself, addressed to its followers."""
    return {
        "id": activity_id,
        "type": "Move",
        "actor": actor,
        "object": actor,
        "target": target,
        "to": [followers],
    }
