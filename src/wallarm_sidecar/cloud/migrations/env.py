"""Alembic environment.

Online (start-up): `wallarm_sidecar.cloud._db.Database.migrate` passes a connection in
`config.attributes["connection"]`. Offline (`sql=True`, the SQL a DBA would review):
the dialect comes from `sqlalchemy.url`; tests use it to render PostgreSQL's DDL.
"""

from __future__ import annotations

from alembic import context

from wallarm_sidecar.cloud._models import Base

if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=Base.metadata,
        literal_binds=True,
    )
else:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
with context.begin_transaction():
    context.run_migrations()
