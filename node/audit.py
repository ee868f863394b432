"""The audit log: who changed what, for the node's admins."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from node.models import AuditEntry, User

SYSTEM = "(system)"
COMMAND_LINE = "(command line)"  # whoever can run `tocsin` on the node's server


def audit(
    session: AsyncSession, user: User | None, action: str, target: str = "", *, by: str = SYSTEM
) -> None:
    """Record an action in the caller's transaction (it lands with the change).
    ``by`` names who did it when no user did (``COMMAND_LINE``, ``SYSTEM``)."""
    session.add(
        AuditEntry(
            user_id=user.id if user else None,
            username=user.username if user else by,
            action=action,
            target=target[:2000],
        )
    )
