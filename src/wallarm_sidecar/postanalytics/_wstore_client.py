"""A small synchronous client of wstore's export interface (docs/postanalytics.md).

`GET /export`, `GET /export/cursor`, `POST /export/cursor` on the pod's loopback. Every
failure is a `WstoreUnavailable` (wait and retry) or, for a commit meant for a wstore
that has restarted since the page was read, a `WstoreRestarted`.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from typing import Any

import msgpack

from wallarm_sidecar.postanalytics._export import ExportPage

#: A page of 10,000 records of at most 16 MiB each is bounded by wstore's arena; this
#: bounds what a confused peer on the port can make us read.
MAX_ANSWER = 512 * 1024 * 1024


class WstoreUnavailable(Exception):
    """wstore did not answer, or answered something unusable."""


class WstoreRestarted(WstoreUnavailable):
    """The commit named a previous wstore instance: read again from the new one."""


class WstoreClient:
    def __init__(self, host: str, port: int, *, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    def read(self, limit: int, cursor: int | None = None) -> ExportPage:
        """A page from `cursor` (default: the export cursor wstore keeps)."""
        query: dict[str, int] = {"limit": limit}
        if cursor is not None:
            query["cursor"] = cursor
        data = self._call("GET", "/export?" + urllib.parse.urlencode(query))
        try:
            document = msgpack.unpackb(data, raw=False, strict_map_key=False)
            records = document["records"]
            if not isinstance(records, list):
                raise TypeError("records is not an array")
            return ExportPage(
                first=int(document["from"]),
                cursor=int(document["cursor"]),
                missed=int(document["missed"]),
                records=records,
                instance=str(document.get("instance", "")),
            )
        except (ValueError, TypeError, KeyError, msgpack.UnpackException) as error:
            raise WstoreUnavailable(f"unusable export page: {error}") from None

    def cursor(self) -> dict[str, Any]:
        """`{"export_cursor", "first_seq", "last_seq", "instance"}`."""
        return self._json(self._call("GET", "/export/cursor"))

    def commit(self, cursor: int, instance: str) -> dict[str, Any]:
        query = {"cursor": str(cursor)}
        if instance:
            query["instance"] = instance
        return self._json(self._call("POST", "/export/cursor?" + urllib.parse.urlencode(query)))

    def _json(self, data: bytes) -> dict[str, Any]:
        try:
            document = json.loads(data)
        except ValueError:
            raise WstoreUnavailable("the cursor answer is not JSON") from None
        if not isinstance(document, dict):
            raise WstoreUnavailable("the cursor answer is not an object")
        return document

    def _call(self, method: str, target: str) -> bytes:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, target, headers={"Content-Length": "0"})
            response = connection.getresponse()
            data = response.read(MAX_ANSWER + 1)
        except (OSError, http.client.HTTPException) as error:
            where = f"wstore {self.host}:{self.port}"
            raise WstoreUnavailable(f"{where}: {error or type(error).__name__}") from None
        finally:
            connection.close()
        if len(data) > MAX_ANSWER:
            raise WstoreUnavailable("the export answer is too large")
        if response.status == 409:
            raise WstoreRestarted("wstore restarted since the page was read")
        if response.status != 200:
            text = data[:200].decode("utf-8", "replace").strip()
            raise WstoreUnavailable(f"wstore answered {response.status}: {text}")
        return data


__all__ = ["MAX_ANSWER", "WstoreClient", "WstoreRestarted", "WstoreUnavailable"]
