#!/usr/bin/env python3
"""Write helm/wallarm-sidecar/values.schema.json: `config` from the injector's model.

The `config` part is `settings_json_schema()` of `InjectionSettings` (the model the
controller loads its config file with), so the chart and the controller cannot drift;
the chart's own keys (image, controller, postanalytics) are described here. A test
(tests/helm) fails when the file is not what this script writes.

    python scripts/gen_values_schema.py          # write the file
    python scripts/gen_values_schema.py --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

from wallarm_sidecar.injector import settings_json_schema

SCHEMA_PATH = (
    Path(__file__).resolve().parent.parent / "helm" / "wallarm-sidecar" / "values.schema.json"
)

_TRUE_WORDS = [True, "on", "true", "yes", "enabled"]
_STRING = {"type": "string"}
_STRING_MAP = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}
_OBJECT = {"type": "object"}
_PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
_SWITCH = {"type": "boolean"}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


def _object(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **extra}


def _when(path: list[str], condition: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
    """`if` the value at `path` matches `condition` `then` the object there matches `then`."""

    def nest(leaf: dict[str, Any], keys: list[str]) -> dict[str, Any]:
        for key in reversed(keys):
            leaf = {"properties": {key: leaf}, "required": [key]}
        return leaf

    return {"if": nest(condition, path), "then": nest(then, path[:-1])}


def chart_defs() -> dict[str, Any]:
    """Definitions of the chart's own keys (outside `config`)."""
    pdb = _object(
        {
            "enabled": _SWITCH,
            "maxUnavailable": {"type": ["integer", "string"], "minimum": 0},
            "minAvailable": {"type": ["integer", "string"], "minimum": 0},
        }
    )
    scheduling = {
        "nodeSelector": _STRING_MAP,
        "tolerations": {"type": "array", "items": _OBJECT},
        "affinity": _OBJECT,
        "priorityClassName": _STRING,
        "podAnnotations": _STRING_MAP,
        "podLabels": _STRING_MAP,
        "podSecurityContext": _OBJECT,
        "containerSecurityContext": _OBJECT,
        "imagePullSecrets": _ref("imagePullSecrets"),
        "image": _ref("componentImage"),
        "podDisruptionBudget": pdb,
    }
    resources = _object({"resources": _OBJECT})
    return {
        "image": _object(
            {
                "registry": _STRING,
                "repository": {"type": "string", "minLength": 1},
                "tag": {"type": ["string", "number"]},
                "digest": {"type": "string", "pattern": "^(sha256:[a-f0-9]{64})?$"},
                "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
            }
        ),
        "componentImage": _object(
            {
                "registry": _STRING,
                "repository": _STRING,
                "tag": {"type": ["string", "number"]},
                "digest": {"type": "string", "pattern": "^(sha256:[a-f0-9]{64})?$"},
                "pullPolicy": {"enum": ["", "Always", "IfNotPresent", "Never"]},
            }
        ),
        "imagePullSecrets": {
            "type": "array",
            "items": {
                "anyOf": [
                    {"type": "string", "minLength": 1},
                    _object({"name": {"type": "string", "minLength": 1}}, required=["name"]),
                ]
            },
        },
        "controller": _object(
            {
                "replicaCount": {"type": "integer", "minimum": 0},
                "resources": _OBJECT,
                "admissionWebhook": _object(
                    {
                        "failurePolicy": {"enum": ["Fail", "Ignore"]},
                        "timeoutSeconds": {"type": "integer", "minimum": 1, "maximum": 30},
                        "objectSelector": _OBJECT,
                        "excludeNamespaces": {"type": "array", "items": _STRING},
                        "certManager": _object({"enabled": _SWITCH}),
                        "secret": _object(
                            {"enabled": _SWITCH, "ca": _STRING, "crt": _STRING, "key": _STRING}
                        ),
                        "certgen": _object(
                            {
                                "resources": _OBJECT,
                                "nodeSelector": _STRING_MAP,
                                "tolerations": {"type": "array", "items": _OBJECT},
                                "priorityClassName": _STRING,
                            }
                        ),
                    }
                ),
                **scheduling,
            },
            allOf=[
                _when(
                    ["admissionWebhook", "secret", "enabled"],
                    {"const": True},
                    {
                        "properties": {
                            key: {"type": "string", "minLength": 1} for key in ("ca", "crt", "key")
                        },
                        "required": ["ca", "crt", "key"],
                    },
                )
            ],
        ),
        "postanalytics": _object(
            {
                "replicaCount": {"type": "integer", "minimum": 0},
                "external": _object({"enabled": _SWITCH, "host": _STRING, "port": _PORT}),
                "init": resources,
                "jobs": resources,
                "appstructure": resources,
                "wstore": _object(
                    {
                        "config": _object(
                            {
                                "arena": {
                                    "anyOf": [
                                        {"type": "number", "exclusiveMinimum": 0},
                                        {"type": "string", "pattern": "^[0-9]*\\.?[0-9]+$"},
                                    ]
                                }
                            }
                        ),
                        "resources": _OBJECT,
                    }
                ),
                **scheduling,
            },
            allOf=[
                _when(
                    ["external", "enabled"],
                    {"const": True},
                    {
                        "properties": {"host": {"type": "string", "minLength": 1}},
                        "required": ["host"],
                    },
                )
            ],
        ),
    }


