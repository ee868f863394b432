"""ActivityStreams 2.0 at the edge: untrusted JSON in, frozen dataclasses out.

AS2 arrives in many shapes (one value or a list, an id or an embedded object).
Threading raw dicts through the app spreads those guesses everywhere, as in
microblog.pub's ``RawObject``; so each document is parsed once, here, into a
frozen dataclass, and the original JSON rides along in ``raw`` (read-only) for
storage and for the node's converters.

Untrusted size is bounded here too (CVE-2026-23962): nesting depth, audience and
attachment arrays, string lengths. Over-long arrays and ids are *rejected*, not
truncated: cutting ``to`` could drop ``as:Public`` or a recipient and silently
change who a post is for, and a shortened id is another id. Display text
(``name``, ``summary``) is truncated: a shortened name is still the same name.

Actors and their keys are parsed in :mod:`federation.actors` with the readers
and bounds defined here (``document``, ``http_url``, ``link``).

Origin rules (docs/interop.md#origin) live in ``actors.parse_actor``
and ``check_activity_origin``; hosts compare through ``federation.hosts``, so
``Example.COM.`` is ``example.com`` (CVE-2023-42451). Authority comes from the
activity's ``actor``, never from ``url`` (CVE-2025-25306). Violations raise
``MalformedError`` (400) or ``ForbiddenError`` (403) whose message names the
field and never echoes the value, so it is safe to show the sender.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from federation.errors import ForbiddenError, MalformedError
from federation.hosts import url_authority

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
AS_MEDIA_TYPE = "application/activity+json"
LD_MEDIA_TYPE = f'application/ld+json; profile="{AS_CONTEXT}"'
AS_ACCEPT = f"{AS_MEDIA_TYPE}, {LD_MEDIA_TYPE}"
"""The Accept header for fetching AS2 documents (docs/interop.md#fetching)."""

ACTOR_TYPES = frozenset({"Application", "Group", "Organization", "Person", "Service"})

MAX_ITEMS = 100
"""Most entries allowed in any array named in ``CAPPED_ARRAYS``, at any depth."""
CAPPED_ARRAYS = frozenset(
    {"to", "cc", "bto", "bcc", "audience", "tag", "attachment", "attributedTo", "oneOf", "anyOf"}
)
MAX_DEPTH = 32
MAX_URL_LENGTH = 2048
MAX_AUTHORITY_LENGTH = 255
"""Longest ``host[:port]`` accepted (a DNS name has at most 253 characters);
hosts are stored in columns of this size, on SQLite and PostgreSQL alike."""
MAX_TYPE_LENGTH = 64

# Activities whose object must belong to the actor's own host.
_OWN_OBJECT_TYPES = frozenset({"Update", "Delete", "Undo"})


def as_list(value: Any) -> list[Any]:
    """AS2's "one or many": ``None`` is ``[]``, a list is itself, anything else ``[value]``."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def id_of(value: Any) -> str | None:
    """AS2's "id or embedded object": the string, or the embedded object's ``id``."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def first_str(value: Any) -> str | None:
    """The first non-empty string in a one-or-many value."""
    return next((item for item in as_list(value) if isinstance(item, str) and item), None)


def check_bounds(doc: Any) -> None:
    """Reject documents nested deeper than ``MAX_DEPTH`` or with a capped array too long.

    Iterative, so a hostile document cannot exhaust the Python stack.
    """
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict | list):
            continue
        if depth > MAX_DEPTH:
            raise MalformedError("document is nested too deeply")
        if isinstance(node, dict):
            for key in CAPPED_ARRAYS.intersection(node):
                if isinstance(node[key], list) and len(node[key]) > MAX_ITEMS:
                    raise MalformedError(f"too many entries in {key} (at most {MAX_ITEMS})")
            node = list(node.values())
        stack.extend((child, depth + 1) for child in node)


def document(doc: Any) -> dict[str, Any]:
    """``doc`` as a JSON object within ``check_bounds``, else ``MalformedError``."""
    if not isinstance(doc, dict):
        raise MalformedError("document is not a JSON object")
    check_bounds(doc)
    return doc


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > MAX_URL_LENGTH:
        return False
    if not value.isprintable() or " " in value:
        return False
    try:
        scheme = urlsplit(value).scheme.lower()
        authority = url_authority(value)
    except ValueError:
        return False
    return scheme in {"http", "https"} and 0 < len(authority) <= MAX_AUTHORITY_LENGTH


def http_url(value: Any, what: str) -> str:
    """A required http(s) URL, given as a string or as an embedded object's id."""
    if isinstance(value, dict):
        value = value.get("id")
    if value is None or value == "":
        raise MalformedError(f"{what} is missing")
    if not _is_http_url(value):
        raise MalformedError(f"{what} is not a valid http(s) URL")
    return str(value)


def link(value: Any) -> str | None:
    """An optional link: the first http(s) URL among strings, Links (``href``) and objects."""
    for item in as_list(value):
        candidate = (item.get("href") or item.get("id")) if isinstance(item, dict) else item
        if _is_http_url(candidate):
            return str(candidate)
    return None  # a link we can live without: junk becomes None rather than an error


