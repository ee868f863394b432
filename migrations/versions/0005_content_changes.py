"""Change counters for the public reads: triggers count every write the pages show.

Web processes keep rendered pages, feeds and the actor document in memory. The
worker (another process) stores remote events, and an editor may save in another
web process, so no process can tell the others "this changed". Instead, triggers
on every table the public reads raise a counter in ``content_changes`` in the
writing transaction itself; a reader reads the sums (one tiny query) and serves
what it kept only while they are unchanged. The counters are spread over 16
rows on PostgreSQL (``pg_backend_pid() % 16``) so concurrent writers do not
queue on one row lock; SQLite has one writer at a time and uses row 0.

``longest_event`` is the longest event ever stored (in seconds, never lowered):
an event that has not ended started at most that long ago, which bounds the
calendar's index scan.

Note for later migrations: on SQLite, ``batch_alter_table`` copies a table and
drops its triggers; re-create them (``create_sqlite_triggers``) after it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SLOTS = 16
WATCHED = ("callouts", "tombstones", "remote_actors", "followings", "local_actors")
VERBS = {"INSERT": "inserted", "UPDATE": "updated", "DELETE": "deleted"}

# Each transaction raises the counters once (a transaction-local setting remembers
# it), not once per statement: a bulk load of thousands of rows would otherwise
# update one row thousands of times in one transaction, which PostgreSQL makes
# slower with each update. A rolled-back savepoint undoes the setting with the update.
PG_FUNCTIONS = [
    """
    CREATE FUNCTION tocsin_content_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        own boolean := TG_TABLE_NAME = 'local_actors';
    BEGIN
        IF current_setting('tocsin.content_counted', true) IS DISTINCT FROM 'yes'
           OR (own AND current_setting('tocsin.actors_counted', true) IS DISTINCT FROM 'yes')
        THEN
            UPDATE content_changes
               SET content = content + 1,
                   actors = actors + CASE WHEN own THEN 1 ELSE 0 END
             WHERE slot = pg_backend_pid() % 16;
            PERFORM set_config('tocsin.content_counted', 'yes', true);
            IF own THEN
                PERFORM set_config('tocsin.actors_counted', 'yes', true);
            END IF;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION tocsin_events_written() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        counted bigint := COALESCE(
            NULLIF(current_setting('tocsin.longest_counted', true), '')::bigint, -1);
        longest bigint;
    BEGIN
        SELECT GREATEST(COALESCE(max(ceil(extract(epoch FROM ends_at - starts_at))), 0), 0)
          INTO longest FROM written;
        IF counted < 0 OR longest > counted THEN
            UPDATE content_changes
               SET content = content + 1,
                   longest_event = GREATEST(longest_event, longest)
             WHERE slot = pg_backend_pid() % 16;
            PERFORM set_config('tocsin.longest_counted', GREATEST(longest, counted)::text, true);
        END IF;
        RETURN NULL;
    END $$
    """,
]

_SQLITE_SPAN = "CAST((julianday(NEW.ends_at) - julianday(NEW.starts_at)) * 86400 AS INTEGER) + 1"


def _pg_triggers() -> list[str]:
    statements = [
        f"CREATE TRIGGER tocsin_events_{VERBS[verb]} AFTER {verb} ON events "
        "REFERENCING NEW TABLE AS written FOR EACH STATEMENT "
        "EXECUTE FUNCTION tocsin_events_written()"
        for verb in ("INSERT", "UPDATE")
    ]
    statements.append(
        "CREATE TRIGGER tocsin_events_deleted AFTER DELETE OR TRUNCATE ON events "
        "FOR EACH STATEMENT EXECUTE FUNCTION tocsin_content_changed()"
    )
    statements += [
        f"CREATE TRIGGER tocsin_{table}_changed "
        f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION tocsin_content_changed()"
        for table in WATCHED
    ]
    return statements


def _sqlite_trigger(table: str, verb: str, assignments: str) -> str:
    return (
        f"CREATE TRIGGER tocsin_{table}_{VERBS[verb]} AFTER {verb} ON {table} BEGIN "  # noqa: S608
        f"UPDATE content_changes SET {assignments} WHERE slot = 0; END"
    )


def _sqlite_triggers() -> list[str]:
    longer = f"content = content + 1, longest_event = max(longest_event, {_SQLITE_SPAN})"
    statements = [_sqlite_trigger("events", verb, longer) for verb in ("INSERT", "UPDATE")]
    statements.append(_sqlite_trigger("events", "DELETE", "content = content + 1"))
    for table in WATCHED:
        bump = "content = content + 1"
        if table == "local_actors":
            bump += ", actors = actors + 1"
        statements += [
            _sqlite_trigger(table, verb, bump) for verb in ("INSERT", "UPDATE", "DELETE")
        ]
    return statements


def create_sqlite_triggers() -> None:
    for statement in _sqlite_triggers():
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "content_changes",
        sa.Column("slot", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("content", sa.BigInteger(), nullable=False),
        sa.Column("actors", sa.BigInteger(), nullable=False),
        sa.Column("longest_event", sa.BigInteger(), nullable=False),
    )
    counters = sa.table(
        "content_changes",
        sa.column("slot", sa.Integer()),
        sa.column("content", sa.BigInteger()),
        sa.column("actors", sa.BigInteger()),
        sa.column("longest_event", sa.BigInteger()),
    )
    op.bulk_insert(
        counters,
        [{"slot": n, "content": 0, "actors": 0, "longest_event": 0} for n in range(SLOTS)],
    )
    if op.get_bind().dialect.name == "postgresql":
        span = "ceil(extract(epoch FROM ends_at - starts_at))::bigint"
        for statement in [*PG_FUNCTIONS, *_pg_triggers()]:
            op.execute(statement)
    else:
        span = "CAST((julianday(ends_at) - julianday(starts_at)) * 86400 AS INTEGER) + 1"
        create_sqlite_triggers()
    op.execute(
        "UPDATE content_changes SET longest_event = "  # noqa: S608 - constants only
        f"COALESCE((SELECT max({span}) FROM events), 0) WHERE slot = 0"
    )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    triggers = [("events", f"tocsin_events_{past}") for past in VERBS.values()]
    if postgres:
        triggers += [(table, f"tocsin_{table}_changed") for table in WATCHED]
    else:
        triggers += [
            (table, f"tocsin_{table}_{past}") for table in WATCHED for past in VERBS.values()
        ]
    for table, name in triggers:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgres else ""))
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS tocsin_events_written()")
        op.execute("DROP FUNCTION IF EXISTS tocsin_content_changed()")
    op.drop_table("content_changes")
