"""Serving bundles: one directory that holds everything a serving process needs.

``model.<serialization>`` (the registered artifact bytes) and ``mlops-model.json`` (name, version,
sha256, serialization, trusted types, signature, profile, metrics, lineage). A bundle is what the
local deployer points a uvicorn process at and what the docker deployer copies into an image, so
the serving process never needs the metadata store. Loading verifies the sha256 first.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError, InvalidInput, NotFound

if TYPE_CHECKING:
    from ..app import MLOps

METADATA_FILE = "mlops-model.json"
BUNDLE_FORMAT = 1

# keys copied from the registry's version dict into the bundle metadata
_VERSION_KEYS = (
    "name",
    "version",
    "artifact_sha256",
    "serialization",
    "flavour",
    "model_class",
    "trusted_types",
    "signature",
    "profile",
    "metrics",
    "params",
    "tags",
    "description",
    "run_id",
    "aliases",
    "created_by",
    "created_at",
)


def model_filename(serialization: str) -> str:
    return f"model.{serialization}"


def _lineage(mlops: MLOps, version: dict) -> tuple[dict, dict]:
    """Lineage summary and captured environment of the run that produced the version."""
    lineage: dict[str, Any] = {
        "run_id": version.get("run_id"),
        "notebook_path": None,
        "notebook_sha256": None,
        "git_commit": None,
    }
    environment: dict[str, Any] = dict(version.get("environment") or {})
    run_id = version.get("run_id")
    if not run_id:
        return lineage, environment
    from ..store.models import Run

    with mlops.db.session() as session:
        run = session.get(Run, run_id)
        if run is None:
            return lineage, environment
        provenance = dict(run.provenance or {})
        lineage["notebook_path"] = run.notebook_path
        lineage["notebook_sha256"] = provenance.get("notebook_sha256") or run.input_notebook_sha256
        git = provenance.get("git") or {}
        lineage["git_commit"] = git.get("commit")
        lineage["git_dirty"] = git.get("dirty")
        lineage["parameters"] = provenance.get("parameters", run.parameters)
        if not environment:
            environment = {
                key: provenance[key]
                for key in ("python", "packages", "platform")
                if key in provenance
            }
    return lineage, environment


def write_bundle(mlops: MLOps, ref: Any, dest_dir: str | os.PathLike) -> dict:
    """Resolve ``ref`` in the registry and write its bundle to ``dest_dir``; returns the metadata.

    The artifact is copied from the artifact store with its sha256 verified while copying; the
    metadata file is written last and atomically, so a directory with ``mlops-model.json`` is
    always a complete bundle.
    """
    version = mlops.registry.resolve(ref)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    serialization = version["serialization"]
    filename = model_filename(serialization)
    mlops.artifacts.get_file(version["artifact_sha256"], dest / filename)
    lineage, environment = _lineage(mlops, version)
    metadata: dict[str, Any] = {key: version.get(key) for key in _VERSION_KEYS}
    metadata.update(
        {
            "format": BUNDLE_FORMAT,
            "model_file": filename,
            "lineage": lineage,
            "environment": environment,
            "bundled_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )
    write_metadata(dest, metadata)
    return metadata


def write_metadata(dest: str | os.PathLike, metadata: dict) -> Path:
    """Write ``mlops-model.json`` atomically (tests and tools that build bundles by hand)."""
    dest = Path(dest)
    fd, tmp = tempfile.mkstemp(dir=dest, prefix=".mlops-model-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(metadata, f, indent=2, sort_keys=True, default=str)
        os.replace(tmp, dest / METADATA_FILE)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest / METADATA_FILE


def read_metadata(bundle_dir: str | os.PathLike) -> dict:
    path = Path(bundle_dir) / METADATA_FILE
    if not path.is_file():
        raise NotFound(f"{bundle_dir} is not a serving bundle: {METADATA_FILE} is missing")
    try:
        metadata = json.loads(path.read_text())
    except ValueError as err:
        raise InvalidInput(f"{path} is not valid JSON: {err}") from None
    missing = [
        k for k in ("name", "version", "artifact_sha256", "serialization") if k not in metadata
    ]
    if missing:
        raise InvalidInput(f"{path} lacks {', '.join(missing)}")
    return metadata


def load_bundle(bundle_dir: str | os.PathLike, *, trust: bool = False) -> tuple[Any, dict]:
    """``(model, metadata)`` from a bundle, refusing an artifact whose sha256 does not match.

    Deserialisation goes through ``registry.serialization.load`` (skops with the recorded trusted
    types); pickled artifacts need ``trust=True``.
    """
    from ..serialization import load

    metadata = read_metadata(bundle_dir)
    model_path = Path(bundle_dir) / metadata.get(
        "model_file", model_filename(metadata["serialization"])
    )
    if not model_path.is_file():
        raise NotFound(f"bundle {bundle_dir} has no model file {model_path.name}")
    data = model_path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()  # (not store.artifacts: keeps start-up light)
    if actual != str(metadata["artifact_sha256"]).lower():
        raise IntegrityError(
            f"{model_path} is corrupt or was replaced: it hashes to {actual}, the bundle records "
            f"{metadata['artifact_sha256']}; refusing to serve it"
        )
    model = load(data, metadata["serialization"], metadata.get("trusted_types") or [], trust=trust)
    return model, metadata
