"""The Alembic revisions create exactly the models' schema, and migrating is idempotent."""

from __future__ import annotations

import io
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from wallarm_sidecar.cloud import Database, database_url
from wallarm_sidecar.cloud._db import MIGRATIONS
from wallarm_sidecar.cloud._models import Base


def test_migrations_match_the_models_and_run_twice(tmp_path: Path) -> None:
    database = Database(database_url(tmp_path, None))
    database.migrate()
    database.migrate()
    try:
        with database.engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_revision() == "0002"  # the newest (API inventory)
        tables = set(inspect(database.engine).get_table_names())
        assert {"tokens", "node_groups", "nodes", "hits", "attacks"} <= tables
        assert (tmp_path / "cloud.sqlite3").is_file()
    finally:
        database.dispose()


def test_the_hit_idempotency_key_is_unique_in_the_schema(tmp_path: Path) -> None:
    database = Database(database_url(tmp_path, None))
    database.migrate()
    try:
        constraints = inspect(database.engine).get_unique_constraints("hits")
        assert [c["column_names"] for c in constraints] == [["request_id", "point", "attack_type"]]
    finally:
        database.dispose()


def test_the_migration_renders_for_postgresql() -> None:
    # No PostgreSQL server here yet: render the DDL offline to catch SQLite-only constructs.
    config = Config(output_buffer=io.StringIO())
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", "postgresql://")
    command.upgrade(config, "head", sql=True)
    assert config.output_buffer is not None
    sql = config.output_buffer.getvalue()  # type: ignore[attr-defined]
    assert "CREATE TABLE hits" in sql
    assert "CONSTRAINT uq_hits_idempotency UNIQUE (request_id, point, attack_type)" in sql
    assert "derived_key BYTEA" in sql
    assert "SERIAL" in sql
