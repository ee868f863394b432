"""Ids are never reused; sessions live on the server.

SQLite hands the highest rowid out again after it is deleted unless the key is
``AUTOINCREMENT``, so a removed user's cookie could log in as the next account
and a new event could get a deleted event's URL (already a tombstone). The
tables whose ids appear in URLs, cookies or admin forms are re-created with
``AUTOINCREMENT`` (rows and ids kept), and the counter is seeded past every id
a local tombstone names. PostgreSQL sequences never go back; they are only
moved past the tombstones too.

Re-creating a SQLite table drops its triggers (migration 0005) and runs the
foreign-key actions of its children (``ON DELETE CASCADE`` / ``SET NULL``), so
both are saved first and put back after.

``sessions`` holds one row per logged-in browser (the SHA-256 of the random
token in its cookie): deleting rows ends sessions, which replaces the users'
``session_epoch``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
TABLES = ("users", "events", "callouts", "followers", "followings")
URL_KINDS = ("events", "callouts")  # whose ids are in the URLs of tombstones
# (child table, its key, its column pointing at the parent) per re-created parent
CHILDREN = {"users": ("audit_log", "user_id"), "callouts": ("callout_responses", "callout_id")}


def _origins(conn: Connection) -> set[str]:
    """The node's own origins, read from the ids it minted (first and newest)."""
    origins = set()
    for table, segment, local in (
        ("outbound_activities", "activities", "1 = 1"),
        ("events", "events", "local"),
        ("callouts", "callouts", "local"),
    ):
        for order in ("ASC", "DESC"):
            query = f"SELECT uri FROM {table} WHERE {local} ORDER BY id {order} LIMIT 1"  # noqa: S608
            uri = conn.scalar(sa.text(query))
            if uri and f"/{segment}/" in uri:
                origins.add(uri.rsplit(f"/{segment}/", 1)[0])
    return origins


def _highest_deleted(conn: Connection, kind: str) -> int:
    """The highest id in the URL of a deleted local item of ``kind``."""
    highest = 0
    for origin in _origins(conn):
        prefix = f"{origin}/{kind}/"
        rows = conn.execute(
            sa.text("SELECT uri FROM tombstones WHERE uri LIKE :p"), {"p": prefix + "%"}
        )
        for (uri,) in rows:
            tail = uri[len(prefix) :] if uri.startswith(prefix) else ""
            if tail.isdigit() and len(tail) < 16:
                highest = max(highest, int(tail))
    return highest


def _recreate_sqlite(conn: Connection, table: str) -> None:
    triggers = conn.scalars(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
        {"t": table},
    ).all()
    child = CHILDREN.get(table)
    if child:
        op.execute(f"CREATE TEMP TABLE _keep_{child[0]} AS SELECT * FROM {child[0]}")  # noqa: S608
    with op.batch_alter_table(
        table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ) as batch:
        if table == "users":
            batch.drop_column("session_epoch")
    for statement in triggers:
        op.execute(statement)
    if child:
        name, column = child
        op.execute(
            f"UPDATE {name} SET {column} = (SELECT k.{column} FROM _keep_{name} k "  # noqa: S608
            f"WHERE k.id = {name}.id) WHERE id IN (SELECT id FROM _keep_{name})"
        )
        op.execute(
            f"INSERT INTO {name} SELECT * FROM _keep_{name} "  # noqa: S608
            f"WHERE id NOT IN (SELECT id FROM {name})"
        )
        op.execute(f"DROP TABLE _keep_{name}")


def _seed_sqlite(conn: Connection, table: str, past: int) -> None:
    current = conn.scalar(sa.text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table})
    highest = conn.scalar(sa.text(f"SELECT max(id) FROM {table}"))  # noqa: S608
    seq = max(current or 0, highest or 0, past)
    conn.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
    if seq:
        conn.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :s)"),
            {"t": table, "s": seq},
        )


def _seed_postgres(conn: Connection, table: str, past: int) -> None:
    if past:
        conn.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence(:t, 'id'), "
                "GREATEST(nextval(pg_get_serial_sequence(:t, 'id')), :n))"
            ),
            {"t": table, "n": past},
        )


def upgrade() -> None:
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    deleted = {kind: _highest_deleted(conn, kind) for kind in URL_KINDS}
    if sqlite:
        for table in TABLES:
            _recreate_sqlite(conn, table)
            _seed_sqlite(conn, table, deleted.get(table, 0))
    else:
        op.drop_column("users", "session_epoch")
        for kind, past in deleted.items():
            _seed_postgres(conn, kind, past)
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "user_id", ID, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        ),
        sa.Column("stage", sa.String(8), nullable=False),
        sa.Column("code_failures", sa.Integer(), nullable=False),
        sa.Column("pending_totp", sa.String(64), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
    )


def downgrade() -> None:
    """Sessions go (everyone logs in again); ids stay never-reused, which is harmless."""
    op.drop_table("sessions")
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0")
        )
