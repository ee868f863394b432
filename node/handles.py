"""How a remote actor is named to people: ``@name@host``, or its id's host and
path when it has no ``preferredUsername`` (ActivityPub does not require one)."""

from __future__ import annotations

from urllib.parse import urlsplit

from node.models import RemoteActor


def address_of(uri: str) -> str:
    """``host/path`` of an actor id: how an actor without a username is shown."""
    parts = urlsplit(uri)
    return f"{parts.netloc}{parts.path}".rstrip("/")


def handle_of(remote: RemoteActor) -> str:
    if not remote.preferred_username:
        return address_of(remote.uri)
    return f"@{remote.preferred_username}@{remote.domain}"


def label_of(remote: RemoteActor) -> str:
    """The name to show: the actor's display name, else its handle."""
    return remote.name or handle_of(remote)
