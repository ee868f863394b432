"""The node's own actors: made with their keys on first start, then kept."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.keys import KeyPairPem, generate_key_pair
from node.models import LocalActor

INSTANCE_USERNAME = "instance.actor"

KeyPairSource = Callable[[], KeyPairPem]
"""Makes a new actor's key pair; ``generate_key_pair`` unless a caller (tests)
hands in pairs made beforehand."""


async def ensure_local_actors(
    session: AsyncSession, node_name: str, *, new_key_pair: KeyPairSource = generate_key_pair
) -> None:
    """Create the network's Group actor and the instance Application actor if missing.

    Keys are generated once and never replaced here: a changed key would break
    every follower's cached copy. Each new actor gets its own ``new_key_pair()``.
    """
    existing = {actor.kind: actor for actor in (await session.scalars(select(LocalActor))).all()}
    if "group" not in existing:
        session.add(_new_actor(node_name, "group", new_key_pair(), display_name=node_name))
    elif existing["group"].username != node_name:
        raise RuntimeError(
            f"this node was created as {existing['group'].username!r}; TOCSIN_NODE_NAME "
            f"is {node_name!r}. Renaming a federated actor would orphan its followers."
        )
    if "application" not in existing:
        instance = _new_actor(
            INSTANCE_USERNAME, "application", new_key_pair(), display_name="Instance actor"
        )
        session.add(instance)
    await session.commit()


def _new_actor(username: str, kind: str, pair: KeyPairPem, *, display_name: str) -> LocalActor:
    return LocalActor(
        username=username,
        kind=kind,
        display_name=display_name,
        summary="",
        region="",
        manually_approves_followers=False,
        private_key_pem=pair.private_pem,
        public_key_pem=pair.public_pem,
    )


async def group_actor(session: AsyncSession) -> LocalActor:
    actor = await session.scalar(select(LocalActor).where(LocalActor.kind == "group"))
    if actor is None:
        raise RuntimeError("the node actor is missing; run `tocsin migrate` and start the node")
    return actor


async def instance_actor(session: AsyncSession) -> LocalActor:
    actor = await session.scalar(select(LocalActor).where(LocalActor.kind == "application"))
    if actor is None:
        raise RuntimeError("the instance actor is missing; start the node once to create it")
    return actor


def chosen_name(actor: LocalActor) -> str:
    """The name the network was given, or ``""`` while it has none: a new Group's
    display name is its username, which never names the network on a page."""
    name = actor.display_name.strip()
    return "" if name == actor.username else name
