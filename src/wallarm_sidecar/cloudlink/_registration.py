"""The node's identity in the Cloud, kept in the `wallarm` volume after registration.

The file (`node-registration.json`, mode 0600) holds the node credential the Cloud
handed out; every later Cloud call uses it, so a restarted container does not register
again (an emptyDir outlives container restarts, not the pod).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from wallarm_sidecar.cloudlink._files import read_bytes, write_atomically

REGISTRATION_FILE = "node-registration.json"
_MAX_FILE = 64 * 1024

log = logging.getLogger("wallarm_sidecar.cloudlink")


@dataclass(frozen=True)
class NodeRegistration:
    node_id: int
    name: str
    group: str
    namespace: str
    pod: str
    node_credential: str

    def __repr__(self) -> str:
        # The credential must not reach logs through a repr.
        return (
            f"NodeRegistration(node_id={self.node_id}, name={self.name!r}, "
            f"group={self.group!r}, namespace={self.namespace!r}, pod={self.pod!r})"
        )

    @classmethod
    def from_document(cls, document: Any) -> NodeRegistration:
        """From the Cloud's answer to POST /nodes/register or from the saved file."""
        if not isinstance(document, dict):
            raise ValueError("expected a JSON object")
        node_id = document.get("node_id", document.get("id"))
        if isinstance(node_id, bool) or not isinstance(node_id, int):
            raise ValueError("the node id is missing or not an integer")
        texts: dict[str, str] = {}
        for key in ("name", "group", "namespace", "pod", "node_credential"):
            value = document.get(key, "")
            if not isinstance(value, str) or len(value) > 1024:
                raise ValueError(f"{key} is not a string")
            texts[key] = value
        if not texts["node_credential"] or not texts["name"]:
            raise ValueError("the name or the node credential is missing")
        if any(c.isspace() or not c.isprintable() for c in texts["node_credential"]):
            raise ValueError("the node credential is not one printable word")
        return cls(node_id=node_id, **texts)


def registration_path(directory: Path) -> Path:
    return Path(directory) / REGISTRATION_FILE


def save_registration(directory: Path, registration: NodeRegistration) -> Path:
    """Write the registration atomically, readable by this user only; returns the path."""
    path = registration_path(directory)
    document = {"version": 1, **asdict(registration)}
    write_atomically(path, json.dumps(document, indent=2).encode() + b"\n", mode=0o600)
    return path


def load_registration(directory: Path) -> NodeRegistration | None:
    """The saved registration, or None when there is none or it cannot be used."""
    path = registration_path(directory)
    if not path.exists():
        return None
    data = read_bytes(path, _MAX_FILE)
    try:
        if data is None:
            raise ValueError("unreadable or too large")
        return NodeRegistration.from_document(json.loads(data))
    except ValueError as error:
        log.warning("ignoring %s: %s", path, error)
        return None


__all__ = [
    "REGISTRATION_FILE",
    "NodeRegistration",
    "load_registration",
    "registration_path",
    "save_registration",
]
