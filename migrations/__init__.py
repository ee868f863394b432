"""Alembic environment and versions: the only way Tocsin's schema changes."""
