"""RFC 6902 patches: escaping, creating missing maps and lists, applied by `jsonpatch`."""

from __future__ import annotations

from typing import Any

import jsonpatch
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wallarm_sidecar.injector import escape_token, json_patch


@pytest.mark.parametrize(
    ("token", "escaped"),
    [
        pytest.param("plain", "plain", id="plain"),
        pytest.param("sidecar.wallarm.io/status", "sidecar.wallarm.io~1status", id="slash"),
        pytest.param("a~b", "a~0b", id="tilde"),
        pytest.param("~/", "~0~1", id="tilde-then-slash"),
        pytest.param("/~1", "~1~01", id="escaped-looking"),
        pytest.param(3, "3", id="index"),
    ],
)
def test_escaping(token: Any, escaped: str) -> None:
    assert escape_token(token) == escaped


@pytest.mark.parametrize(
    ("old", "new", "patch"),
    [
        pytest.param({"a": 1}, {"a": 1}, [], id="no-change"),
        pytest.param(
            {},
            {"m": {"k": "v"}},
            [{"op": "add", "path": "/m", "value": {"k": "v"}}],
            id="missing-map",
        ),
        pytest.param(
            {"l": [1]}, {"l": [1, 2]}, [{"op": "add", "path": "/l/1", "value": 2}], id="append"
        ),
        pytest.param(
            {}, {"l": [1]}, [{"op": "add", "path": "/l", "value": [1]}], id="missing-list"
        ),
        pytest.param({"a": 1}, {}, [{"op": "remove", "path": "/a"}], id="remove"),
        pytest.param(
            {"a": 1},
            {"a": True},
            [{"op": "replace", "path": "/a", "value": True}],
            id="bool-is-not-int",
        ),
        pytest.param(
            {"l": [1, 2]}, {"l": [2]}, [{"op": "replace", "path": "/l", "value": [2]}], id="shrunk"
        ),
        pytest.param(
            {"m": {"a/b": {"c~d": 1}}},
            {"m": {"a/b": {"c~d": 2}}},
            [{"op": "replace", "path": "/m/a~1b/c~0d", "value": 2}],
            id="escaped-path",
        ),
    ],
)
def test_patches(old: Any, new: Any, patch: list[dict[str, Any]]) -> None:
    assert json_patch(old, new) == patch
    assert jsonpatch.apply_patch(old, patch) == new


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(alphabet="ab/~", max_size=3), children, max_size=3)
    ),
    max_leaves=12,
)
documents = st.dictionaries(st.text(alphabet="ab/~", max_size=3), json_values, max_size=4)


@given(old=documents, new=documents)
def test_applying_the_patch_gives_the_new_document(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    assert jsonpatch.apply_patch(old, json_patch(old, new)) == new
