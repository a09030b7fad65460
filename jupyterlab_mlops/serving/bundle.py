"""Serving bundles: one directory that holds everything a serving process needs.

``model.<serialization>`` (the registered artifact bytes) and ``mlops-model.json`` (name, version,
sha256, serialization, trusted types, signature, profile, metrics, lineage). A bundle is what the
local deployer points a uvicorn process at and what the docker deployer copies into an image, so
the serving process never needs the metadata store. Loading verifies the sha256 first.

Writing a bundle (:class:`BundleWriter`) needs the registry, the runs and the artifact store,
passed in as ports; loading one (:func:`load_bundle`, in the serving process) needs none of them.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import IntegrityError, InvalidInput, NotFound
from ..paths import ConfinedDir

if TYPE_CHECKING:
    from ..store.artifacts import ArtifactStore
    from .ports import RunLookup, VersionLookup

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


class BundleWriter:
    """Writes bundles from the registry (``versions``), the runs that produced them (``runs``,
    for lineage) and the artifact store (the model bytes, sha256-verified while copied)."""

    def __init__(self, versions: VersionLookup, runs: RunLookup, artifacts: ArtifactStore):
        self.versions = versions
        self.runs = runs
        self.artifacts = artifacts

    def run_of(self, version: dict) -> dict | None:
        """The detail dict of the run that produced ``version`` (None when unknown or gone)."""
        run_id = version.get("run_id")
        if not run_id:
            return None
        try:
            return self.runs.get(run_id)
        except NotFound:
            return None

    def lineage(self, version: dict) -> tuple[dict, dict]:
        """Lineage summary and captured environment of the run that produced the version."""
        lineage: dict[str, Any] = {
            "run_id": version.get("run_id"),
            "notebook_path": None,
            "notebook_sha256": None,
            "git_commit": None,
        }
        environment: dict[str, Any] = dict(version.get("environment") or {})
        run = self.run_of(version)
        if run is None:
            return lineage, environment
        provenance = dict(run.get("provenance") or {})
        lineage["notebook_path"] = run.get("notebook_path")
        lineage["notebook_sha256"] = provenance.get("notebook_sha256") or run.get(
            "input_notebook_sha256"
        )
        git = provenance.get("git") or {}
        lineage["git_commit"] = git.get("commit")
        lineage["git_dirty"] = git.get("dirty")
        lineage["parameters"] = provenance.get("parameters", run.get("parameters"))
        if not environment:
            environment = {
                key: provenance[key]
                for key in ("python", "packages", "platform")
                if key in provenance
            }
        return lineage, environment

    def training_packages(self, version: dict) -> dict[str, str]:
        """Package versions recorded for the model and by its training run (empty if unknown)."""
        packages = dict((version.get("environment") or {}).get("packages") or {})
        run = self.run_of(version)
        if run is not None:
            packages.update((run.get("provenance") or {}).get("packages") or {})
        return packages

    def write(
        self, ref: Any, dest_dir: str | os.PathLike, *, root: str | os.PathLike | None = None
    ) -> dict:
        """Resolve ``ref`` and write its bundle to ``dest_dir``; returns the metadata.

        Every file goes through :class:`~jupyterlab_mlops.paths.ConfinedDir` below ``root``
        (the deployments directory; ``dest_dir``'s parent by default), so a symlink planted in
        the bundle directory is replaced or refused (403), never written through. The
        metadata file is written last and atomically, so a directory with ``mlops-model.json``
        is always a complete bundle.
        """
        version = self.versions.resolve(ref)
        dest = Path(dest_dir)
        base = dest.parent if root is None else Path(root)
        confined = ConfinedDir(base, os.path.relpath(dest, base))
        confined.make_dirs()
        serialization = version["serialization"]
        filename = model_filename(serialization)
        confined.write(filename, self._verified_chunks(version["artifact_sha256"]))
        lineage, environment = self.lineage(version)
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
        confined.write(METADATA_FILE, _metadata_bytes(metadata))
        return metadata

    def _verified_chunks(self, sha256: str) -> Iterator[bytes]:
        """The artifact's bytes, streamed; an :class:`IntegrityError` after the last chunk if
        they do not hash to ``sha256`` (the writer then leaves nothing behind)."""
        digest = hashlib.sha256()
        for chunk in self.artifacts.iter_chunks(sha256):
            digest.update(chunk)
            yield chunk
        if digest.hexdigest() != sha256.lower():
            raise IntegrityError(
                f"artifact {sha256} is corrupt: its content hashes to {digest.hexdigest()}"
            )


def write_bundle(source: Any, ref: Any, dest_dir: str | os.PathLike) -> dict:
    """Write the bundle of ``ref`` to ``dest_dir`` with ``source``: a :class:`BundleWriter`, or
    anything whose ``deployments.bundles`` is one (an ``MLOps``, for scripts and benchmarks)."""
    writer = source if isinstance(source, BundleWriter) else source.deployments.bundles
    return writer.write(ref, dest_dir)


def _metadata_bytes(metadata: dict) -> bytes:
    return json.dumps(metadata, indent=2, sort_keys=True, default=str).encode()


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
    data, metadata = read_verified(bundle_dir)
    return deserialize(data, metadata, trust=trust), metadata


def read_verified(bundle_dir: str | os.PathLike) -> tuple[bytes, dict]:
    """The model bytes and the metadata, sha256-checked: cheap, so a start-up can refuse a
    missing or corrupt bundle before it imports the model's libraries."""
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
    return data, metadata


def deserialize(data: bytes, metadata: dict, *, trust: bool = False) -> Any:
    from ..serialization import load

    return load(data, metadata["serialization"], metadata.get("trusted_types") or [], trust=trust)
