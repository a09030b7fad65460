"""Turning a request to run a notebook into a queued ``Run`` row, with its provenance.

Everything about a submission is validated first (the notebook, its parameters and their types,
the kernel, timeout, tags, input files — all confined to the server root); only then is the exact
input notebook stored and the provenance collected, and the caller records the run in one
transaction. Bad input therefore leaves nothing behind. Reproductions are prepared from a stored
run instead of the file on disk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInput
from ..paths import relative_to_root, resolve_in_root
from ..store.artifacts import ArtifactStore
from ..store.models import Run
from . import parameters, provenance
from .limits import RunLimits, check_limits


@dataclass
class PreparedSubmission:
    """A validated submission: nothing of it is stored yet."""

    path: Path
    data: bytes
    parameters: dict[str, Any]
    kernel: dict[str, Any]
    timeout: float | None
    tags: list[str]
    input_files: dict[str, Path]
    limits: RunLimits = field(default_factory=RunLimits)
    declared: list[dict[str, Any]] = field(default_factory=list)
    #: input files of a reproduced run that no longer exist (recorded as unhashed)
    missing_inputs: list[str] = field(default_factory=list)


def check_timeout(value: Any, default: float) -> float | None:
    if value is None or value == "":
        return default if default and default > 0 else None
    try:
        timeout = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"timeout must be a number of seconds, got {value!r}", details={"field": "timeout"}
        ) from None
    if isinstance(value, bool) or not math.isfinite(timeout) or timeout <= 0:
        raise InvalidInput(
            f"timeout must be a positive number of seconds, got {value!r}",
            details={"field": "timeout"},
        )
    return timeout


def check_tags(tags: Any) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise InvalidInput("tags must be a list of strings", details={"field": "tags"})
    return [t for t in tags if t.strip()]


class Submissions:
    """Validation and provenance of new runs under one server root."""

    def __init__(self, root: Path, artifacts: ArtifactStore):
        self.root = root
        self.artifacts = artifacts

    def notebook_file(self, notebook_path: str, field: str = "notebook_path") -> Path:
        """A notebook under the root: a regular ``.ipynb`` file (not a directory or a FIFO)."""
        path = resolve_in_root(self.root, notebook_path, regular_file=True, field=field)
        if path.suffix != ".ipynb":
            raise InvalidInput(
                f"{field}: {notebook_path!r} is not a notebook (.ipynb)", details={"field": field}
            )
        return path

    def inspect(self, notebook_path: str) -> dict[str, Any]:
        """The notebook's parameters and kernel (what the run dialog builds its form from)."""
        path = self.notebook_file(notebook_path, field="path")
        nb = parameters.read_notebook(path)
        return parameters.describe_notebook(nb, relative_to_root(self.root, path))

    def _input_files(self, input_files: Any) -> dict[str, Path]:
        if input_files is None:
            return {}
        if not isinstance(input_files, list | tuple) or not all(
            isinstance(f, str) for f in input_files
        ):
            raise InvalidInput(
                "input_files must be a list of paths", details={"field": "input_files"}
            )
        files: dict[str, Path] = {}
        for item in input_files:
            path = resolve_in_root(self.root, item, regular_file=True, field="input_files")
            files[relative_to_root(self.root, path)] = path
        return files

    def prepare(
        self,
        notebook_path: str,
        values: dict[str, Any] | None,
        *,
        kernel_name: str | None,
        timeout: Any,
        tags: Any,
        input_files: Any,
        from_text: bool,
        default_timeout: float,
        memory: Any = None,
        cpus: Any = None,
        default_limits: RunLimits = RunLimits(),
    ) -> PreparedSubmission:
        """Validate everything about a submission; nothing is written."""
        path = self.notebook_file(notebook_path)
        data = path.read_bytes()
        nb = parameters.read_notebook(path)
        declared = parameters.inspect_parameters(nb)
        resolved = parameters.validate_parameters(declared, values, from_text=from_text)
        if kernel_name is not None and (not isinstance(kernel_name, str) or not kernel_name):
            raise InvalidInput(
                "kernel_name must be a non-empty string", details={"field": "kernel_name"}
            )
        nb_kernel = (nb.get("metadata", {}).get("kernelspec") or {}).get("name")
        return PreparedSubmission(
            path=path,
            data=data,
            declared=declared,
            parameters=resolved,
            kernel=provenance.kernel_info(kernel_name or nb_kernel or "python3"),
            timeout=check_timeout(timeout, default_timeout),
            tags=check_tags(tags),
            input_files=self._input_files(input_files),
            limits=check_limits(memory, cpus, default_limits),
        )

    def prepare_reproduction(self, source: dict[str, Any], data: bytes) -> PreparedSubmission:
        """Re-run ``source`` (a run dict) from its stored input notebook ``data``."""
        present, missing = {}, []
        for item in source["input_files"]:
            candidate = resolve_in_root(self.root, item, must_exist=False)
            if candidate.is_file():
                present[item] = candidate
            else:
                missing.append(item)
        return PreparedSubmission(
            path=resolve_in_root(self.root, source["notebook_path"], must_exist=False),
            data=data,
            parameters=source["parameters"],
            kernel=provenance.kernel_info(source["kernel_name"] or "python3"),
            timeout=source["timeout_seconds"],
            tags=source["tags"],
            input_files=present,
            missing_inputs=missing,
            limits=RunLimits.of(source),
        )

    def coerce(self, prepared: PreparedSubmission, name: str, value: Any, from_text: bool) -> Any:
        """One parameter value checked and coerced against the notebook's declaration."""
        return parameters.validate_parameters(
            prepared.declared, {name: value}, from_text=from_text
        )[name]

    def base_provenance(self, prepared: PreparedSubmission, user: str) -> dict[str, Any]:
        """Store the exact input notebook; collect the environment (shared by a sweep's runs)."""
        sha = self.artifacts.put_bytes(prepared.data)
        prov = provenance.collect(
            root=self.root,
            notebook_path=prepared.path,
            notebook_sha256=sha,
            parameters=prepared.parameters,
            kernel=prepared.kernel,
            input_files=prepared.input_files,
            user=user,
        )
        # Declared inputs are stored too, so a worker that does not share the lab's disk
        # fetches them by their sha256 (runs/workspace.py); the stored bytes' hash is recorded.
        stored = {n: self.artifacts.put_file(p) for n, p in prepared.input_files.items()}
        prov["inputs"] = {**prov["inputs"], **stored}
        return prov

    def new_run(
        self,
        prepared: PreparedSubmission,
        params: dict[str, Any],
        base_provenance: dict[str, Any],
        *,
        executor: str,
        user: str,
        trigger: str,
        trigger_details: dict[str, Any] | None,
        **extra: Any,
    ) -> Run:
        """The queued ``Run`` row (not yet added to a session)."""
        path = prepared.path
        prov = dict(base_provenance)
        prov["parameters"] = params
        stored = base_provenance.get("inputs") or {}
        declared = {name: stored[name] for name in prepared.input_files if name in stored}
        files = {
            name: file
            for name, file in provenance.parameter_paths(self.root, path.parent, params).items()
            if name not in declared
        }
        prov["inputs"] = {
            **provenance.input_hashes(self.root, files),
            **declared,
            **{k: None for k in prepared.missing_inputs},
        }
        return Run(
            kind="batch",
            notebook_path=relative_to_root(self.root, path),
            status="queued",
            parameters=params,
            kernel_name=prepared.kernel["name"],
            timeout_seconds=prepared.timeout,
            tags=prepared.tags,
            input_files=sorted(prepared.input_files) + prepared.missing_inputs,
            trigger=trigger,
            trigger_details=trigger_details or {},
            created_by=user,
            executor=executor,
            input_notebook_sha256=prov["notebook_sha256"],
            provenance=prov,
            memory_limit_bytes=prepared.limits.memory_bytes,
            cpus=prepared.limits.cpus,
            **extra,
        )
