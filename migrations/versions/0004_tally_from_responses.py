"""Callout tallies are counted from the responses: the "totals changed" flag goes.

Every vote used to bump the callout's counters and set ``tally_dirty``, so a
storm of votes queued on that one row. Now a vote only inserts its response;
the counters hold the totals last published.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callouts") as batch:
        batch.drop_column("tally_dirty")


def downgrade() -> None:
    with op.batch_alter_table("callouts") as batch:
        batch.add_column(
            sa.Column("tally_dirty", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("callouts") as batch:
        batch.alter_column("tally_dirty", server_default=None)
