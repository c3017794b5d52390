"""The httpbin stand-in: httpbin's JSON shapes for the endpoints the docs and demo use."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from wallarm_sidecar.localrun.sampleapp import app


def call(
    method: str, path: str, *, query: str = "", body: bytes = b"", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "localhost",
        "REMOTE_ADDR": "10.1.2.3",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)) if body else "",
        "HTTP_HOST": "pod:80",
    }
    for name, value in headers.items():
        if name == "content_type":
            environ["CONTENT_TYPE"] = value
        else:
            environ["HTTP_" + name.upper()] = value
    started: dict[str, Any] = {}

    def start(status: str, response_headers: list[tuple[str, str]]) -> None:
        started["status"] = int(status.split(maxsplit=1)[0])
        started["headers"] = dict(response_headers)

    chunks = app(environ, start)
    return started["status"], started["headers"], b"".join(chunks)


def test_get_echoes_the_request() -> None:
    status, headers, body = call("GET", "/get", query="a=1&b=2&b=3", user_agent="curl/8")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {
        "args": {"a": "1", "b": ["2", "3"]},
        "headers": {"Host": "pod:80", "User-Agent": "curl/8"},
        "origin": "10.1.2.3",
        "url": "http://pod:80/get?a=1&b=2&b=3",
    }


def test_post_json_and_form() -> None:
    _, _, body = call("POST", "/post", body=b'{"x": [1]}', content_type="application/json")
    assert json.loads(body)["json"] == {"x": [1]}
    _, _, body = call(
        "POST", "/post", body=b"a=1&a=2", content_type="application/x-www-form-urlencoded"
    )
    document = json.loads(body)
    assert document["form"] == {"a": ["1", "2"]} and document["data"] == "a=1&a=2"


def test_anything_and_origin_through_a_proxy() -> None:
    _, _, body = call("PATCH", "/anything/deep/path", x_forwarded_for="198.18.0.1")
    document = json.loads(body)
    assert document["method"] == "PATCH" and document["origin"] == "198.18.0.1"
    assert document["url"] == "http://pod:80/anything/deep/path"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/status/418", 418),
        ("GET", "/status/201,500", 201),
        ("GET", "/status/abc", 400),
        ("GET", "/etc/passwd", 404),
        ("POST", "/get", 405),
        ("GET", "/", 200),
        ("GET", "/robots.txt", 200),
        ("GET", "/html", 200),
        ("GET", "/uuid", 200),
    ],
)
def test_statuses(method: str, path: str, status: int) -> None:
    assert call(method, path)[0] == status


def test_small_helpers() -> None:
    assert json.loads(call("GET", "/headers", x_a="b")[2])["headers"]["X-A"] == "b"
    assert json.loads(call("GET", "/ip")[2]) == {"origin": "10.1.2.3"}
    assert json.loads(call("GET", "/cookies", cookie="a=1; b=2")[2]) == {
        "cookies": {"a": "1", "b": "2"}
    }
    assert call("GET", "/base64/aGVsbG8")[2] == b"hello"
    assert call("GET", "/bytes/5")[2] == bytes(range(5))


def test_response_headers_refuses_header_injection() -> None:
    _, headers, _ = call("GET", "/response-headers", query="X-Ok=1&Bad%20Name=2&X-Evil=a%0d%0ab")
    assert headers["X-Ok"] == "1"
    assert "Bad Name" not in headers and "X-Evil" not in headers
