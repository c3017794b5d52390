"""Cross-site scripting by tokenising HTML, in the manner of libinjection (our own code).

A tiny HTML5-ish tokenizer walks the tags of a value (also tags left open at
the end) and their attributes. HTML alone is not an attack: a CMS field full of
`<p>`, `<b>` and `<a href="https://...">` is fine. What makes it XSS is
something a browser would run: a script-capable element, an event-handler
attribute, a `javascript:`/`vbscript:`/`data:text/html` URL, or a style that
executes. Values that break out of an attribute (`" onmouseover="...`) are read
from after their first quote as well.
"""

from __future__ import annotations

from typing import Final, NamedTuple

MAX_TAGS: Final = 64  # tags examined per value; an attack is never that deep
MAX_SCAN: Final = 65536

#: elements that run code or load a document whatever their attributes say
_SCRIPT_TAGS: Final = frozenset(
    {"script", "applet", "object", "embed", "frameset", "base", "import", "xss",
     "xml", "vmlframe", "handler", "listener", "isindex"}
)  # fmt: skip
#: elements that are dangerous with most attributes (not with a plain https src)
_FRAME_TAGS: Final = frozenset({"iframe", "frame", "portal", "svg", "math", "meta", "link",
                                "style", "template", "animate", "set", "use", "foreignobject",
                                "image", "form", "button", "input", "details", "marquee",
                                "video", "audio", "source", "img", "body", "html", "a",
                                "div", "span", "table", "td", "object", "layer", "ilayer",
                                "bgsound", "textarea", "select", "keygen", "option",
                                "frameset", "x", "p", "b", "i", "h1", "title", "head"})  # fmt: skip
_URL_ATTRIBUTES: Final = frozenset(
    {"href", "src", "action", "formaction", "data", "xlink:href", "background", "lowsrc",
     "dynsrc", "poster", "code", "codebase", "srcdoc", "value", "values", "from", "to", "by",
     "content", "url", "style", "xmlns", "folder", "datasrc", "ping", "longdesc", "cite",
     "profile", "classid", "archive", "usemap", "manifest", "icon", "sandbox", "attributename",
     "begin", "end", "srcset", "imagesrcset", "xml:base"}
)  # fmt: skip
_DANGEROUS_SCHEMES: Final = ("javascript:", "vbscript:", "livescript:", "mocha:", "data:text/html",
                             "data:image/svg", "data:application/x", "data:text/xml",
                             "data:text/javascript", "data:application/javascript",
                             "data:text/xsl", "jar:")  # fmt: skip
_STYLE_MARKERS: Final = ("expression(", "javascript:", "behavior:", "behaviour:", "-moz-binding",
                         "vbscript:", "@import", "url(javascript", "url(\"javascript",
                         "url('javascript")  # fmt: skip
_TAG_NAME_CHARS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-:_"
)
_ATTR_END: Final = frozenset(" \t\n\r\x0c/>=")
_SPACE: Final = frozenset(" \t\n\r\x0c\x0b\x00")


def _prose_after_scheme(value: str) -> bool:
    """`JavaScript: The Good Parts`: a title, not a script URL. After the colon comes
    a space, a word and another word, where a script URL goes on with code."""
    rest = value[value.find(":") + 1 :][:80]
    if not rest[:1].isspace():
        return False
    words = rest.split(None, 2)
    return len(words) >= 2 and words[0].isalnum() and words[1][:1].isalnum()


class XssMatch(NamedTuple):
    reason: str
    fragment: str


def _compact(value: str) -> str:
    """Lower-case, without the whitespace/control characters browsers skip in URLs."""
    return "".join(ch for ch in value[:256].lower() if ch > " " and ch not in "\x7f\xad")


def _dangerous_url(value: str) -> bool:
    compact = _compact(value)
    # a few entity forms that survive a single decode: &colon; &#58; &#x3a;
    if "&" in compact:
        compact = (
            compact.replace("&colon;", ":")
            .replace("&#58;", ":")
            .replace("&#x3a;", ":")
            .replace("&tab;", "")
            .replace("&newline;", "")
            .replace("&#x09;", "")
            .replace("&#9;", "")
            .replace("&#x0a;", "")
            .replace("&#10;", "")
            .replace("&#x0d;", "")
            .replace("&#13;", "")
        )
    return compact.startswith(_DANGEROUS_SCHEMES)


def _dangerous_style(value: str) -> bool:
    compact = _compact(value).replace("\\", "").replace("/**/", "")
    return any(marker in compact for marker in _STYLE_MARKERS)


