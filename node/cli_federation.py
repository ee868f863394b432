"""``tocsin follow``, ``unfollow``, ``followers``, ``following``, ``discover``,
``block``, ``unblock``.

These queue activities; the running node's worker (or ``tocsin worker``)
delivers them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.errors import FederationError
from node.blocklists import unblock_local
from node.blocks import block_domain
from node.cli_blocklists import BLOCKS_ACTIONS, run_blocks_action
from node.config import Settings
from node.discovery import discover
from node.follows import (
    FollowError,
    approve_follower,
    follow,
    reject_follower,
    resolve_target,
    unfollow,
)
from node.i18n import gettext as _
from node.i18n import lazy_gettext
from node.identity import group_actor
from node.models import DomainBlock, Follower, Following, RemoteActor
from node.runtime import node_context


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cmd = sub.add_parser("follow", help=_("follow a remote node or account (@name@host or URL)"))
    cmd.add_argument("target")
    cmd.add_argument(
        "--relay-urgent",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=_(
            "announce its urgent callouts to this node's followers (on a network "
            "already followed: only switch this)"
        ),
    )
    cmd = sub.add_parser("unfollow", help=_("stop following a remote actor (sends Undo)"))
    cmd.add_argument("target")
    cmd = sub.add_parser("followers", help=_("list followers, or approve/reject/remove one"))
    cmd.add_argument(
        "action", nargs="?", choices=["list", "approve", "reject", "remove"], default="list"
    )
    cmd.add_argument("actor", nargs="?", help=_("the follower's actor URL"))
    sub.add_parser("following", help=_("list the actors this node follows, with their state"))
    cmd = sub.add_parser(
        "discover", help=_("networks followed by the networks this node follows (two hops)")
    )
    cmd.add_argument("--refresh", action="store_true", help=_("ask again, not from the cache"))
    cmd = sub.add_parser("block", help=_("block a server: drop its follows, refuse its requests"))
    cmd.add_argument("domain")
    cmd.add_argument("--reason", default="")
    cmd = sub.add_parser("unblock", help=_("lift a server block"))
    cmd.add_argument("domain")
    cmd = sub.add_parser(
        "blocks",
        help=_("list blocked servers; import/export Mastodon CSV; publish or subscribe to lists"),
    )
    cmd.add_argument("action", nargs="?", choices=BLOCKS_ACTIONS, default="list")
    cmd.add_argument("arg", nargs="?", help=_("a CSV file, on|off, or a node (@name@host or URL)"))


_FOLLOWER_DONE = {
    "approve": lazy_gettext("Approved %(actor)s."),
    "reject": lazy_gettext("Rejected %(actor)s."),
    "remove": lazy_gettext("Removed %(actor)s."),
}


def _fail(problem: str | Exception) -> int:
    message = problem.public_message if isinstance(problem, FederationError) else str(problem)
    print(f"tocsin: {message}", file=sys.stderr)
    return 2


async def cmd_follow(args: argparse.Namespace, settings: Settings) -> int:
    async with node_context(settings) as node:
        try:
            remote = await resolve_target(node, args.target)
            async with node.sessions() as session, session.begin():
                row = await _following_of(session, remote)
                if row is None or row.state != "accepted" or args.relay_urgent is None:
                    row = await follow(node, session, remote)
                    sent = True
                else:
                    sent = False
                if args.relay_urgent is not None:
                    row.relay_urgent = args.relay_urgent
                relaying = row.relay_urgent
        except (FollowError, FederationError) as exc:
            return _fail(exc)
    if sent:
        print(_("Follow request sent to %(uri)s (pending until it accepts).", uri=remote.uri))
    if relaying:
        print(_("Relaying its urgent callouts to this node's followers: on."))
    else:
        print(_("Relaying its urgent callouts to this node's followers: off."))
    return 0


async def _following_of(session: AsyncSession, remote: RemoteActor) -> Following | None:
    local = await group_actor(session)
    return await session.scalar(
        select(Following).where(
            Following.local_actor_id == local.id, Following.remote_actor_id == remote.id
        )
    )


async def cmd_unfollow(args: argparse.Namespace, settings: Settings) -> int:
    async with node_context(settings) as node:
        try:
            uri = args.target
            if not uri.startswith(("https://", "http://")):
                uri = (await resolve_target(node, args.target)).uri
            async with node.sessions() as session, session.begin():
                remote = await session.scalar(select(RemoteActor).where(RemoteActor.uri == uri))
                if remote is None:
                    return _fail(_("not following %(target)s", target=args.target))
                await unfollow(node, session, remote)
        except (FollowError, FederationError) as exc:
            return _fail(exc)
    print(_("Unfollowed %(uri)s.", uri=uri))
    return 0


async def cmd_followers(args: argparse.Namespace, settings: Settings) -> int:
    async with node_context(settings) as node:
        if args.action != "list":
            if not args.actor:
                return _fail(
                    _("followers %(action)s needs the follower's actor URL", action=args.action)
                )
            action = approve_follower if args.action == "approve" else reject_follower
            try:
                async with node.sessions() as session, session.begin():
                    await action(node, session, args.actor)
            except FollowError as exc:
                return _fail(exc)
            print(str(_FOLLOWER_DONE[args.action]) % {"actor": args.actor})
            return 0
        async with node.sessions() as session:
            local = await group_actor(session)
            rows = await session.execute(
                select(RemoteActor.uri, Follower.state)
                .join(Follower, Follower.remote_actor_id == RemoteActor.id)
                .where(Follower.local_actor_id == local.id)
                .order_by(Follower.id)
            )
            _print_rows(rows.all(), _("no followers yet"))
    return 0


async def cmd_following(args: argparse.Namespace, settings: Settings) -> int:
    async with node_context(settings) as node, node.sessions() as session:
        local = await group_actor(session)
        rows = await session.execute(
            select(RemoteActor.uri, Following.state)
            .join(Following, Following.remote_actor_id == RemoteActor.id)
            .where(Following.local_actor_id == local.id)
            .order_by(Following.id)
        )
        _print_rows(rows.all(), _("not following anyone yet"))
    return 0


def _print_rows(rows: Sequence[Row[str, str]], empty: str) -> None:
    if not rows:
        print(f"({empty})")
    for uri, state in rows:
        print(f"{state:<9} {uri}")


async def cmd_discover(args: argparse.Namespace, settings: Settings) -> int:
    async with node_context(settings) as node:
        found = await discover(node, refresh=args.refresh)
    if not found:
        print(_("(no networks found: none of the networks this node follows lists others)"))
    for candidate in found:
        network = candidate.network
        region = f"  ({network.region})" if network.region else ""
        count = candidate.followed_by
        print(f"{count:>3}  {network.name}  {network.handle}{region}  {network.url}")
    return 0


async def cmd_block(args: argparse.Namespace, settings: Settings) -> int:
    async with node_context(settings) as node:
        try:
            async with node.sessions() as session, session.begin():
                domain = await block_domain(session, args.domain, args.reason)
        except ValueError as exc:
            return _fail(exc)
    print(_("Blocked %(domain)s.", domain=domain))
    return 0


async def cmd_unblock(args: argparse.Namespace, settings: Settings) -> int:
    async with node_context(settings) as node, node.sessions() as session, session.begin():
        if not await unblock_local(session, args.domain):
            return _fail(_("%(domain)s is not blocked", domain=args.domain))
    print(_("Unblocked %(domain)s.", domain=args.domain))
    return 0


async def cmd_blocks(args: argparse.Namespace, settings: Settings) -> int:
    if args.action != "list":
        return await run_blocks_action(args.action, args.arg, settings)
    async with node_context(settings) as node, node.sessions() as session:
        rows = (await session.scalars(select(DomainBlock).order_by(DomainBlock.domain))).all()
    if not rows:
        print(_("(no blocked servers)"))
    for row in rows:
        source = "" if row.source == "local" else "  " + _("[from %(source)s]", source=row.source)
        print(f"{row.domain}  {row.reason}{source}".rstrip())
    return 0


COMMANDS = {
    "follow": cmd_follow,
    "unfollow": cmd_unfollow,
    "followers": cmd_followers,
    "following": cmd_following,
    "discover": cmd_discover,
    "block": cmd_block,
    "unblock": cmd_unblock,
    "blocks": cmd_blocks,
}
