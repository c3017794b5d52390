"""The database: an engine for a SQLite file or a PostgreSQL URL, migrated at start-up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_FILE = "cloud.sqlite3"


def database_url(data_dir: Path, url: str | None) -> str:
    """`--database-url` if given, else the SQLite file in `--data-dir`.

    A bare `postgresql://` (or `postgres://`) URL gets the pure-Python pg8000 driver
    (the `postgres` extra), the one the Cloud is tested with.
    """
    if not url:
        return f"sqlite:///{(data_dir / SQLITE_FILE).resolve()}"
    scheme, separator, rest = url.partition("://")
    if separator and scheme in ("postgresql", "postgres"):
        return f"postgresql+pg8000://{rest}"
    return url


class Database:
    """An engine, its sessions, and (SQLite only) one writer at a time.

    SQLite serialises writers anyway; taking the lock in-process instead of letting
    transactions race for the file lock avoids "database is locked" under concurrent
    ingest. PostgreSQL needs no such lock: uniqueness is enforced by the database.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        options: dict[str, Any] = {}
        if self.is_sqlite:
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            options["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **options)
        event.listen(self.engine, "before_cursor_execute", _storable_parameters, retval=True)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock = threading.Lock() if self.is_sqlite else None

    def migrate(self) -> None:
        """Bring the schema to the newest revision (idempotent)."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self._writing(), self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session in a transaction, committed on success, rolled back on error."""
        with self._writing(), self._sessions() as session, session.begin():
            yield session

    def _writing(self) -> threading.Lock | nullcontext[None]:
        return self._write_lock if self._write_lock is not None else nullcontext()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
    # Python's sqlite3 (before 3.12's autocommit) starts transactions itself, late, and
    # not for SAVEPOINT: a savepoint then became the outer transaction and each RELEASE
    # committed (one commit per hit, and a batch not atomic). SQLAlchemy's BEGIN instead.
    connection.isolation_level = None


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def storable(value: str) -> str:
    """`value` as both databases store it: NUL and lone surrogates become U+FFFD.

    PostgreSQL's text holds no NUL character and neither database takes a string that is
    not valid UTF-8; hostile (or just binary) input must not turn into a 500.
    """
    if not _unstorable(value):
        return value
    if not value.isascii():
        value = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value)
    return value.replace("\x00", "\ufffd")


def _unstorable(value: object) -> bool:
    if not isinstance(value, str):
        return False
    if "\x00" in value:
        return True
    if value.isascii():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _storable_parameters(
    _connection: Any,
    _cursor: Any,
    statement: str,
    parameters: Any,
    _context: Any,
    executemany: bool,
) -> tuple[str, Any]:
    """Every string bound to a statement made storable (filters alike, so they still match)."""
    if executemany and isinstance(parameters, list | tuple):
        return statement, type(parameters)(_storable_row(row) for row in parameters)
    return statement, _storable_row(parameters)


def _storable_row(row: Any) -> Any:
    def fix(value: Any) -> Any:
        return storable(value) if isinstance(value, str) else value

    if isinstance(row, dict):
        if any(_unstorable(value) for value in row.values()):
            return {key: fix(value) for key, value in row.items()}
    elif isinstance(row, list | tuple) and any(_unstorable(value) for value in row):
        return type(row)(fix(value) for value in row)
    return row
