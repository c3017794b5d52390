"""Filtering-mode rules from the Cloud, in the `wallarm` volume (`node-config.json`).

Written atomically by the node's Cloud sync (docs/node-config.md):

    {"version": 1, "mode": "block", "applications": {"shop": "monitoring"}}

`mode` is the node group's rule; `applications` maps WALLARM_APPLICATION values
to their own rule. How these apply over the local mode is `effective_mode`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wallarm_sidecar.proxy._files import read_json_document
from wallarm_sidecar.proxy._policy import FilteringMode


@dataclass(frozen=True, slots=True)
class NodeModeRules:
    mode: FilteringMode | None = None
    applications: dict[str, FilteringMode] = field(default_factory=dict)

    def mode_for(self, application: str) -> FilteringMode | None:
        return self.applications.get(application, self.mode) if application else self.mode

    @classmethod
    def from_document(cls, document: Any) -> NodeModeRules:
        if not isinstance(document, dict):
            raise ValueError("expected a JSON object")
        raw_mode = document.get("mode")
        mode = None if raw_mode is None else FilteringMode.parse(str(raw_mode))
        raw_apps = document.get("applications") or {}
        if not isinstance(raw_apps, dict):
            raise ValueError("'applications' must be an object")
        applications = {str(k): FilteringMode.parse(str(v)) for k, v in raw_apps.items()}
        return cls(mode=mode, applications=applications)

    @classmethod
    def load(cls, path: Path) -> NodeModeRules:
        document = read_json_document(path)
        return cls() if document is None else cls.from_document(document)
