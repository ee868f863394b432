"""What every process does before serving: migrate, make the actors, and on a
brand-new node, the first admin account with a one-time password."""

from __future__ import annotations

from node.config import Settings
from node.db import make_engine, make_sessionmaker
from node.identity import ensure_local_actors
from node.migrate import migrate
from node.users import count_users, create_user, generate_password

FIRST_ADMIN = "admin"


async def prepare(settings: Settings, *, first_admin: bool) -> str | None:
    """Migrate and bootstrap; returns the first admin's one-time password if one was made."""
    engine = make_engine(settings.database_url)
    try:
        await migrate(engine)
        sessions = make_sessionmaker(engine)
        async with sessions() as session:
            await ensure_local_actors(session, settings.node_name)
            if not first_admin or await count_users(session) > 0:
                return None
            password = generate_password()
            await create_user(session, FIRST_ADMIN, "admin", password, must_change=True)
            await session.commit()
            return password
    finally:
        await engine.dispose()
