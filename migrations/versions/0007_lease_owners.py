"""Leases name their owner: a process that dies gives its claims up in seconds.

Received activities and deliveries get ``locked_by``, the name of the process
holding their lease (``node.leases``), and ``workers`` records each running
process with a heartbeat, so that its successor on the same host can tell
which claims were held by a process that is gone, and free them at start.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
LEASED = ("inbound_activities", "deliveries")


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("heartbeat_at", TS, nullable=False),
    )
    for table in LEASED:
        op.add_column(table, sa.Column("locked_by", sa.String(255), nullable=True))
        op.create_index(f"ix_{table}_locked_by", table, ["locked_by"])


def downgrade() -> None:
    for table in LEASED:
        op.drop_index(f"ix_{table}_locked_by", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("locked_by")
    op.drop_table("workers")
