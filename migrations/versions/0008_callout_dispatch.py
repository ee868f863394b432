"""Callouts run as a dispatch: states, confirmed and standby responders, a private address.

``callouts`` gains the public ``area`` and the never-published
``private_address``, the confirmed count it last published, when it reached a
final state (``ended_at``: the undo window of a close, and the start of the
retention of who answered) and when its responders were purged.
``callout_responses`` gains the dispatch ``role`` (``confirmed``, ``standby``,
``removed``; none for "I can help another way" or while the callout is being
checked). ``callout_messages`` records every direct message sent to a
responder, so that organisers see who was told what and nobody is told twice.

Columns are added and dropped in place (no table rebuild), so the triggers of
migration 0005 on ``callouts`` stay.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
URL = sa.String(2048)


def _callout_columns() -> list[sa.Column]:
    return [
        sa.Column("area", sa.String(300), nullable=False, server_default=""),
        sa.Column("private_address", sa.String(500), nullable=False, server_default=""),
        sa.Column("confirmed_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("ended_at", TS, nullable=True),
        sa.Column("responders_purged_at", TS, nullable=True),
    ]


def upgrade() -> None:
    for column in _callout_columns():
        op.add_column("callouts", column)
    op.add_column("callout_responses", sa.Column("role", sa.String(16), nullable=True))
    op.create_table(
        "callout_messages",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column(
            "callout_id", ID, sa.ForeignKey("callouts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("actor_uri", URL, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("activity_uri", URL, nullable=False),
        sa.Column("sent_at", TS, nullable=False),
        sa.UniqueConstraint("callout_id", "actor_uri", "kind"),
    )


def downgrade() -> None:
    op.drop_table("callout_messages")
    op.drop_column("callout_responses", "role")
    for column in reversed(_callout_columns()):
        op.drop_column("callouts", column.name)
