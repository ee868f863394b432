"""The audit log: who changed what, for the node's admins."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from node.models import AuditEntry, User


def audit(session: AsyncSession, user: User | None, action: str, target: str = "") -> None:
    """Record an action in the caller's transaction (it lands with the change)."""
    session.add(
        AuditEntry(
            user_id=user.id if user else None,
            username=user.username if user else "(system)",
            action=action,
            target=target[:2000],
        )
    )
