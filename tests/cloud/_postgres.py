"""A throwaway PostgreSQL server on loopback, for the Cloud's tests and bench.

Debian's server binaries (`/usr/lib/postgresql/<version>/bin`, package `postgresql`,
installed by `scripts/install-system-deps test`) make a cluster in a temporary directory
(`initdb`), serve it on a free loopback port with password (SCRAM) authentication
(`pg_ctl start`), and `stop()` removes it. PostgreSQL refuses to run as root, so under
root the cluster belongs to the `postgres` user the package creates. Durability is
switched off (`fsync=off`): the data is thrown away anyway.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

USER = "wallarm"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries here, or the cluster would not start."""


def server_binaries() -> Path:
    """The bin directory of the newest PostgreSQL installed (`$WALLARM_TEST_POSTGRES_BIN` wins)."""
    configured = os.environ.get("WALLARM_TEST_POSTGRES_BIN")
    candidates = [Path(configured)] if configured else []

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))

    candidates += sorted(
        (p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=version,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found (apt-get install postgresql, "
        "or set WALLARM_TEST_POSTGRES_BIN to the directory of initdb and pg_ctl)"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    root: Path
    bin_dir: Path
    port: int
    password: str
    run_as: dict[str, Any] = field(default_factory=dict)
    watchdog: subprocess.Popen[bytes] | None = None
    _names: count[int] = field(default_factory=lambda: count(1))

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of one database, with the pure-Python pg8000 driver."""
        return f"postgresql+pg8000://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> Any:
        from sqlalchemy import create_engine

        return create_engine(self.url(), isolation_level="AUTOCOMMIT", poolclass=_null_pool())

    def create_database(self) -> str:
        """A new empty database; its name."""
        name = f"cloud_{os.getpid()}_{next(self._names)}"
        from sqlalchemy import text

        engine = self._admin()
        try:
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
        finally:
            engine.dispose()
        return name

    def drop_database(self, name: str) -> None:
        from sqlalchemy import text

        engine = self._admin()
        try:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()

    @property
    def pg_ctl(self) -> list[str]:
        return [str(self.bin_dir / "pg_ctl"), "-D", str(self.root / "data")]

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.is_file() else ""

    def stop(self) -> None:
        """Stop the server at once and remove its cluster."""
        try:
            if (self.root / "data" / "postmaster.pid").exists():
                subprocess.run(
                    [*self.pg_ctl, "-m", "immediate", "-w", "stop"],
                    capture_output=True,
                    timeout=60,
                    cwd=self.root,
                    **self.run_as,
                )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            if self.watchdog is not None:
                self.watchdog.terminate()
                self.watchdog.wait(timeout=10)


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool


def start_postgres(tries: int = 3) -> PostgresServer:
    """A fresh cluster served on 127.0.0.1 (a free port); raise PostgresUnavailable."""
    bin_dir = server_binaries()
    # Under root the cluster belongs to `postgres`, who must reach it: /tmp, not $TMPDIR.
    base = "/tmp" if os.geteuid() == 0 and os.path.isdir("/tmp") else None
    root = Path(tempfile.mkdtemp(prefix="wallarm-postgres-", dir=base))
    run_as: dict[str, Any] = {}
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            raise PostgresUnavailable("running as root and there is no postgres user") from None
        os.chown(root, owner.pw_uid, owner.pw_gid)
        run_as = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
    password = secrets.token_hex(16)
    server = PostgresServer(root=root, bin_dir=bin_dir, port=0, password=password, run_as=run_as)
    try:
        password_file = root / "password"
        password_file.write_text(password + "\n")
        if run_as:
            os.chown(password_file, run_as["user"], run_as["group"])
        _run(
            server,
            "initdb",
            "-D",
            str(root / "data"),
            "-U",
            USER,
            f"--pwfile={password_file}",
            "--auth=scram-sha-256",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        password_file.unlink()
        for _ in range(tries):
            server.port = _free_port()
            options = " ".join(
                [
                    f"-p {server.port}",
                    "-c listen_addresses=127.0.0.1",
                    f"-c unix_socket_directories={root}",
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                    "-c max_connections=200",
                ]
            )
            started = subprocess.run(
                [
                    *server.pg_ctl,
                    "-l",
                    str(root / "server.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
                capture_output=True,
                text=True,
                timeout=90,
                cwd=root,
                **run_as,
            )
            if started.returncode == 0:
                server.watchdog = _watchdog(root)
                return server
        raise PostgresUnavailable(
            f"PostgreSQL did not start: {started.stderr.strip()} {server.log()[-2000:]}"
        )
    except BaseException:
        with contextlib.suppress(Exception):
            server.stop()
        raise


def _watchdog(root: Path) -> subprocess.Popen[bytes]:
    """A shell that outlives this process, to stop the server and remove its cluster should
    this process die without `stop()` (killed): no server is left behind."""
    script = (
        f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 2; done; "
        f'pid=$(head -n 1 "{root}/data/postmaster.pid" 2>/dev/null) && kill -QUIT "$pid"; '
        f'sleep 2; rm -rf "{root}"'
    )
    return subprocess.Popen(
        ["sh", "-c", script],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _run(server: PostgresServer, tool: str, *args: str) -> None:
    result = subprocess.run(
        [str(server.bin_dir / tool), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=server.root,
        **server.run_as,
    )
    if result.returncode != 0:
        raise PostgresUnavailable(f"{tool} failed ({result.returncode}): {result.stderr.strip()}")
