"""What every process does before serving: migrate, make the actors, and on a
brand-new node, the first admin account with a one-time password.

``tocsin run`` makes the first admin only once its port is bound
(``create_first_admin``): a start that fails on a taken port spends no password.
"""

from __future__ import annotations

from argon2 import PasswordHasher

from federation.keys import generate_key_pair
from node.alerts.vapid import ensure_vapid_key
from node.config import Settings
from node.db import make_engine, make_sessionmaker
from node.identity import KeyPairSource, ensure_local_actors
from node.migrate import migrate
from node.users import count_users, create_user, generate_password

FIRST_ADMIN = "admin"


async def prepare(
    settings: Settings,
    *,
    first_admin: bool,
    new_key_pair: KeyPairSource = generate_key_pair,
    password_hasher: PasswordHasher | None = None,
) -> str | None:
    """Migrate and bootstrap; returns the first admin's one-time password if one was made.

    ``new_key_pair`` and ``password_hasher`` are for tests: key pairs made once
    per test session, and cheap Argon2 parameters for the first admin. Left
    out, new actors get fresh keys and the admin the library's parameters.
    """
    engine = make_engine(settings.database_url)
    try:
        await migrate(engine)
        async with make_sessionmaker(engine)() as session:
            await ensure_local_actors(session, settings.node_name, new_key_pair=new_key_pair)
            await ensure_vapid_key(session)  # the Web Push key pair, made once
            await session.commit()
    finally:
        await engine.dispose()
    if not first_admin:
        return None
    return await create_first_admin(settings, password_hasher=password_hasher)


async def create_first_admin(
    settings: Settings, *, password_hasher: PasswordHasher | None = None
) -> str | None:
    """On a node with no account yet, the admin ``FIRST_ADMIN`` with a one-time
    password (returned, to be shown once); None when the node has accounts."""
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            if await count_users(session) > 0:
                return None
            password = generate_password()
            await create_user(
                session, FIRST_ADMIN, "admin", password, must_change=True, hasher=password_hasher
            )
            await session.commit()
            return password
    finally:
        await engine.dispose()
