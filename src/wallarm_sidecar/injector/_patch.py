"""RFC 6902 JSON patches between two JSON documents, as a mutating webhook returns them.

Only what admission needs: maps are diffed key by key (`add`, `remove`, recursion), a list
that only grew gets one `add` per new item (so the app's own containers are never
rewritten), any other changed list or value is `replace`d. A missing list or map is
created by the `add` of the whole value. Path tokens are escaped `~` → `~0` then
`/` → `~1` (RFC 6901).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict


class PatchOperation(TypedDict):
    op: Literal["add", "remove", "replace"]
    path: str
    value: NotRequired[Any]


def escape_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def json_patch(old: Any, new: Any) -> list[PatchOperation]:
    operations: list[PatchOperation] = []
    _diff(old, new, "", operations)
    return operations


def _diff(old: Any, new: Any, path: str, out: list[PatchOperation]) -> None:
    if _same(old, new):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old:
            if key not in new:
                out.append({"op": "remove", "path": f"{path}/{escape_token(key)}"})
        for key, value in new.items():
            child = f"{path}/{escape_token(key)}"
            if key in old:
                _diff(old[key], value, child, out)
            else:
                out.append({"op": "add", "path": child, "value": value})
        return
    if isinstance(old, list) and isinstance(new, list) and len(new) >= len(old):
        if all(_same(a, b) for a, b in zip(old, new, strict=False)):
            for index in range(len(old), len(new)):
                out.append({"op": "add", "path": f"{path}/{index}", "value": new[index]})
            return
        if len(new) == len(old):
            for index, (a, b) in enumerate(zip(old, new, strict=True)):
                _diff(a, b, f"{path}/{index}", out)
            return
    if path == "":
        raise ValueError("the document's root cannot be replaced by an admission patch")
    out.append({"op": "replace", "path": path, "value": new})


def _same(a: Any, b: Any) -> bool:
    """JSON equality: `True == 1` and `1 == 1.0` hold in Python, not in JSON."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
