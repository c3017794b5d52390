"""Start-up: migrate, make the first admin token, serve the API with uvicorn."""

from __future__ import annotations

import sys
from typing import TextIO

from sqlalchemy import make_url, select
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from wallarm_sidecar.cloud._api import create_app
from wallarm_sidecar.cloud._db import Database, database_url
from wallarm_sidecar.cloud._models import Token
from wallarm_sidecar.cloud._settings import CloudSettings
from wallarm_sidecar.cloud._tokens import TokenUsage, create_token, hash_secret


class CloudError(Exception):
    """The Cloud cannot start: the message is one line meant for the operator."""


def open_database(settings: CloudSettings) -> Database:
    """The migrated database of these settings (the data directory is created)."""
    url = database_url(settings.data_dir, settings.database_url)
    try:
        if settings.database_url is None:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        database = Database(url)
        database.migrate()
    except (OSError, ImportError, ArgumentError, SQLAlchemyError) as error:
        shown = make_url(url).render_as_string(hide_password=True) if "://" in url else url
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise CloudError(f"cannot open the database {shown}: {first_line}") from None
    return database


def bootstrap_admin(database: Database, admin_token: str | None, out: TextIO) -> None:
    """The first admin token: the given one (stored once, by hash), or a new one printed once."""
    with database.write() as session:
        if admin_token is not None:
            known = session.scalar(
                select(Token.id).where(Token.token_hash == hash_secret(admin_token))
            )
            if known is None:
                create_token(
                    session, usage=TokenUsage.DEPLOYMENT, name="admin", plaintext=admin_token
                )
            return
        if session.scalar(select(Token.id).limit(1)) is not None:
            return
        _, secret = create_token(session, usage=TokenUsage.DEPLOYMENT, name="admin")
    print(
        "wallarm-sidecar cloud: created the admin token (deployment usage); it is shown once, "
        "only its hash is stored:",
        file=out,
    )
    print(f"WALLARM_CLOUD_ADMIN_TOKEN={secret}", file=out, flush=True)


def mint_token(settings: CloudSettings, *, usage: TokenUsage, group: str | None, name: str) -> str:
    """`cloud token create`: a new token in the database, returned in plaintext once."""
    database = open_database(settings)
    try:
        with database.write() as session:
            _, secret = create_token(session, usage=usage, group=group, name=name)
        return secret
    finally:
        database.dispose()


def run_cloud(settings: CloudSettings) -> int:
    import uvicorn  # noqa: PLC0415 - only the server needs it

    database = open_database(settings)
    bootstrap_admin(database, settings.admin_token, sys.stdout)
    host, port = settings.listen
    scheme = "https" if settings.tls_cert_file else "http"
    print(
        f"wallarm-sidecar cloud: serving the API at {scheme}://{host}:{port}/api/v1 "
        f"and the Console at {scheme}://{host}:{port}/ "
        f"(database {database.engine.url.render_as_string(hide_password=True)})",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        create_app(database),
        host=host,
        port=port,
        ssl_certfile=str(settings.tls_cert_file) if settings.tls_cert_file else None,
        ssl_keyfile=str(settings.tls_key_file) if settings.tls_key_file else None,
        log_level="warning",
        access_log=False,
    )
    database.dispose()
    return 0
