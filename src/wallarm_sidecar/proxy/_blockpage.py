"""What a blocked request gets: `WALLARM_BLOCK_PAGE`, as in nginx's `wallarm_block_page`.

Accepted forms: empty (403 and the built-in page); `&/path/page.html` (a page
from a file); `https://host/path` or `/path` (a 302 redirect there); each
optionally followed by `response_code=NNN` and `type=attack,acl_ip,acl_source`
(the block reasons it applies to; others get the built-in page). `response_code=NNN`
alone changes only the code. `${request_id}` in a page is replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from wallarm_sidecar.proxy._http import simple_response

BLOCK_REASONS: Final = frozenset({"attack", "acl_ip", "acl_source"})

DEFAULT_PAGE: Final = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Request blocked</title></head>
<body><h1>Request blocked</h1>
<p>This request was blocked by the web application firewall.</p>
<p>If you believe this is an error, contact the site owner and quote this request id:
<code>${request_id}</code></p></body></html>
"""


@dataclass(frozen=True, slots=True)
class BlockPage:
    status: int = 403
    page: str = DEFAULT_PAGE
    redirect: str = ""
    reasons: frozenset[str] = field(default=BLOCK_REASONS)

    @classmethod
    def parse(cls, spec: str) -> BlockPage:
        words = spec.split()
        if not words:
            return cls()
        status: int | None = None
        reasons = BLOCK_REASONS
        page = DEFAULT_PAGE
        redirect = ""
        for word in words:
            if word.startswith("response_code="):
                code = word.removeprefix("response_code=")
                if not code.isdigit() or not 300 <= int(code) <= 599:
                    raise ValueError("response_code must be a number 300-599")
                status = int(code)
            elif word.startswith("type="):
                reasons = frozenset(word.removeprefix("type=").split(","))
                if not reasons or not reasons <= BLOCK_REASONS:
                    raise ValueError("type must list attack, acl_ip, acl_source")
            elif word.startswith("&"):
                path = Path(word[1:])
                try:
                    page = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as error:
                    raise ValueError(f"cannot read block page {path}: {error}") from None
            elif word.startswith(("http://", "https://", "/")):
                redirect = word
            else:
                raise ValueError(
                    "expected &/path/page.html, a redirect URL, response_code=NNN or type=..."
                )
        if redirect:
            return cls(status=status or 302, page="", redirect=redirect, reasons=reasons)
        if status is not None and status < 400:
            raise ValueError("a page needs a response_code of 400-599")
        return cls(status=status or 403, page=page, reasons=reasons)

    def render(self, request_id: str, reason: str, *, close: bool) -> bytes:
        if reason not in self.reasons:
            return _DEFAULT.render(request_id, reason, close=close)
        if self.redirect:
            return simple_response(
                self.status,
                b"",
                request_id=request_id,
                close=close,
                extra_headers=((b"Location", self.redirect.encode("latin-1")),),
            )
        body = self.page.replace("${request_id}", request_id).encode("utf-8")
        return simple_response(
            self.status,
            body,
            content_type=b"text/html; charset=utf-8",
            request_id=request_id,
            close=close,
        )


_DEFAULT: Final = BlockPage()
