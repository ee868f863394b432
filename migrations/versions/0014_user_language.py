"""Each user's admin language.

``users.language`` is the language the admin speaks to that user (a tag of
``node/i18n.py`` ``LANGUAGES``, such as ``cy``); NULL means the node's default.

On SQLite this is a plain ``ADD COLUMN`` (a batch re-creation of ``users`` would
run the foreign-key actions of its children, see 0006); going down drops the
column with SQLite's own ``DROP COLUMN``, which leaves the table in place.

Revision ID: 0014
Revises: 0013 (0013 is written in parallel; the chain is renumbered at merge)
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("language", sa.String(8), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "language")
