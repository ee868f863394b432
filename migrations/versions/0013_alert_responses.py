"""Answering a callout from an alert: a response may belong to an alert subscription.

``callout_responses`` gains ``subscription_id`` (the alert subscription that
answered through its personal link; set to NULL when the subscription goes, so
the answer still counts but nobody can be messaged), and the optional ``name``
and ``reach`` (how the organisers may reach them) the person typed. Fediverse
answers leave all three empty. They are purged with the other responses.

SQLite cannot add a foreign key to a table in place: there the table is rebuilt
(``batch_alter_table``); ``callout_responses`` has no triggers to lose.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INDEX = "ix_callout_responses_subscription_id"
FK = "fk_callout_responses_subscription_id"


def upgrade() -> None:
    # SQLite: the table is rebuilt (it has no triggers), so the foreign key is a
    # table constraint that reflects with its ON DELETE like the others
    with op.batch_alter_table("callout_responses", recreate="auto") as batch:
        batch.add_column(sa.Column("subscription_id", ID, nullable=True))
        batch.add_column(sa.Column("name", sa.String(80), nullable=False, server_default=""))
        batch.add_column(sa.Column("reach", sa.String(200), nullable=False, server_default=""))
        batch.create_foreign_key(
            FK, "alert_subscriptions", ["subscription_id"], ["id"], ondelete="SET NULL"
        )
    op.create_index(INDEX, "callout_responses", ["subscription_id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="callout_responses")
    with op.batch_alter_table("callout_responses", recreate="auto") as batch:
        batch.drop_constraint(FK, type_="foreignkey")
        batch.drop_column("reach")
        batch.drop_column("name")
        batch.drop_column("subscription_id")
