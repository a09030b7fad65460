"""Example requests for a deployment: one plausible input row, a ready-to-copy curl call.

Built from a version's signature (and its profile's means where known), so what the one-click
dialog prints answers 200 as it stands.
"""

from __future__ import annotations

import json
import shlex
from typing import Any


def example_record(signature: dict[str, Any], profile: dict[str, Any] | None = None) -> dict:
    """One plausible input row from a signature (profile means where known), for the curl call."""
    columns = (profile or {}).get("columns") or {}
    row: dict[str, Any] = {}
    for spec in signature.get("inputs") or []:
        name, kind = spec.get("name"), spec.get("kind", "numeric")
        if kind == "categorical":
            row[name] = (spec.get("categories") or [""])[0]
        elif kind == "boolean":
            row[name] = False
        else:
            mean = (columns.get(name) or {}).get("mean")
            value = round(float(mean), 4) if isinstance(mean, int | float) else 0.0
            row[name] = int(round(value)) if "int" in str(spec.get("dtype", "")) else value
    return row


def curl_command(url: str, signature: dict[str, Any], profile: dict | None = None) -> str:
    body = json.dumps({"records": [example_record(signature, profile)]})
    return (
        f"curl -s -X POST {url}/predict -H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )
