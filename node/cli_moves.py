"""``tocsin export``, ``import``, ``alias`` and ``move``: carrying a node to a
new domain (docs/moving.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from federation.errors import FederationError
from node.config import Settings
from node.export import ExportError, export_node
from node.export_import import import_node
from node.i18n import gettext as _
from node.move_notice import send_move_notices
from node.moves import MoveError, aliases, change_alias, move_to
from node.runtime import node_context

MAX_EXPORT_BYTES = 512 * 1024 * 1024


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    cmd = sub.add_parser("export", help=_("write everything this node is to one JSON file"))
    cmd.add_argument("file")
    cmd.add_argument(
        "--with-keys", action="store_true", help=_("include the actor's private key (keep it safe)")
    )
    cmd = sub.add_parser("import", help=_("restore an export into this new, empty node"))
    cmd.add_argument("file")
    cmd = sub.add_parser("alias", help=_("list, add or remove former actors of this node"))
    cmd.add_argument("action", nargs="?", choices=["list", "add", "remove"], default="list")
    cmd.add_argument("actor", nargs="?", help=_("the old actor (@name@host or URL)"))
    cmd = sub.add_parser("move", help=_("move this node's followers to its new actor"))
    cmd.add_argument("target", nargs="?", help=_("the new actor (@name@host or URL)"))
    cmd.add_argument(
        "--from-export",
        metavar="FILE",
        help=_("the old domain is gone: send the notice signed with the key in FILE"),
    )


def _fail(message: str) -> int:
    print(f"tocsin: {message}", file=sys.stderr)
    return 2


def _write_private(path: str, text: str) -> None:
    """Write ``text`` readable by its owner only (mode 0600), even over an old file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _read_export(path: str) -> Any:
    file = Path(path)
    if file.stat().st_size > MAX_EXPORT_BYTES:
        raise ExportError(f"{path} is over {MAX_EXPORT_BYTES // 1024 // 1024} MB")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"{path} is not a JSON export: {exc}") from exc


async def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    async with node_context(settings) as node, node.sessions() as session:
        doc = await export_node(session, node.urls, with_keys=args.with_keys)
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    try:
        await asyncio.to_thread(_write_private, args.file, text)
    except OSError as exc:
        return _fail(_("cannot write %(file)s: %(why)s", file=args.file, why=exc.strerror))
    print(
        _(
            "Wrote %(file)s: %(events)s events, %(callouts)s callouts.",
            file=args.file,
            events=len(doc["events"]),
            callouts=len(doc["callouts"]),
        )
    )
    if args.with_keys:
        print(
            _(
                "WARNING: this file holds the node's private key: anyone who has it can speak "
                "as the node. Keep it offline and safe (it is readable by you only)."
            )
        )
    return 0


async def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    try:
        doc = await asyncio.to_thread(_read_export, args.file)
        async with node_context(settings) as node:
            report = await import_node(node, doc)
    except (ExportError, OSError) as exc:
        return _fail(str(exc) if isinstance(exc, ExportError) else f"{args.file}: {exc.strerror}")
    except (SQLAlchemyError, ValueError, TypeError, KeyError, AttributeError) as exc:
        # one transaction: nothing of a damaged file was written
        return _fail(
            _(
                "%(file)s is damaged, nothing was imported (%(error)s)",
                file=args.file,
                error=type(exc).__name__,
            )
        )
    print(
        _(
            "Imported %(events)s events, %(callouts)s callouts, %(blocks)s blocks; "
            "%(follows)s follows sent again; %(followers)s followers of "
            "%(actor)s will come over with the Move.",
            events=report.events,
            callouts=report.callouts,
            blocks=report.blocks,
            follows=report.follows_sent,
            followers=report.former_followers,
            actor=doc["actor"]["id"],
        )
    )
    for problem in report.problems:
        print(problem)
    print(_("Next: tocsin alias add %(actor)s", actor=doc["actor"]["id"]))
    return 0


async def cmd_alias(args: argparse.Namespace, settings: Settings) -> int:
    async with node_context(settings) as node:
        if args.action == "list":
            async with node.sessions() as session:
                known = await aliases(session)
            print("\n".join(known) if known else _("(no aliases)"))
            return 0
        if not args.actor:
            return _fail(
                _("alias %(action)s needs the old actor (@name@host or URL)", action=args.action)
            )
        try:
            uri = await change_alias(node, args.actor, add=args.action == "add")
        except MoveError as exc:
            return _fail(str(exc))
    if args.action == "add":
        print(_("Added alias %(uri)s.", uri=uri))
    else:
        print(_("Removed alias %(uri)s.", uri=uri))
    return 0


async def cmd_move(args: argparse.Namespace, settings: Settings) -> int:
    if bool(args.target) == bool(args.from_export):
        return _fail(_("give either the new actor or --from-export FILE"))
    try:
        async with node_context(settings) as node:
            if args.from_export:
                return await _notices(node, await asyncio.to_thread(_read_export, args.from_export))
            uri, told = await move_to(node, args.target)
    except (MoveError, ExportError) as exc:
        return _fail(str(exc))
    except FederationError as exc:
        return _fail(exc.public_message)
    except OSError as exc:
        return _fail(f"{args.from_export}: {exc.strerror}")
    print(
        _(
            "Moved to %(uri)s: Move queued to %(count)s followers; this actor now shows movedTo.",
            uri=uri,
            count=told,
        )
    )
    return 0


async def _notices(node: Any, doc: Any) -> int:
    results = await send_move_notices(node, doc)
    for result in results:
        print(f"{result.outcome:<22} {result.inbox}")
    failed = sum(not r.delivered for r in results)
    print(
        _(
            "Notice sent to %(sent)s of %(total)s inboxes.",
            sent=len(results) - failed,
            total=len(results),
        )
    )
    return 0 if failed == 0 else 1


COMMANDS = {
    "export": cmd_export,
    "import": cmd_import,
    "alias": cmd_alias,
    "move": cmd_move,
}
