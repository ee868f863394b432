"""Alerts by Web Push and e-mail: subscriptions and the queue of alerts to send.

``alert_subscriptions`` ids are never reused (AUTOINCREMENT on SQLite), like
the other tables whose ids may end up in links.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_subscriptions",
        sa.Column("id", ID, primary_key=True),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("endpoint", sa.String(2048), nullable=True, unique=True),
        sa.Column("p256dh", sa.String(128), nullable=True),
        sa.Column("auth", sa.String(64), nullable=True),
        sa.Column("email", sa.String(320), nullable=True, unique=True),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("confirm_hash", sa.String(64), nullable=True, unique=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("federated", sa.Boolean(), nullable=False),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", TS, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_alert_subscriptions_pending", "alert_subscriptions", ["confirmed", "created_at"]
    )
    op.create_table(
        "alert_jobs",
        sa.Column("id", ID, primary_key=True),
        sa.Column(
            "subscription_id",
            ID,
            sa.ForeignKey("alert_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("subject", sa.String(8), nullable=False),
        sa.Column("subject_id", ID, nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.UniqueConstraint("subscription_id", "subject", "subject_id", "change"),
    )
    op.create_index("ix_alert_jobs_due", "alert_jobs", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("alert_jobs")
    op.drop_table("alert_subscriptions")
