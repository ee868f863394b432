"""Accounts of the people who run the node (admins and editors)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from node.i18n import gettext as _
from node.models import LoginSession, RecoveryCode, User

ROLES = ("admin", "editor")
USERNAME_RE = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,62}$")
MIN_PASSWORD = 10
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_RECOVERY_LENGTH = 10  # 31**10: about 50 bits each
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
        raise UserError(
            _("the password must be at least %(count)s characters long", count=MIN_PASSWORD)
        )


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
            _(
                "a username is 1-63 lower-case letters, digits, '_', '.' or '-', "
                "not starting with '.' or '-'"
            )
        )
    if role not in ROLES:
        raise UserError(_("role must be one of %(roles)s", roles=", ".join(ROLES)))
    validate_new_password(password)
    if await session.scalar(select(User.id).where(User.username == username)) is not None:
        raise UserError(_("a user named %(name)s already exists", name=repr(username)))
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


# -- two-factor recovery codes ----------------------------------------------------------
#
# Codes are hashed with HMAC-SHA256 keyed by a random per-code salt, not Argon2.
# A slow hash protects what people choose (passwords, guessable); these codes are
# drawn at random with about 50 bits each, so even a fast hash leaves a stolen
# table with ~2**50 guesses per code, beyond reach, while checking ten Argon2
# hashes would cost seconds of CPU at every recovery login. Guessing online is
# bounded by the same throttle as wrong two-factor codes.


def normal_recovery_code(code: str) -> str:
    """As typed: case, spaces and dashes do not matter."""
    return "".join(code.split()).replace("-", "").lower()


def _recovery_digest(salt: str, code: str) -> str:
    key = bytes.fromhex(salt)
    return hmac.new(key, normal_recovery_code(code).encode(), hashlib.sha256).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    plain = normal_recovery_code(code)
    return len(plain) == _RECOVERY_LENGTH and all(c in _RECOVERY_ALPHABET for c in plain)


async def new_recovery_codes(session: AsyncSession, user_id: int) -> list[str]:
    """Replace the user's recovery codes with ten new ones; the plain codes are
    returned to be shown once (``xxxxx-xxxxx``) and only their hashes are kept."""
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = []
    for _code in range(RECOVERY_CODES):
        plain = "".join(secrets.choice(_RECOVERY_ALPHABET) for _char in range(_RECOVERY_LENGTH))
        salt = secrets.token_hex(16)
        session.add(RecoveryCode(user_id=user_id, salt=salt, digest=_recovery_digest(salt, plain)))
        codes.append(f"{plain[:5]}-{plain[5:]}")
    await session.flush()
    return codes


async def count_recovery_codes(session: AsyncSession, user_id: int) -> int:
    query = select(func.count(RecoveryCode.id)).where(RecoveryCode.user_id == user_id)
    return int(await session.scalar(query) or 0)


async def use_recovery_code(session: AsyncSession, user_id: int, code: str) -> int | None:
    """Spend ``code``: the number of codes left, or None when it is not one of the
    user's unused codes. The row is deleted by id and the delete must hit it, so
    two logins racing with the same code cannot both succeed."""
    if not looks_like_recovery_code(code):
        return None
    rows = await session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id))
    for row in rows.all():
        if hmac.compare_digest(row.digest, _recovery_digest(row.salt, code)):
            spent = await session.execute(delete(RecoveryCode).where(RecoveryCode.id == row.id))
            if getattr(spent, "rowcount", 0) != 1:
                return None
            return await count_recovery_codes(session, user_id)
    return None


async def drop_recovery_codes(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))


async def find_user(session: AsyncSession, username: str) -> User:
    user = await session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise UserError(_("there is no user named %(name)s", name=repr(username)))
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
        raise UserError(
            _("%(name)s does not use two-factor authentication", name=repr(user.username))
        )
    user.totp_secret = None
    user.totp_last_step = 0
    await drop_recovery_codes(session, user.id)
    await end_user_sessions(session, user)