def values_schema() -> dict[str, Any]:
    settings = copy.deepcopy(settings_json_schema())
    defs: dict[str, Any] = settings.pop("$defs")
    defs.pop("WstoreSettings", None)  # the chart fills wstore itself
    properties: dict[str, Any] = settings["properties"]
    properties.pop("wstore", None)
    for name, schema in properties.items():  # defaults live in values.yaml
        schema.pop("default", None)
        properties[name] = schema
    own = chart_defs()
    overlap = set(own) & set(defs)
    if overlap:
        raise SystemExit(f"definition names clash: {sorted(overlap)}")
    defs.update(own)
    config = {
        "type": "object",
        "description": "What the controller injects (InjectionSettings); "
        "controller and postanalytics may also be nested here (the ARM64 example).",
        "properties": {
            **properties,
            "controller": _ref("controller"),
            "postanalytics": _ref("postanalytics"),
        },
    }
    token_rule = {
        "if": {
            "properties": {
                "config": {
                    "properties": {
                        "wallarm": {
                            "properties": {
                                "api": {
                                    "properties": {
                                        "existingSecret": {
                                            "properties": {"enabled": {"enum": _TRUE_WORDS}},
                                            "required": ["enabled"],
                                        }
                                    },
                                    "required": ["existingSecret"],
                                }
                            },
                            "required": ["api"],
                        }
                    },
                    "required": ["wallarm"],
                }
            },
            "required": ["config"],
        },
        "else": {
            "properties": {
                "config": {
                    "properties": {
                        "wallarm": {
                            "properties": {
                                "api": {
                                    "properties": {
                                        "token": {
                                            "type": "string",
                                            "minLength": 1,
                                            "description": "required unless "
                                            "config.wallarm.api.existingSecret.enabled",
                                        }
                                    },
                                    "required": ["token"],
                                }
                            },
                            "required": ["api"],
                        }
                    },
                    "required": ["wallarm"],
                }
            },
            "required": ["config"],
        },
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "wallarm-sidecar chart values",
        "type": "object",
        "properties": {
            "nameOverride": _STRING,
            "fullnameOverride": _STRING,
            "image": _ref("image"),
            "imagePullSecrets": _ref("imagePullSecrets"),
            "podSecurityContext": _OBJECT,
            "containerSecurityContext": _OBJECT,
            "config": config,
            "controller": _ref("controller"),
            "postanalytics": _ref("postanalytics"),
        },
        "allOf": [token_rule],
        "$defs": dict(sorted(defs.items())),
    }


def render() -> str:
    return json.dumps(values_schema(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--output", type=Path, default=SCHEMA_PATH)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
