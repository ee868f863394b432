"""Shared block lists: where each block came from, and subscriptions.

``domain_blocks`` gains the Mastodon severity, a public reason (the private
``reason`` stays for admins only) and ``source``: ``local``, ``csv:<file>`` or
the actor URL of a subscribed block list. ``blocklist_subscriptions`` holds
the trusted nodes whose lists are followed, with their next refresh time;
``block_overrides`` remembers a local unblock of a subscribed entry, so that
the next refresh does not bring it back.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
COLUMNS = ("severity", "public_reason", "source")


def upgrade() -> None:
    # plain ADD COLUMN: a SQLite batch re-creation would drop the table's triggers
    op.add_column(
        "domain_blocks",
        sa.Column("severity", sa.String(16), nullable=False, server_default="suspend"),
    )
    op.add_column(
        "domain_blocks", sa.Column("public_reason", sa.Text(), nullable=False, server_default="")
    )
    op.add_column(
        "domain_blocks",
        sa.Column("source", sa.String(2048), nullable=False, server_default="local"),
    )
    op.create_index("ix_domain_blocks_source", "domain_blocks", ["source"])
    op.create_table(
        "blocklist_subscriptions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("actor_uri", sa.String(2048), nullable=False, unique=True),
        sa.Column("collection_url", sa.String(2048), nullable=False),
        sa.Column("next_refresh_at", TS, nullable=False, index=True),
        sa.Column("last_refreshed_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "block_overrides",
        sa.Column("domain", sa.String(255), primary_key=True),
        sa.Column("source", sa.String(2048), primary_key=True),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("block_overrides")
    op.drop_table("blocklist_subscriptions")
    op.drop_index("ix_domain_blocks_source", table_name="domain_blocks")
    with op.batch_alter_table("domain_blocks") as batch:
        for column in COLUMNS:
            batch.drop_column(column)
