"""The Cloud: the self-hosted control plane API (DESIGN §8).

Tokens, node registration and groups, node configuration (mode rules, IP lists),
idempotent hits ingest and attacks grouped from hits, over SQLAlchemy 2 (SQLite by
default, PostgreSQL by URL) with Alembic migrations run at start-up. See docs/cloud.md.

The CLI builds its parser from the option tables on every run, so only those (and the
settings model) load eagerly; FastAPI and SQLAlchemy load when something else is asked for.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from wallarm_sidecar.cloud._settings import CLOUD_OPTIONS, DATABASE_OPTIONS, CloudSettings

if TYPE_CHECKING:
    from wallarm_sidecar.cloud._api import ATTACK_WINDOW, create_app
    from wallarm_sidecar.cloud._db import Database, database_url
    from wallarm_sidecar.cloud._server import (
        CloudError,
        bootstrap_admin,
        mint_token,
        open_database,
        run_cloud,
    )
    from wallarm_sidecar.cloud._tokens import DEFAULT_GROUP, TokenUsage

_LAZY = {
    "ATTACK_WINDOW": "_api",
    "create_app": "_api",
    "Database": "_db",
    "database_url": "_db",
    "CloudError": "_server",
    "bootstrap_admin": "_server",
    "mint_token": "_server",
    "open_database": "_server",
    "run_cloud": "_server",
    "DEFAULT_GROUP": "_tokens",
    "TokenUsage": "_tokens",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ATTACK_WINDOW",
    "CLOUD_OPTIONS",
    "DATABASE_OPTIONS",
    "DEFAULT_GROUP",
    "CloudError",
    "CloudSettings",
    "Database",
    "TokenUsage",
    "bootstrap_admin",
    "create_app",
    "database_url",
    "mint_token",
    "open_database",
    "run_cloud",
]