def _read_attributes(text: str, i: int, n: int) -> tuple[list[tuple[str, str]], int]:
    """Attributes from text[i] up to the end of the tag; returns them and the next index."""
    attrs: list[tuple[str, str]] = []
    while i < n and len(attrs) < 32:
        ch = text[i]
        if ch in _SPACE or ch in "/\"'":
            i += 1
            continue
        if ch == ">":
            return attrs, i + 1
        if ch == "<":
            return attrs, i
        j = i
        while j < n and text[j] not in _ATTR_END and text[j] not in "<\"'":
            j += 1
        if j == i:
            j = i + 1
        name = text[i:j].lower()
        i = j
        while i < n and text[i] in _SPACE:
            i += 1
        value = ""
        if i < n and text[i] == "=":
            i += 1
            while i < n and text[i] in _SPACE:
                i += 1
            if i < n and text[i] in "\"'`":
                quote = text[i]
                end = text.find(quote, i + 1)
                end = n if end < 0 else end
                value = text[i + 1 : end]
                i = end + 1
            else:
                j = i
                while j < n and text[j] not in " \t\n\r\x0c>":
                    j += 1
                value = text[i:j]
                i = j
        attrs.append((name, value))
    return attrs, i


def _judge_tag(name: str, attrs: list[tuple[str, str]], closed: bool) -> str | None:
    for attr, value in attrs:
        if attr.startswith("on") and len(attr) > 3 and attr[2:].isalpha():
            return f"event-handler {attr}"
        if attr in _URL_ATTRIBUTES and value and _dangerous_url(value):
            return f"script-url {attr}"
        if attr == "style" and _dangerous_style(value):
            return "style-script"
        if attr == "srcdoc" and "<" in value:
            return "srcdoc"
        if name == "meta" and attr == "http-equiv" and value.lower() in ("refresh", "set-cookie"):
            return "meta-refresh"
    if name in _SCRIPT_TAGS:
        return f"tag {name}"
    if name in ("iframe", "frame", "portal") and (attrs or closed):
        # embedding a page from a plain https address is content, not script
        src = dict(attrs).get("src", "")
        if not _compact(src).startswith(("https://", "http://", "//")) or len(attrs) > 4:
            return f"tag {name}"
        return None
    if name == "style" and closed:
        return "tag style"
    if name == "svg" and closed and not attrs:
        return None
    return None


def detect_xss(value: str) -> XssMatch | None:
    """Return why `value` reads as XSS, or None."""
    n = min(len(value), MAX_SCAN)
    tags = 0
    i = value.find("<")
    while 0 <= i < n and tags < MAX_TAGS:
        j = i + 1
        if j < n and value[j] == "/":
            # closing tags carry no attributes, but `</script>` proves a script block
            k = j + 1
            while k < n and value[k] in _TAG_NAME_CHARS:
                k += 1
            if value[j + 1 : k].lower().rpartition(":")[2] == "script":
                return XssMatch("tag script", value[i : k + 1])
            i = value.find("<", k)
            continue
        if j < n and value[j] == "!" and value.startswith("<!--", i):
            end = value.find("-->", j)
            i = value.find("<", j if end < 0 else end + 3)
            continue
        k = j
        while k < n and value[k] in _TAG_NAME_CHARS:
            k += 1
        if k == j:
            i = value.find("<", j)
            continue
        tags += 1
        name = value[j:k].lower()
        if ":" in name:
            name = name.rpartition(":")[2]  # <x:script xmlns:x=...> is a script
        attrs, end = _read_attributes(value, k, n)
        closed = end <= n and value[end - 1 : end] == ">"
        reason = _judge_tag(name, attrs, closed)
        if reason is not None:
            return XssMatch(reason, value[i : min(end, i + 200)])
        i = value.find("<", max(end, j))
    if _dangerous_url(value.lstrip()[:64]) and not _prose_after_scheme(value):
        return XssMatch("script-url", value[:200])
    # attribute injection: x" onmouseover="alert(1)  /  x' style='...
    for quote in ('"', "'"):
        q = value.find(quote)
        if 0 <= q < n - 3:
            attrs, _ = _read_attributes(value, q + 1, min(n, q + 1024))
            for attr, attr_value in attrs[:4]:
                if attr.startswith("on") and attr[2:].isalpha() and len(attr) > 4 and attr_value:
                    return XssMatch(f"attribute-injection {attr}", value[q : q + 200])
                if attr == "style" and _dangerous_style(attr_value):
                    return XssMatch("attribute-injection style", value[q : q + 200])
                if attr in ("href", "src", "formaction") and _dangerous_url(attr_value):
                    return XssMatch(f"attribute-injection {attr}", value[q : q + 200])
    return None
