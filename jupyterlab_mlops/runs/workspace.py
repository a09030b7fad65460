"""A run's private working directory on a machine that does not share the lab's disk.

A Dask worker is told only the run id and the ``MLOPS_*`` variables of the store and the
artifact store. It makes an empty directory, which stands in for the lab's root for the worker
and its kernel (``MLOPS_ROOT_DIR``), and fills it from the artifact store: the stored input
notebook at the notebook's path, and each declared input file at its root-relative path — both
by sha256, verified while copying — so a notebook that reads ``data.csv`` next to it finds it.
What the run produces goes back through the stores (the output notebook and logged artifacts to
the artifact store, metrics, progress and status to the store); the lab fetches the output
notebook on demand (``RunService.materialize_output``). The directory is removed afterwards.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import MLOpsError
from ..paths import resolve_in_root
from ..store.artifacts import ArtifactStore

#: set in a worker's environment when its root is a workspace, not the lab's root
WORKSPACE_VARIABLE = "MLOPS_WORKSPACE"


def create(run_id: str) -> Path:
    """A new, empty workspace for ``run_id`` in this machine's temporary directory."""
    return Path(tempfile.mkdtemp(prefix=f"mlops-workspace-{run_id}-")).resolve()


def remove(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)


def populate(directory: Path, run: dict[str, Any], artifacts: ArtifactStore) -> list[str]:
    """Fetch the run's notebook and declared inputs into ``directory``; the paths fetched.

    A declared input recorded without a hash (missing when a reproduction was submitted) is
    left out, as it would be missing on the lab's disk too.
    """
    hashes = (run.get("provenance") or {}).get("inputs") or {}
    wanted = {run["notebook_path"]: run["input_notebook_sha256"]}
    wanted.update({name: hashes.get(name) for name in run.get("input_files") or []})
    fetched = []
    for name, sha in wanted.items():
        if not sha:
            continue
        target = resolve_in_root(directory, name, must_exist=False)
        if target == directory:
            raise MLOpsError(f"input path {name!r} names the workspace itself")
        artifacts.get_file(sha, target)
        fetched.append(name)
    return fetched
