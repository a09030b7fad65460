"""Lineage: version → run → notebook (path, sha256) → parameters → input data → git → environment.

Built from the run's recorded provenance (the ``provenance`` of the runs service's detail
dict), so it says what actually ran, not what the notebook looks like now. A version registered
outside any run still reports its own artifact and the environment captured at registration,
and lists what is missing.
"""

from __future__ import annotations

from typing import Any

from ..store import models as m
from .records import iso

ENVIRONMENT_KEYS = ("kernel", "python", "packages", "platform")
RUN_FIELDS = (
    "id",
    "kind",
    "status",
    "trigger",
    "created_by",
    "created_at",
    "started_at",
    "finished_at",
    "output_notebook_path",
    "output_notebook_sha256",
)


def build_lineage(
    model_name: str, version: m.ModelVersion, run: dict[str, Any] | None, aliases: list[str]
) -> dict[str, Any]:
    """``run`` is the runs service's detail dict of the version's run (None: no run)."""
    chain: dict[str, Any] = {
        "model": {
            "name": model_name,
            "version": version.version,
            "aliases": aliases,
            "artifact_sha256": version.artifact_sha256,
            "serialization": version.serialization,
            "flavour": version.flavour,
            "model_class": version.model_class,
            "created_by": version.created_by,
            "created_at": iso(version.created_at),
        },
        "run": None,
        "notebook": None,
        "parameters": {},
        "inputs": {},
        "git": None,
        "environment": dict(version.environment or {}),
        "missing": [],
    }
    if run is None:
        chain["missing"].append("run")
        return chain
    provenance = dict(run.get("provenance") or {})
    chain["run"] = {key: run.get(key) for key in RUN_FIELDS}
    chain["run"]["user"] = provenance.get("user")
    chain["notebook"] = {
        "path": run.get("notebook_path"),
        "sha256": provenance.get("notebook_sha256") or run.get("input_notebook_sha256"),
    }
    chain["parameters"] = (
        provenance["parameters"]
        if "parameters" in provenance
        else dict(run.get("parameters") or {})
    )
    chain["inputs"] = dict(provenance.get("inputs") or {})
    chain["git"] = provenance.get("git")
    if any(key in provenance for key in ENVIRONMENT_KEYS):
        chain["environment"] = {key: provenance.get(key) for key in ENVIRONMENT_KEYS}
    if not provenance:
        chain["missing"].append("provenance")
    if chain["git"] is None:
        chain["missing"].append("git")
    if not chain["notebook"]["sha256"]:
        chain["missing"].append("notebook_sha256")
    return chain
