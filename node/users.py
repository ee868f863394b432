"""Accounts of the people who run the node (admins and editors)."""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.models import LoginSession, User

ROLES = ("admin", "editor")
USERNAME_RE = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,62}$")
MIN_PASSWORD = 10
_hasher = PasswordHasher()  # Argon2id with the library's current parameters


class UserError(ValueError):
    """A user could not be created or changed; the message says why."""


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def hash_password(password: str, hasher: PasswordHasher | None = None) -> str:
    """Hash with the production parameters, or ``hasher``'s: only tests pass one
    (cheaper parameters). Whatever made a hash, ``check_password`` verifies it:
    Argon2 records its parameters in the hash."""
    return (hasher or _hasher).hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def validate_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must be at least {MIN_PASSWORD} characters long")


async def create_user(
    session: AsyncSession,
    username: str,
    role: str,
    password: str,
    *,
    must_change: bool,
    hasher: PasswordHasher | None = None,
) -> User:
    """``hasher``: for tests only, see ``hash_password``."""
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise UserError(
            "a username is 1-63 lower-case letters, digits, '_', '.' or '-', "
            "not starting with '.' or '-'"
        )
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    validate_new_password(password)
    if await session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(f"a user named {username!r} already exists")
    user = User(
        username=username,
        password_hash=hash_password(password, hasher),
        role=role,
        must_change_password=must_change,
    )
    session.add(user)
    await session.flush()
    return user


async def count_users(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count(User.id))) or 0)


async def find_user(session: AsyncSession, username: str) -> User:
    user = await session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise UserError(f"there is no user named {username!r}")
    return user


async def end_user_sessions(session: AsyncSession, user: User) -> None:
    """Log ``user`` out everywhere: the session rows go, copied cookies with them."""
    await session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


async def reset_password(
    session: AsyncSession, user: User, *, hasher: PasswordHasher | None = None
) -> str:
    """A new one-time password (returned, to be shown once), to be changed at the
    next login; the user's sessions end. ``hasher``: see ``hash_password``."""
    password = generate_password()
    user.password_hash = hash_password(password, hasher)
    user.must_change_password = True
    await end_user_sessions(session, user)
    return password


async def disable_totp(session: AsyncSession, user: User) -> None:
    """Turn off ``user``'s two-factor authentication and end their sessions."""
    if not user.totp_secret:
        raise UserError(f"{user.username!r} does not use two-factor authentication")
    user.totp_secret = None
    user.totp_last_step = 0
    await end_user_sessions(session, user)