def _one(value: Any, what: str) -> Any:
    """Unwrap a one-item list; several values where we act on one is malformed."""
    if isinstance(value, list):
        if len(value) > 1:
            raise MalformedError(f"several values for {what} are not supported")
        return value[0] if value else None
    return value


def _type_name(value: Any) -> str | None:
    name = first_str(value)
    return name if name is not None and len(name) <= MAX_TYPE_LENGTH else None


def _audience(value: Any) -> tuple[str, ...]:
    """Recipient ids; an entry too long to be any URL we could deliver to is skipped."""
    ids = (id_of(item) for item in as_list(value))
    return tuple(item for item in ids if item and len(item) <= MAX_URL_LENGTH)


@dataclass(frozen=True)
class FollowRef:
    """What an Undo, Accept or Reject says about the Follow it answers.

    Mastodon matches by ``id`` first, else by (``actor``, ``object``); a bare
    string object gives only the id.
    """

    id: str | None
    actor: str | None
    object: str | None


@dataclass(frozen=True)
class Activity:
    """An activity with its object either referenced (``object_id``) or embedded too."""

    id: str
    type: str
    actor: str
    object_id: str | None = None
    object: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    object_type: str | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def follow_ref(self) -> FollowRef | None:
        """The Follow this activity's object refers to, or None if it is not one."""
        if self.object is None:
            return FollowRef(self.object_id, None, None) if self.object_id else None
        if self.object_type != "Follow":
            return None
        return FollowRef(
            self.object_id, id_of(self.object.get("actor")), id_of(self.object.get("object"))
        )


def _object(doc: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    value = _one(doc.get("object"), "object")
    if value is None:
        return None, None
    if not isinstance(value, str | dict):
        raise MalformedError("object is neither an id nor an object")
    embedded = value if isinstance(value, dict) else None
    object_id = id_of(value)
    return (None if object_id is None else http_url(object_id, "object id")), embedded


def parse_activity(doc: Any) -> Activity:
    """Parse an incoming activity; call ``check_activity_origin`` before acting on it."""
    doc = document(doc)
    object_id, embedded = _object(doc)
    activity_type = _type_name(doc.get("type"))
    if activity_type is None:
        raise MalformedError("activity type is missing or too long")
    return Activity(
        id=http_url(doc.get("id"), "activity id"),
        type=activity_type,
        actor=http_url(_one(doc.get("actor"), "actor"), "actor"),
        object_id=object_id,
        object=embedded,
        object_type=_type_name(embedded.get("type")) if embedded else None,
        to=_audience(doc.get("to")),
        cc=_audience(doc.get("cc")),
        raw=doc,
    )


def check_activity_origin(activity: Activity) -> None:
    """Enforce who may say what, before any side effect.

    The activity id is on the actor's host. Create: an embedded object has an
    id and ``attributedTo`` on that host (a bare id is allowed; the node must
    fetch it from its origin). Update, Delete, Undo: the object is on that
    host, an actor Update updates only the actor, an Undo undoes only the
    actor's own activity. Accept, Reject: the Follow was addressed to the
    actor. That the signer is the actor is the inbox's check, not this one.
    """
    host = url_authority(activity.actor)
    if url_authority(activity.id) != host:
        raise ForbiddenError("activity id is not on the actor's host")
    if activity.type == "Create" and activity.object is not None:
        _check_created_object(activity.object_id, activity.object, host)
    if activity.type in _OWN_OBJECT_TYPES:
        _check_own_object(activity, host)
    ref = activity.follow_ref() if activity.type in {"Accept", "Reject"} else None
    if ref is not None and ref.object is not None and ref.object != activity.actor:
        raise ForbiddenError("only the followed actor may answer a Follow")


def _check_created_object(object_id: str | None, obj: dict[str, Any], host: str) -> None:
    if object_id is None:
        raise MalformedError("embedded object has no id")
    if url_authority(object_id) != host:
        raise ForbiddenError("object id is not on the actor's host")
    authors = (id_of(author) for author in as_list(obj.get("attributedTo")))
    if any(author is not None and url_authority(author) != host for author in authors):
        raise ForbiddenError("object is attributed to an actor on another host")


def _check_own_object(activity: Activity, host: str) -> None:
    obj, object_id = activity.object or {}, activity.object_id
    if object_id is None and not (activity.type == "Undo" and obj):
        raise MalformedError("object has no id")  # an embedded Undo matches by (actor, object)
    if object_id is not None and url_authority(object_id) != host:
        raise ForbiddenError("object is not on the actor's host")
    updates_actor = activity.type == "Update" and activity.object_type in ACTOR_TYPES
    if updates_actor and object_id != activity.actor:
        raise ForbiddenError("an actor may only update itself")
    undone_actor = id_of(obj.get("actor")) if activity.type == "Undo" else None
    if undone_actor is not None and undone_actor != activity.actor:
        raise ForbiddenError("an actor may only undo its own activities")
