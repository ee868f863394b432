"""Alembic environment.

Tocsin runs migrations in-process (``tocsin migrate`` and ``tocsin run``): the
caller hands over a live connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from node.schema import metadata

target_metadata = metadata
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `tocsin migrate`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
