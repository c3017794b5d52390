"""Alembic migrations of the Cloud's database, run at start-up by `migrate`."""
