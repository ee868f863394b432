"""Initial schema: actors, keys, follows, activities, delivery queue, users.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
URL = sa.String(2048)


def _id() -> sa.Column:
    return sa.Column("id", ID, primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "local_actors",
        _id(),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("region", sa.String(200), nullable=False),
        sa.Column("manually_approves_followers", sa.Boolean(), nullable=False),
        sa.Column("private_key_pem", sa.Text(), nullable=False),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "remote_actors",
        _id(),
        sa.Column("uri", URL, nullable=False, unique=True),
        sa.Column("domain", sa.String(255), nullable=False, index=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("preferred_username", sa.String(128), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("url", URL, nullable=True),
        sa.Column("inbox", URL, nullable=False),
        sa.Column("shared_inbox", URL, nullable=True),
        sa.Column("raw", JSON, nullable=False),
        sa.Column("fetched_at", TS, nullable=False),
    )
    op.create_table(
        "remote_keys",
        sa.Column("key_id", URL, primary_key=True),
        sa.Column("owner_uri", URL, nullable=False, index=True),
        sa.Column("public_key_pem", sa.Text(), nullable=False),
        sa.Column("fetched_at", TS, nullable=False),
    )
    for table in ("followers", "followings"):
        op.create_table(
            table,
            _id(),
            sa.Column(
                "local_actor_id",
                ID,
                sa.ForeignKey("local_actors.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column(
                "remote_actor_id",
                ID,
                sa.ForeignKey("remote_actors.id", ondelete="CASCADE"),
                nullable=False,
                index=True,
            ),
            sa.Column("follow_uri", URL, nullable=False, unique=table == "followings"),
            *([sa.Column("follow_activity", JSON, nullable=False)] if table == "followers" else []),
            sa.Column("state", sa.String(16), nullable=False),
            sa.Column("created_at", TS, nullable=False),
            sa.Column("accepted_at", TS, nullable=True),
            sa.UniqueConstraint("local_actor_id", "remote_actor_id"),
        )
    op.create_table(
        "inbound_activities",
        _id(),
        sa.Column("uri", URL, nullable=False, unique=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("actor_uri", URL, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("processed_at", TS, nullable=True),
        sa.Index("ix_inbound_pending", "state", "id"),
    )
    op.create_table(
        "outbound_activities",
        _id(),
        sa.Column("uri", URL, nullable=False, unique=True),
        sa.Column(
            "local_actor_id",
            ID,
            sa.ForeignKey("local_actors.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("object_uri", URL, nullable=True, index=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Index("ix_outbound_actor_public", "local_actor_id", "public", "id"),
    )
    op.create_table(
        "deliveries",
        _id(),
        sa.Column(
            "activity_id",
            ID,
            sa.ForeignKey("outbound_activities.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("inbox_url", URL, nullable=False),
        sa.Column("domain", sa.String(255), nullable=False, index=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.UniqueConstraint("activity_id", "inbox_url"),
        sa.Index("ix_deliveries_due", "state", "next_attempt_at"),
    )
    op.create_table(
        "domain_health",
        sa.Column("domain", sa.String(255), primary_key=True),
        sa.Column("failure_days", JSON, nullable=False),
        sa.Column("unreachable_since", TS, nullable=True),
        sa.Column("last_success_at", TS, nullable=True),
    )
    op.create_table(
        "domain_blocks",
        sa.Column("domain", sa.String(255), primary_key=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "users",
        _id(),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("totp_secret", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "users",
        "domain_blocks",
        "domain_health",
        "deliveries",
        "outbound_activities",
        "inbound_activities",
        "followings",
        "followers",
        "remote_keys",
        "remote_actors",
        "local_actors",
    ):
        op.drop_table(table)
