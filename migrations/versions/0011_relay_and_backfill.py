"""Backfill on follow, and relaying urgent callouts.

``followings`` gains ``backfill_due_at`` and ``backfill_attempts`` (the durable
backfill job of ``node/backfill.py``: set when the Accept arrives, cleared when
done) and ``relay_urgent`` (this node Announces the followed network's urgent
callouts to its own followers, ``node/relay.py``). ``relayed_callouts`` records
each callout relayed, once per node, and the last state announced.

Columns are added in place (no table copy): a copy would drop the triggers of
migration 0005 on SQLite.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "followings",
        sa.Column("relay_urgent", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("followings", sa.Column("backfill_due_at", TS, nullable=True))
    op.add_column(
        "followings",
        sa.Column("backfill_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "relayed_callouts",
        sa.Column("id", ID, primary_key=True),
        sa.Column("object_uri", sa.String(2048), nullable=False, unique=True),
        sa.Column("origin_domain", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("relayed_callouts")
    for column in ("backfill_attempts", "backfill_due_at", "relay_urgent"):
        op.drop_column("followings", column)
