"""Reading the files the node's Cloud sync writes into the node's volumes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json_document(path: Path) -> Any | None:
    """The decoded file, or None when it does not exist; ValueError when it is not JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error}") from None
