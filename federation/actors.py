"""Remote actors and their public keys, parsed from the documents their URLs serve.

Kept apart from :mod:`federation.as2` because an actor is not an activity: it
is mostly fetched (by the signature key lookup, when following) rather than
posted to an inbox, and its rules are about identity, not about who may say
what. Who owns a key, and whether a key may be served from a host, is what
HTTP signature verification stands on (docs/interop.md#actors, #verification), so those rules
sit together here, beside the username rule other servers enforce and the
bounds on an actor's display text. The shared AS2 readers and document bounds
stay in ``as2``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from federation.as2 import ACTOR_TYPES, as_list, document, http_url, link
from federation.errors import ForbiddenError, MalformedError
from federation.hosts import url_authority

MAX_NAME_LENGTH = 1_000
MAX_TEXT_LENGTH = 50_000
MAX_PEM_LENGTH = 16_384

# Misskey's rule (ApPersonService.validateActor); JS ``\w`` is ASCII-only.
_USERNAME = re.compile(r"\w([\w.-]*\w)?", re.ASCII)
_MAX_USERNAME_LENGTH = 128


def _text(value: Any, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) else None


@dataclass(frozen=True)
class PublicKey:
    """A ``publicKey`` entry: which actor owns which PEM."""

    id: str
    owner: str
    pem: str


def _pem(value: Any) -> str:
    if not isinstance(value, str) or "-----BEGIN " not in value or len(value) > MAX_PEM_LENGTH:
        raise MalformedError("publicKeyPem is missing or not a PEM block")
    return value


def _key_of_actor(entry: dict[str, Any], actor_id: str) -> PublicKey:
    """A key embedded in an actor: owned by that actor and served from its host."""
    key_id = http_url(entry.get("id"), "publicKey id")
    owner = http_url(entry.get("owner"), "publicKey owner")
    if owner != actor_id:
        raise ForbiddenError("publicKey owner is not the actor")
    if url_authority(key_id) != url_authority(actor_id):
        raise ForbiddenError("publicKey id is not on the actor's host")
    return PublicKey(id=key_id, owner=owner, pem=_pem(entry.get("publicKeyPem")))


def parse_public_key(doc: Any, key_id: str) -> PublicKey:
    """The key ``key_id`` from the document its URL served.

    That is an actor (Mastodon, ``…#main-key``), a stub actor holding only the key
    (GoToSocial, ``…/main-key``), or a bare key document whose ``id`` is the key id.
    For a bare key document the caller must still fetch ``owner`` and check that
    the owner's own ``publicKey`` lists this key (docs/interop.md#actors).
    """
    doc = document(doc)
    if doc.get("id") == key_id and "publicKeyPem" in doc:
        owner = http_url(doc.get("owner"), "publicKey owner")
        if url_authority(owner) != url_authority(http_url(key_id, "key id")):
            raise ForbiddenError("publicKey owner is not on the key's host")
        return PublicKey(id=key_id, owner=owner, pem=_pem(doc.get("publicKeyPem")))
    actor_id = http_url(doc.get("id"), "actor id")
    for entry in as_list(doc.get("publicKey")):
        if isinstance(entry, dict) and entry.get("id") == key_id:
            return _key_of_actor(entry, actor_id)
    raise MalformedError("the requested key is not in the document")


@dataclass(frozen=True)
class Actor:
    """A remote actor as far as federation cares: where to deliver and how to verify."""

    id: str
    type: str
    preferred_username: str  # "" when the document has none
    inbox: str
    name: str | None = None
    summary: str | None = None
    outbox: str | None = None
    followers: str | None = None
    following: str | None = None
    shared_inbox: str | None = None
    public_key_id: str | None = None
    public_key_pem: str | None = None
    manually_approves_followers: bool = False
    url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


def _actor_type(doc: dict[str, Any]) -> str:
    types = (t for t in as_list(doc.get("type")) if isinstance(t, str))
    found = next((t for t in types if t in ACTOR_TYPES), None)
    if found is None:
        raise MalformedError("type is not an actor type")
    return found


def _username(value: Any) -> str:
    """The ``preferredUsername``, or "" when the actor has none.

    ActivityPub does not require one, and some servers (fediverse-pasture's test
    actors among them) send none: such an actor still signs and is followed, and
    is shown by its id's host and path instead (``node.handles``). One that is
    present must still pass the rule other servers enforce.
    """
    if value is None:
        return ""
    if not isinstance(value, str) or not 1 <= len(value) <= _MAX_USERNAME_LENGTH:
        raise MalformedError("preferredUsername is missing or too long")
    if not _USERNAME.fullmatch(value):
        raise MalformedError("preferredUsername has characters other servers refuse")
    return value


def _own_inbox(doc: dict[str, Any], actor_id: str) -> str:
    """The actor's inbox, which must be on the actor's own server.

    Deliveries are signed POSTs retried for days: an actor document naming an
    inbox elsewhere would turn this node into a sender of signed requests to
    any server its author likes. Misskey refuses such actors too.
    """
    inbox = http_url(doc.get("inbox"), "inbox")
    if url_authority(inbox) != url_authority(actor_id):
        raise ForbiddenError(
            f"inbox {inbox} is not on the host of {actor_id}",
            public_message="the actor's inbox is not on the actor's own server",
        )
    return inbox


def _shared_inbox(doc: dict[str, Any], actor_id: str) -> str | None:
    """The shared inbox, when there is one on the actor's server (one elsewhere
    is ignored: deliveries then go to the personal inbox)."""
    endpoints = doc.get("endpoints")
    value = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    if value is None:
        value = doc.get("sharedInbox")
    if value is None:
        return None
    shared = http_url(value, "sharedInbox")
    return shared if url_authority(shared) == url_authority(actor_id) else None


def parse_actor(doc: Any) -> Actor:
    """Parse an actor document; the caller has already checked ``id`` == fetched URL.

    The first ``publicKey`` entry is the one recorded (real servers send one);
    ``parse_public_key`` finds any entry by its id.
    """
    doc = document(doc)
    actor_id = http_url(doc.get("id"), "actor id")
    keys = [entry for entry in as_list(doc.get("publicKey")) if isinstance(entry, dict)]
    key = _key_of_actor(keys[0], actor_id) if keys else None
    return Actor(
        id=actor_id,
        type=_actor_type(doc),
        preferred_username=_username(doc.get("preferredUsername")),
        inbox=_own_inbox(doc, actor_id),
        name=_text(doc.get("name"), MAX_NAME_LENGTH),
        summary=_text(doc.get("summary"), MAX_TEXT_LENGTH),
        outbox=link(doc.get("outbox")),
        followers=link(doc.get("followers")),
        following=link(doc.get("following")),
        shared_inbox=_shared_inbox(doc, actor_id),
        public_key_id=key.id if key else None,
        public_key_pem=key.pem if key else None,
        manually_approves_followers=doc.get("manuallyApprovesFollowers") is True,
        url=link(doc.get("url")),
        raw=doc,
    )
