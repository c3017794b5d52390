"""An httpbin-compatible WSGI app: what `localrun` runs for the `kennethreitz/httpbin` image.

The PyPI `httpbin` package cannot be a dependency: on Python < 3.12 it requires
`greenlet<3` (which it does not use), and the Console tests' `playwright` requires
`greenlet>=3`, so pip finds no solution. This app answers the endpoints the
documentation and the demo use, in httpbin's JSON shapes; gunicorn serves it as
gunicorn serves httpbin in the image.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
Environ = dict[str, Any]

_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    418: "I'm a teapot",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_BODY_LIMIT = 1024 * 1024
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_INDEX = """<!DOCTYPE html>
<html><head><title>httpbin (wallarm-sidecar localrun)</title></head><body>
<h1>httpbin</h1><p>A simple HTTP request and response service.</p><ul>
<li>/get /post /put /patch /delete /anything: the request, as JSON</li>
<li>/headers /ip /user-agent /cookies /uuid /json /html /robots.txt</li>
<li>/status/:code /delay/:seconds /bytes/:n /base64/:value /response-headers?k=v</li>
</ul></body></html>
"""


def _headers(environ: Environ) -> dict[str, str]:
    out = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            out[key[5:].replace("_", "-").title()] = str(value)
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            out[key.replace("_", "-").title()] = str(environ[key])
    return out


def _args(query: str) -> dict[str, str | list[str]]:
    parsed = parse_qs(query, keep_blank_values=True)
    return {key: values[0] if len(values) == 1 else values for key, values in parsed.items()}


def _origin(environ: Environ) -> str:
    forwarded = str(environ.get("HTTP_X_FORWARDED_FOR", ""))
    return forwarded or str(environ.get("REMOTE_ADDR", ""))


def _url(environ: Environ) -> str:
    host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "localhost")
    query = environ.get("QUERY_STRING", "")
    path = environ.get("PATH_INFO", "/")
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}{path}" + (
        f"?{query}" if query else ""
    )


def _request(environ: Environ, *, body: bool) -> dict[str, Any]:
    document: dict[str, Any] = {
        "args": _args(str(environ.get("QUERY_STRING", ""))),
        "headers": _headers(environ),
        "origin": _origin(environ),
        "url": _url(environ),
    }
    if body:
        try:
            length = min(int(environ.get("CONTENT_LENGTH") or 0), _BODY_LIMIT)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        text = raw.decode("utf-8", "replace")
        content_type = str(environ.get("CONTENT_TYPE", ""))
        form: dict[str, str | list[str]] = {}
        parsed_json = None
        if content_type.startswith("application/x-www-form-urlencoded"):
            form = _args(text)
        elif "json" in content_type:
            try:
                parsed_json = json.loads(text)
            except ValueError:
                parsed_json = None
        document.update({"data": text, "files": {}, "form": form, "json": parsed_json})
    return document


def _respond(
    start: StartResponse,
    status: int,
    body: bytes,
    content_type: str = "application/json",
    extra: Iterable[tuple[str, str]] = (),
) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))), *extra]
    start(f"{status} {_REASONS.get(status, 'Status')}", headers)
    return [body]


def _json(start: StartResponse, document: Any, status: int = 200) -> list[bytes]:
    return _respond(start, status, (json.dumps(document, indent=2) + "\n").encode())


def app(environ: Environ, start: StartResponse) -> list[bytes]:
    """The WSGI entry point (`gunicorn wallarm_sidecar.localrun.sampleapp:app`)."""
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    path = str(environ.get("PATH_INFO", "/"))
    parts = [part for part in path.split("/") if part]
    head = parts[0] if parts else ""
    with_body = method in ("POST", "PUT", "PATCH", "DELETE")
    if path == "/":
        return _respond(start, 200, _INDEX.encode(), "text/html; charset=utf-8")
    if head == "anything":
        return _json(start, {**_request(environ, body=True), "method": method})
    if len(parts) == 1 and head in ("get", "post", "put", "patch", "delete"):
        if method != head.upper() and not (head == "get" and method == "HEAD"):
            return _respond(start, 405, b"", "text/html", [("Allow", head.upper())])
        return _json(start, _request(environ, body=with_body))
    simple: dict[str, Callable[[], Any]] = {
        "headers": lambda: {"headers": _headers(environ)},
        "ip": lambda: {"origin": _origin(environ)},
        "user-agent": lambda: {"user-agent": environ.get("HTTP_USER_AGENT", "")},
        "uuid": lambda: {"uuid": str(uuid.uuid4())},
        "cookies": lambda: {"cookies": _cookies(str(environ.get("HTTP_COOKIE", "")))},
        "json": lambda: {"slideshow": {"title": "Sample Slide Show", "slides": []}},
    }
    if len(parts) == 1 and head in simple:
        return _json(start, simple[head]())
    if path == "/html":
        return _respond(start, 200, b"<html><body><h1>Moby-Dick</h1></body></html>\n", "text/html")
    if path == "/robots.txt":
        return _respond(start, 200, b"User-agent: *\nDisallow: /deny\n", "text/plain")
    if len(parts) == 2 and head == "status":
        code = parts[1].split(",")[0]
        if code.isdigit() and 100 <= int(code) <= 599:
            return _respond(start, int(code), b"", "text/html; charset=utf-8")
        return _respond(start, 400, b"Invalid status code\n", "text/plain")
    if len(parts) == 2 and head == "delay":
        try:
            time.sleep(min(max(float(parts[1]), 0.0), 10.0))
        except ValueError:
            return _respond(start, 400, b"Invalid delay\n", "text/plain")
        return _json(start, _request(environ, body=with_body))
    if len(parts) == 2 and head == "bytes" and parts[1].isdigit():
        size = min(int(parts[1]), 100 * 1024)
        return _respond(start, 200, bytes(i % 256 for i in range(size)), "application/octet-stream")
    if len(parts) == 2 and head == "base64":
        try:
            decoded = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        except (binascii.Error, ValueError):
            decoded = b"Incorrect Base64 data try: SFRUUEJJTiBpcyBhd2Vzb21l"
        return _respond(start, 200, decoded, "text/html; charset=utf-8")
    if path == "/response-headers":
        args = _args(str(environ.get("QUERY_STRING", "")))
        pairs = [
            (k, v)
            for k, values in args.items()
            for v in (values if isinstance(values, list) else [values])
            if _TOKEN.fullmatch(k) and "\n" not in v and "\r" not in v
        ]
        return _respond(start, 200, (json.dumps(args) + "\n").encode(), extra=pairs)
    return _respond(
        start,
        404,
        b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<title>404 Not Found</title>\n'
        b"<h1>Not Found</h1>\n<p>The requested URL was not found on the server.</p>\n",
        "text/html; charset=utf-8",
    )


def _cookies(header: str) -> dict[str, str]:
    cookies = {}
    for item in header.split(";"):
        name, sep, value = item.strip().partition("=")
        if sep:
            cookies[name] = value
    return cookies
