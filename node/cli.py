"""The ``tocsin`` command."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from node.cli_content import COMMANDS as CONTENT_COMMANDS
from node.cli_content import add_commands as add_content_commands
from node.cli_federation import COMMANDS as FEDERATION_COMMANDS
from node.cli_federation import add_commands as add_federation_commands
from node.cli_moves import COMMANDS as MOVE_COMMANDS
from node.cli_moves import add_commands as add_move_commands
from node.config import ConfigError, Settings, load_settings
from node.logs import setup_logging

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from node.bootstrap import FIRST_ADMIN, prepare

    password = await prepare(settings, first_admin=True)
    print(f"Tocsin is running at {settings.base_url}/", flush=True)
    if password:
        print(
            f"First admin account: {FIRST_ADMIN} / one-time password: {password}\n"
            "(shown only now; you will be asked to change it at first login)",
            flush=True,
        )
    await _serve(settings, with_worker=True)
    return 0


async def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    from node.bootstrap import prepare

    await prepare(settings, first_admin=False)
    await _serve(settings, with_worker=False)
    return 0


async def _serve(settings: Settings, *, with_worker: bool) -> None:
    import uvicorn

    from node.app import create_app
    from node.worker import run_worker

    # `tocsin web` beside `tocsin worker`: the workers process what the inbox records
    app = create_app(
        settings, background=[run_worker] if with_worker else [], process_inbox=with_worker
    )
    config = uvicorn.Config(
        app,
        host=settings.listen_host,
        port=settings.listen_port,
        access_log=False,  # access logs would record client IP addresses
        server_header=False,
        # Behind a trusted TLS proxy the client address comes from X-Forwarded-For;
        # it is used only in memory, to throttle failed logins.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        lifespan="on",
        log_level="info",
        ws="none",  # no websockets here; an upgrade attempt is plain HTTP, and not logged
    )
    await uvicorn.Server(config).serve()


async def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from node.worker import run_standalone_worker

    await run_standalone_worker(settings)
    return 0


async def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from node.bootstrap import prepare

    await prepare(settings, first_admin=False)
    print("Database is up to date.")
    return 0


async def cmd_admin_create(args: argparse.Namespace, settings: Settings) -> int:
    from node.bootstrap import prepare
    from node.db import make_engine, make_sessionmaker
    from node.users import UserError, create_user, generate_password

    await prepare(settings, first_admin=False)
    generated = sys.stdin.isatty() is False and args.password_stdin is False
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password (empty to generate one): ")
        generated = not password
    if generated:
        password = generate_password()
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            try:
                await create_user(session, args.name, args.role, password, must_change=generated)
            except UserError as exc:
                print(f"tocsin: {exc}", file=sys.stderr)
                return 2
            await session.commit()
    finally:
        await engine.dispose()
    print(f"Created {args.role} {args.name!r}.")
    if generated:
        print(f"One-time password: {password} (change it at first login)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tocsin",
        description="A federated ActivityPub server for local organising.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="migrate, then serve the node with its worker in one process")
    sub.add_parser("web", help="migrate, then serve HTTP only (production, with `worker`)")
    sub.add_parser("worker", help="run the background worker (deliveries, inbox processing)")
    sub.add_parser("migrate", help="create or upgrade the database schema")
    admin = sub.add_parser("admin", help="manage admin and editor accounts")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    create = admin_sub.add_parser("create", help="add an account")
    create.add_argument("name")
    create.add_argument("--role", choices=["admin", "editor"], default="admin")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add_federation_commands(sub)
    add_content_commands(sub)
    add_move_commands(sub)
    return parser


COMMANDS: dict[str, Command] = {
    **FEDERATION_COMMANDS,
    **CONTENT_COMMANDS,
    **MOVE_COMMANDS,
    "run": cmd_run,
    "web": cmd_web,
    "worker": cmd_worker,
    "migrate": cmd_migrate,
    "admin create": cmd_admin_create,
}


def command_key(args: argparse.Namespace) -> str:
    parts = [args.command]
    for attr in ("admin_command", "event_command", "callout_command"):
        if getattr(args, attr, None):
            parts.append(getattr(args, attr))
    return " ".join(parts)


def _loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when installed (it comes with uvicorn[standard]): its
    transports are C, and a busy inbox spends much of its time in them."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"tocsin: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        with asyncio.Runner(loop_factory=_loop()) as runner:
            return runner.run(COMMANDS[command_key(args)](args, settings))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
