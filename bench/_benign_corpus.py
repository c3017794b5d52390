"""The benign corpus (``tests/data/benign/*.jsonl``): legitimate requests, one a line.

Each line is a JSON object: ``method``, ``target`` (path and query, as sent),
``headers`` (a list of ``[name, value]`` pairs, without Host, Content-Type and
Content-Length), ``body`` (text, sent as UTF-8), ``content_type`` (or null) and
``note`` (what the request is and why it is here). `raw_request` turns a record into
the bytes a client puts on the wire, with ``Host: localhost`` and ``Content-Length``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

DEFAULT_DIR: Final = Path(__file__).resolve().parent.parent / "tests" / "data" / "benign"
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True, slots=True, kw_only=True)
class BenignRequest:
    """One legitimate request of the benign corpus."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: str
    content_type: str | None
    note: str
    source: str  # "<file>:<line>"

    @property
    def raw(self) -> bytes:
        return raw_request(self)


def parse_record(record: dict[str, Any], *, source: str) -> BenignRequest:
    """A validated `BenignRequest` from one decoded JSON line."""
    missing = {"method", "target", "headers", "body", "content_type", "note"} - record.keys()
    if missing:
        raise ValueError(f"{source}: missing keys {sorted(missing)}")
    headers = tuple((str(name), str(value)) for name, value in record["headers"])
    banned = {name.lower() for name, _ in headers} & {"host", "content-type", "content-length"}
    if banned:
        raise ValueError(f"{source}: {sorted(banned)} come from the record, not headers")
    if not str(record["target"]).startswith("/"):
        raise ValueError(f"{source}: target must be origin-form")
    return BenignRequest(
        method=str(record["method"]),
        target=str(record["target"]),
        headers=headers,
        body=str(record["body"]),
        content_type=record["content_type"],
        note=str(record["note"]),
        source=source,
    )


def load_benign(directory: Path = DEFAULT_DIR) -> list[BenignRequest]:
    """Every record of every ``*.jsonl`` file in `directory`, in file and line order."""
    requests: list[BenignRequest] = []
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    record = json.loads(line)
                    requests.append(parse_record(record, source=f"{path.name}:{number}"))
    return requests


def raw_request(request: BenignRequest) -> bytes:
    """The request as a client sends it (HTTP/1.1, Host: localhost)."""
    body = request.body.encode("utf-8")
    lines = [f"{request.method} {request.target} HTTP/1.1", "Host: localhost"]
    lines.extend(f"{name}: {value}" for name, value in request.headers)
    if request.content_type:
        lines.append(f"Content-Type: {request.content_type}")
    if body or request.method in _BODY_METHODS:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body
