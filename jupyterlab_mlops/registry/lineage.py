"""Lineage: version → run → notebook (path, sha256) → parameters → input data → git → environment.

Built from the run's recorded provenance (``Run.provenance``), so it says what actually ran, not
what the notebook looks like now. A version registered outside any run still reports its own
artifact and the environment captured at registration, and lists what is missing.
"""

from __future__ import annotations

from typing import Any

from ..store import models as m

ENVIRONMENT_KEYS = ("kernel", "python", "packages", "platform")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def build_lineage(
    model_name: str, version: m.ModelVersion, run: m.Run | None, aliases: list[str]
) -> dict[str, Any]:
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
            "created_at": _iso(version.created_at),
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
    provenance = dict(run.provenance or {})
    chain["run"] = {
        "id": run.id,
        "kind": run.kind,
        "status": run.status,
        "trigger": run.trigger,
        "created_by": run.created_by,
        "created_at": _iso(run.created_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "output_notebook_path": run.output_notebook_path,
        "output_notebook_sha256": run.output_notebook_sha256,
        "user": provenance.get("user"),
    }
    chain["notebook"] = {
        "path": run.notebook_path,
        "sha256": provenance.get("notebook_sha256") or run.input_notebook_sha256,
    }
    chain["parameters"] = (
        provenance["parameters"] if "parameters" in provenance else dict(run.parameters or {})
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
