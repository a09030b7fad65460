"""Comparing a reproduced run with the original: outputs cell by cell, and the environment.

Outputs are normalised before comparing: execution counts and metadata are ignored, and so are
timestamps, durations and memory addresses (``<object at 0x7f…>``), which differ on every run
without meaning the result changed. Widget state is ignored (its ids are random).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{4,16}\b")
ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
CTIME = re.compile(
    r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4}\b"
)
CLOCK = re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b")
IGNORED_MIME = (
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.jupyter.widget-state+json",
)
TEXT_MIME_PREFIXES = ("text/", "application/json", "image/svg+xml")


def scrub(text: str) -> str:
    text = ADDRESS.sub("0x…", text)
    text = ISO_DATETIME.sub("<datetime>", text)
    text = CTIME.sub("<datetime>", text)
    text = CLOCK.sub("<time>", text)
    return text


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    if isinstance(value, dict):
        import json

        return json.dumps(value, sort_keys=True)
    return str(value)


def normalise_outputs(cell: dict[str, Any]) -> list[str]:
    """One comparable line-oriented string per output of a code cell."""
    result = []
    for output in cell.get("outputs", []) or []:
        kind = output.get("output_type")
        if kind == "stream":
            result.append(f"[{output.get('name', 'stdout')}]\n{scrub(_text(output.get('text')))}")
        elif kind in ("execute_result", "display_data"):
            for mime, value in sorted((output.get("data") or {}).items()):
                if mime in IGNORED_MIME:
                    continue
                body = _text(value)
                if mime.startswith(TEXT_MIME_PREFIXES):
                    body = scrub(body)
                result.append(f"[{mime}]\n{body}")
        elif kind == "error":
            result.append(f"[error]\n{output.get('ename')}: {scrub(str(output.get('evalue', '')))}")
    return result


def compare_notebooks(original: dict[str, Any], reproduced: dict[str, Any]) -> dict[str, Any]:
    """Per code cell: do the (normalised) outputs match? Cells are aligned by position."""
    a = [c for c in original.get("cells", []) if c.get("cell_type") == "code"]
    b = [c for c in reproduced.get("cells", []) if c.get("cell_type") == "code"]
    cells = []
    for position in range(max(len(a), len(b))):
        left = normalise_outputs(a[position]) if position < len(a) else None
        right = normalise_outputs(b[position]) if position < len(b) else None
        match = left == right
        entry: dict[str, Any] = {
            "code_cell": position,
            "source": "".join(
                (a[position] if position < len(a) else b[position]).get("source", "")
            )[:200],
            "match": match,
        }
        if not match:
            if left is None or right is None:
                entry["diff"] = "cell missing in the " + (
                    "original" if left is None else "reproduction"
                )
            else:
                entry["diff"] = "\n".join(
                    list(
                        difflib.unified_diff(
                            "\n".join(left).splitlines(),
                            "\n".join(right).splitlines(),
                            "original",
                            "reproduced",
                            lineterm="",
                            n=1,
                        )
                    )[:60]
                )[:4000]
        cells.append(entry)
    matched = sum(1 for c in cells if c["match"])
    return {"match": matched == len(cells), "matched": matched, "total": len(cells), "cells": cells}


def _dict_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    old, new = old or {}, new or {}
    return {
        "added": {k: new[k] for k in sorted(set(new) - set(old))},
        "removed": {k: old[k] for k in sorted(set(old) - set(new))},
        "changed": {
            k: {"original": old[k], "reproduced": new[k]}
            for k in sorted(set(old) & set(new))
            if old[k] != new[k]
        },
    }


def environment_diff(original: dict[str, Any], reproduced: dict[str, Any]) -> dict[str, Any]:
    """What differs between the two provenance records (empty sections when nothing does)."""
    git_old, git_new = original.get("git") or {}, reproduced.get("git") or {}
    git = {
        key: {"original": git_old.get(key), "reproduced": git_new.get(key)}
        for key in ("commit", "branch", "dirty")
        if git_old.get(key) != git_new.get(key)
    }
    packages = _dict_diff(original.get("packages", {}), reproduced.get("packages", {}))
    inputs = _dict_diff(original.get("inputs", {}), reproduced.get("inputs", {}))
    simple = {}
    for section in ("python", "kernel", "platform"):
        diff = _dict_diff(original.get(section) or {}, reproduced.get(section) or {})["changed"]
        if diff:
            simple[section] = diff
    same = not git and not any(packages.values()) and not any(inputs.values()) and not simple
    return {
        "same": same,
        "notebook_sha256_equal": original.get("notebook_sha256")
        == reproduced.get("notebook_sha256"),
        "packages": packages,
        "git": git,
        "inputs": inputs,
        **simple,
    }


def compare_runs(
    original_nb: dict[str, Any] | None,
    reproduced_nb: dict[str, Any] | None,
    original_provenance: dict[str, Any],
    reproduced_provenance: dict[str, Any],
    *,
    original_run_id: str,
) -> dict[str, Any]:
    if original_nb is None or reproduced_nb is None:
        outputs: dict[str, Any] = {
            "match": False,
            "matched": 0,
            "total": 0,
            "cells": [],
            "note": "no output notebook to compare "
            + ("for the original run" if original_nb is None else "for the reproduction"),
        }
    else:
        outputs = compare_notebooks(original_nb, reproduced_nb)
    return {
        "original_run_id": original_run_id,
        "outputs_match": outputs["match"],
        "outputs": outputs,
        "environment": environment_diff(original_provenance, reproduced_provenance),
    }
