"""Accounts of the people who run the node (admins and editors)."""

from __future__ import annotations

import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.models import User

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
