"""nginx + ModSecurity v3 + OWASP CRS on loopback, and a raw-bytes replay client.

`ModSecurityServer` renders the templates in ``bench/modsec/`` into a temporary prefix,
starts nginx with ``-p prefix -c nginx.conf`` on a loopback port, and stops it on exit
(also after an error). `replay` sends one raw request on its own connection and reads
the response head: a request is *blocked* when it did not reach the backend (403 from
CRS, 400 from a ModSecurity body-parse rule or from nginx's own framing checks, or no
answer at all), *passed* when the backend's marker header came back.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Self

TEMPLATES: Final = Path(__file__).resolve().parent / "modsec"
NGINX: Final = "/usr/sbin/nginx"
MODULE_DIR: Final = "/usr/lib/nginx/modules"
CRS_LOAD: Final = "/usr/share/modsecurity-crs/owasp-crs.load"
CRS_SETUP: Final = "/etc/modsecurity/crs/crs-setup.conf"
UNICODE_MAPPING: Final = "/etc/nginx/unicode.mapping"
PORT_RANGE: Final = range(19100, 19200)

_RULE_ID = re.compile(r'\[id "(\d+)"\]')
_UNIQUE_ID = re.compile(r'\[unique_id "([0-9a-f]+)"\]')


class ModSecurityUnavailable(RuntimeError):
    """nginx, its ModSecurity module or the CRS package is missing, or nginx won't start."""


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What ModSecurity did with one request."""

    status: int  # 0: no response
    reached_backend: bool
    request_id: str = ""

    @property
    def blocked(self) -> bool:
        return not self.reached_backend


def missing_parts() -> list[str]:
    """The files this bench needs that are not installed."""
    needed = [NGINX, f"{MODULE_DIR}/ngx_http_modsecurity_module.so", CRS_LOAD, UNICODE_MAPPING]
    return [path for path in needed if not Path(path).exists()]


def _free_port(exclude: Iterable[int] = ()) -> int:
    taken = set(exclude)
    for port in PORT_RANGE:
        if port in taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise ModSecurityUnavailable(
        f"no free loopback port in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}"
    )


def crs_includes(load_file: str = CRS_LOAD) -> str:
    """Debian's ``owasp-crs.load`` as plain ``Include`` lines.

    libmodsecurity 3.0 has no ``IncludeOptional``: optional files that exist become
    ``Include``, missing ones are left out.
    """
    lines = []
    for line in Path(load_file).read_text(encoding="utf-8").splitlines():
        directive, _, target = line.strip().partition(" ")
        target = target.strip()
        if directive == "Include" or (directive == "IncludeOptional" and Path(target).exists()):
            lines.append(f"Include {target}")
    return "\n".join(lines)


def render(template: str, values: dict[str, str]) -> str:
    """Replace each ``@NAME@`` in `template`; an unknown placeholder is an error."""
    for name, value in values.items():
        template = template.replace(f"@{name}@", value)
    leftover = re.findall(r"@[A-Z_]+@", template)
    if leftover:
        raise ValueError(f"unfilled placeholders: {', '.join(sorted(set(leftover)))}")
    return template


class ModSecurityServer:
    """A running nginx + ModSecurity + CRS (context manager; stops nginx on exit)."""

    def __init__(self, *, paranoia: int = 1, workers: int = 2) -> None:
        self.paranoia = paranoia
        self.workers = workers
        self.port = 0
        self.backend_port = 0
        self.prefix: Path | None = None
        self._started = False

    def __enter__(self) -> Self:
        missing = missing_parts()
        if missing:
            raise ModSecurityUnavailable(f"not installed: {', '.join(missing)}")
        self.prefix = Path(tempfile.mkdtemp(prefix="bench-modsec-"))
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        assert self.prefix is not None
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.prefix / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        (self.prefix / "logs").mkdir(exist_ok=True)  # nginx opens logs/ before the config
        self.port = _free_port()
        self.backend_port = _free_port(exclude=[self.port])
        values = {
            "PREFIX": str(self.prefix),
            "PORT": str(self.port),
            "BACKEND_PORT": str(self.backend_port),
            "WORKERS": str(self.workers),
            "MODULE_DIR": MODULE_DIR,
            "CRS_INCLUDES": crs_includes(),
            "UNICODE_MAPPING": UNICODE_MAPPING,
            "PARANOIA": str(self.paranoia),
        }
        for name in ("nginx.conf", "modsecurity.conf"):
            text = (TEMPLATES / f"{name}.template").read_text(encoding="utf-8")
            (self.prefix / name).write_text(render(text, values), encoding="utf-8")
        conf = str(self.prefix / "nginx.conf")
        command = [NGINX, "-p", str(self.prefix), "-c", conf, "-e", str(self.prefix / "error.log")]
        started = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if started.returncode != 0:
            raise ModSecurityUnavailable(f"nginx did not start: {started.stderr.strip()}")
        self._started = True
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if replay(self.port, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").reached_backend:
                return
            time.sleep(0.1)
        raise ModSecurityUnavailable("nginx started but the bench backend is not answering")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.prefix is None:
            return
        if self._started:
            pid_file = self.prefix / "nginx.pid"
            subprocess.run(
                [
                    NGINX,
                    "-p",
                    str(self.prefix),
                    "-c",
                    str(self.prefix / "nginx.conf"),
                    "-e",
                    str(self.prefix / "error.log"),
                    "-s",
                    "stop",
                ],
                capture_output=True,
                timeout=30,
                check=False,
            )
            deadline = time.monotonic() + 10
            while pid_file.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            self._started = False
        shutil.rmtree(self.prefix, ignore_errors=True)
        self.prefix = None

    def replay(self, raw: bytes, *, timeout: float = 6.0) -> ReplayResult:
        return replay(self.port, raw, timeout=timeout)

    def describe(self) -> str:
        """The peer's versions, as nginx and the CRS setup file state them."""
        parts = [f"CRS PL{self.paranoia}"]
        setup = Path(CRS_SETUP)
        if setup.exists():
            found = re.search(r"crs_setup_version=(\d)(\d)(\d+)", setup.read_text(encoding="utf-8"))
            if found:
                parts[0] = f"OWASP CRS {'.'.join(found.groups())} at PL{self.paranoia}"
        if self.prefix is not None and (self.prefix / "error.log").exists():
            log = (self.prefix / "error.log").read_text(encoding="latin-1")
            for pattern in (r"ModSecurity-nginx v[\d.]+", r"nginx/[\d.]+"):
                found = re.search(pattern, log)
                if found:
                    parts.append(found.group(0))
        return ", ".join(parts)

    def matched_rules(self) -> dict[str, set[int]]:
        """CRS rule ids that matched, by request id, from nginx's error log."""
        assert self.prefix is not None
        matched: dict[str, set[int]] = defaultdict(set)
        log = self.prefix / "error.log"
        if not log.exists():
            return {}
        with log.open(encoding="latin-1") as lines:
            for line in lines:
                unique = _UNIQUE_ID.search(line)
                rule = _RULE_ID.search(line)
                if unique and rule:
                    matched[unique.group(1)].add(int(rule.group(1)))
        return dict(matched)


def replay(port: int, raw: bytes, *, timeout: float = 6.0) -> ReplayResult:
    """Send `raw` on a fresh connection to 127.0.0.1:`port`; read the response head."""
    head = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.sendall(raw)
            while b"\r\n\r\n" not in head and len(head) < 65536:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                head += chunk
    except OSError:
        pass  # reset or timeout: whatever arrived is all there is
    return parse_response_head(head)


def parse_response_head(head: bytes) -> ReplayResult:
    """Status, backend marker and request id from the start of a response."""
    lines = head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    status = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else 0
    reached = False
    request_id = ""
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"x-bench-backend":
            reached = True
        elif name == b"x-bench-request-id":
            request_id = value.strip().decode("latin-1")
    return ReplayResult(status=status, reached_backend=reached, request_id=request_id)
