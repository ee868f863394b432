"""The ``tocsin`` command."""

from __future__ import annotations

import argparse
import asyncio
import errno
import getpass
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from node import i18n
from node.cli_content import COMMANDS as CONTENT_COMMANDS
from node.cli_content import add_commands as add_content_commands
from node.cli_federation import COMMANDS as FEDERATION_COMMANDS
from node.cli_federation import add_commands as add_federation_commands
from node.cli_language import command_language
from node.cli_moves import COMMANDS as MOVE_COMMANDS
from node.cli_moves import add_commands as add_move_commands
from node.config import ConfigError, NoNodeError, Settings, load_settings
from node.i18n import gettext as _
from node.logs import setup_logging
from node.open_files import raise_open_files_limit

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from node.models import User

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Bind, then migrate and make the first admin, then say so: the password is
    shown (and made) only once the port is ours, and the URL printed answers."""
    listener = _bind(settings)
    if listener is None:
        return 2
    from node.bootstrap import FIRST_ADMIN, create_first_admin, prepare

    with listener:
        await prepare(settings, first_admin=False)
        password = await create_first_admin(settings)
        print(_("Tocsin is running at %(url)s/", url=settings.base_url), flush=True)
        if password:
            print(
                _(
                    "First admin account: %(name)s / one-time password: %(password)s\n"
                    "Log in at %(url)s/admin/login "
                    "(shown only now; you will be asked to change it at first login)",
                    name=FIRST_ADMIN,
                    password=password,
                    url=settings.base_url,
                ),
                flush=True,
            )
        await _serve(settings, listener, with_worker=True)
    return 0


async def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    from node.web_processes import inherited_listener

    inherited = inherited_listener()
    if inherited is not None:  # one of the TOCSIN_WEB_WORKERS: the first one migrated
        with inherited:
            await _serve(settings, inherited, with_worker=False, siblings=0)
        return 0
    listener = _bind(settings)
    if listener is None:
        return 2
    from node.bootstrap import prepare

    with listener:
        await prepare(settings, first_admin=False)
        await _serve(settings, listener, with_worker=False)
    return 0


def _bind(settings: Settings) -> socket.socket | None:
    """The listening socket of ``TOCSIN_LISTEN``, or None when it cannot be had
    (the reason, and how to pick another address, printed on one line)."""
    host, port = settings.listen_host, settings.listen_port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)  # connections wait in the backlog until the app has started
    except OSError as exc:
        sock.close()
        shown = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
        why = _("the port is in use") if exc.errno == errno.EADDRINUSE else exc.strerror
        other = f"{host}:{port + 1}" if port < 65535 else f"{host}:8000"
        print(
            "tocsin: "
            + _(
                "cannot listen on %(address)s: %(why)s. Pick another address with "
                "TOCSIN_LISTEN (for example TOCSIN_LISTEN=%(other)s) and set TOCSIN_BASE_URL "
                "to match. Nothing was started and no account was made.",
                address=shown,
                why=why,
                other=other,
            ),
            file=sys.stderr,
        )
        return None
    return sock


async def _serve(
    settings: Settings, listener: socket.socket, *, with_worker: bool, siblings: int | None = None
) -> None:
    """Serve ``listener``; with ``TOCSIN_WEB_WORKERS`` above 1, beside ``siblings``
    more web processes on the same socket (``node.web_processes``)."""
    import uvicorn

    from node.app import create_app
    from node.web_processes import Siblings
    from node.worker import run_worker

    # `tocsin web` beside `tocsin worker`: the workers process what the inbox records
    app = create_app(
        settings, background=[run_worker] if with_worker else [], process_inbox=with_worker
    )
    config = uvicorn.Config(
        app,
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
    others = settings.web_workers - 1 if siblings is None else siblings
    async with Siblings(listener, others).running():
        await uvicorn.Server(config).serve(sockets=[listener])


async def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from node.worker import run_standalone_worker

    await run_standalone_worker(settings)
    return 0


async def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from node.bootstrap import prepare

    await prepare(settings, first_admin=False)
    print(_("Database is up to date."))
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
        password = getpass.getpass(_("Password (empty to generate one): "))
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
    if args.role == "admin":
        print(_("Created admin %(name)s.", name=repr(args.name)))
    else:
        print(_("Created editor %(name)s.", name=repr(args.name)))
    if generated:
        print(_("One-time password: %(password)s (change it at first login)", password=password))
    return 0


async def _change_user(
    settings: Settings, name: str, change: Callable[[AsyncSession, User], Awaitable[str]]
) -> int:
    """Apply ``change`` to the user ``name`` in one transaction; print what it returns."""
    from node.db import make_engine, make_sessionmaker
    from node.users import UserError, find_user

    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            try:
                output = await change(session, await find_user(session, name))
            except UserError as exc:
                print(f"tocsin: {exc}", file=sys.stderr)
                return 2
    finally:
        await engine.dispose()
    print(output)
    return 0


async def cmd_admin_reset_password(args: argparse.Namespace, settings: Settings) -> int:
    from node.audit import COMMAND_LINE, audit
    from node.users import reset_password

    async def change(session: AsyncSession, user: User) -> str:
        password = await reset_password(session, user)
        audit(session, None, "user.password_reset", user.username, by=COMMAND_LINE)
        return _(
            "One-time password for %(name)s: %(password)s\n"
            "Log in at %(url)s/admin/login and choose a new one; "
            "every session of this account has ended.",
            name=repr(user.username),
            password=password,
            url=settings.base_url,
        )

    return await _change_user(settings, args.name, change)


async def cmd_admin_disable_2fa(args: argparse.Namespace, settings: Settings) -> int:
    from node.audit import COMMAND_LINE, audit
    from node.users import disable_totp

    async def change(session: AsyncSession, user: User) -> str:
        await disable_totp(session, user)
        audit(session, None, "user.totp_disable", user.username, by=COMMAND_LINE)
        return _(
            "Two-factor authentication is off for %(name)s, and every session "
            "of this account has ended: log in with the password alone.",
            name=repr(user.username),
        )

    return await _change_user(settings, args.name, change)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tocsin",
        description=_("A federated ActivityPub server for local organising."),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help=_("migrate, then serve the node with its worker in one process"))
    sub.add_parser("web", help=_("migrate, then serve HTTP only (production, with `worker`)"))
    sub.add_parser("worker", help=_("run the background worker (deliveries, inbox processing)"))
    sub.add_parser("migrate", help=_("create or upgrade the database schema"))
    admin = sub.add_parser("admin", help=_("manage admin and editor accounts"))
    admin_sub = admin.add_subparsers(dest="admin_command", required=True, metavar="ACTION")
    create = admin_sub.add_parser("create", help=_("add an account"))
    create.add_argument("name")
    create.add_argument("--role", choices=["admin", "editor"], default="admin")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help=_("read the password from standard input"),
    )
    reset = admin_sub.add_parser(
        "reset-password", help=_("give an account a one-time password and log it out everywhere")
    )
    reset.add_argument("name")
    disable = admin_sub.add_parser(
        "disable-2fa", help=_("turn off an account's two-factor authentication, log it out")
    )
    disable.add_argument("name")
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
    "admin reset-password": cmd_admin_reset_password,
    "admin disable-2fa": cmd_admin_disable_2fa,
}


# The commands that may make a node where there is none; the others need one.
CREATING_COMMANDS = frozenset({"run", "web", "worker", "migrate"})


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
    """``tocsin ARGV``, spoken in ``TOCSIN_LANGUAGE`` or the locale (node/cli_language.py)."""
    with i18n.speaking(command_language(os.environ)):
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging()
    key = command_key(args)
    try:
        settings = load_settings(need_node=key not in CREATING_COMMANDS)
    except NoNodeError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print("tocsin: " + _("configuration error: %(error)s", error=exc), file=sys.stderr)
        return 2
    if key in ("run", "web", "worker"):
        raise_open_files_limit()
    if key in ("run", "web") and settings.web_workers > 1:
        _fork_web_processes(settings)  # frozen as below, then forked
    elif key in ("run", "web", "worker"):
        _freeze_imports(key)
    try:
        with asyncio.Runner(loop_factory=_loop()) as runner:
            return runner.run(COMMANDS[key](args, settings))
    except KeyboardInterrupt:
        return 130


def _freeze_imports(key: str) -> None:
    """A long-running process imports what it runs, then ``gc.freeze()``s it: the
    modules are there for good, and a full collection then walks only what the
    process made since. Unfrozen, one full collection over `tocsin worker`'s
    imports took 175 ms (``bench.proccount``): in a one-process `tocsin run`,
    a pause of every request in flight."""
    import gc

    if key == "worker":
        from node.worker import run_standalone_worker  # noqa: F401
    else:
        import uvicorn  # noqa: F401

        from node.app import create_app  # noqa: F401
        from node.worker import run_worker  # noqa: F401
    gc.collect()
    gc.freeze()


def _fork_web_processes(settings: Settings) -> None:
    """The other ``TOCSIN_WEB_WORKERS``, forked once what they run is imported
    (``node.web_processes``): they share those pages with this process."""
    from node import web_processes

    if web_processes.SOCKET_FD in os.environ:  # a restarted one: it serves alone
        return
    import uvicorn  # noqa: F401 - imported before the fork, shared by the processes

    from node.app import create_app  # noqa: F401
    from node.worker import run_worker  # noqa: F401

    def serve(listener: socket.socket) -> int:
        with listener, asyncio.Runner(loop_factory=_loop()) as runner:
            runner.run(_serve(settings, listener, with_worker=False, siblings=0))
        return 0

    web_processes.fork_web_processes(settings.web_workers - 1, serve)


if __name__ == "__main__":
    sys.exit(main())
