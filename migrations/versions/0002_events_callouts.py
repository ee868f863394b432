"""Events, callouts, callout responses, remote notes, tombstones.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)
URL = sa.String(2048)


def _federated() -> list[sa.Column]:
    return [
        sa.Column("uri", URL, nullable=False, unique=True),
        sa.Column("local", sa.Boolean(), nullable=False),
        sa.Column("actor_uri", URL, nullable=False),
        sa.Column("origin_domain", sa.String(255), nullable=False, index=True),
        sa.Column("relayed_by", URL, nullable=True),
        sa.Column("url", URL, nullable=False),
        sa.Column("raw", JSON, nullable=True),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    ]


def _placed() -> list[sa.Column]:
    return [
        sa.Column("location_name", sa.String(300), nullable=False),
        sa.Column("location_address", sa.String(500), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("online_url", URL, nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        *_placed(),
        *_federated(),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("description_md", sa.Text(), nullable=False),
        sa.Column("description_html", sa.Text(), nullable=False),
        sa.Column("summary_text", sa.Text(), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Index("ix_events_ends_at", "ends_at"),
        sa.Index("ix_events_starts_at", "starts_at"),
    )
    op.create_table(
        "callouts",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        *_placed(),
        *_federated(),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("needed", sa.Text(), nullable=False),
        sa.Column("people_needed", sa.Integer(), nullable=True),
        sa.Column("contact", sa.String(500), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("content_html", sa.Text(), nullable=False),
        sa.Column("come_count", sa.Integer(), nullable=False),
        sa.Column("help_count", sa.Integer(), nullable=False),
        sa.Column("tally_dirty", sa.Boolean(), nullable=False),
        sa.Column("tally_published_at", TS, nullable=True),
        sa.Index("ix_callouts_status_ends_at", "status", "ends_at"),
    )
    op.create_table(
        "callout_responses",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column(
            "callout_id", ID, sa.ForeignKey("callouts.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("actor_uri", URL, nullable=False),
        sa.Column("option", sa.String(16), nullable=False),
        sa.Column("activity_uri", URL, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("callout_id", "actor_uri"),
    )
    op.create_table(
        "remote_notes",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("uri", URL, nullable=False, unique=True),
        sa.Column("actor_uri", URL, nullable=False, index=True),
        sa.Column("in_reply_to", URL, nullable=True),
        sa.Column("content_html", sa.Text(), nullable=False),
        sa.Column("raw", JSON, nullable=False),
        sa.Column("published_at", TS, nullable=False),
    )
    op.create_table(
        "tombstones",
        sa.Column("uri", URL, primary_key=True),
        sa.Column("former_type", sa.String(32), nullable=False),
        sa.Column("deleted_at", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("tombstones", "remote_notes", "callout_responses", "callouts", "events"):
        op.drop_table(table)
