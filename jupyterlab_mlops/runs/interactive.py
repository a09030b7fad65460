"""Tracking from code: interactive runs and the metrics, params and artifacts logged to runs.

A live kernel (or a script) that logs outside a batch run gets an *interactive* run for its
notebook, so nothing logged is lost; it ends with the kernel. ``log_metric`` / ``log_param`` /
``log_artifact`` attach to any run that is not finished yet — batch or interactive.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import Conflict, InvalidInput, NotFound
from ..paths import relative_to_root, resolve_in_root
from ..store.artifacts import ArtifactStore
from ..store.db import Database
from ..store.models import Run, RunArtifact, RunMetric, RunParam
from . import TERMINAL_STATES, provenance
from .processes import this_host

MAX_KEY_LENGTH = 255


# Outputs travel through the store to the next step: values, not data sets.
MAX_OUTPUT_BYTES = 64 * 1024


def _loggable(session: Session, run_id: str) -> Run:
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound(f"no such run: {run_id}")
    if run.status in TERMINAL_STATES:
        raise Conflict(f"run {run_id} already finished ({run.status}); cannot log to it")
    return run


def _key(key: Any) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"a metric/param key must be a non-empty string (≤ {MAX_KEY_LENGTH} chars)"
        )
    return key.strip()


class Tracking:
    """Interactive runs, and logging to runs, in one store."""

    def __init__(self, db: Database, artifacts: ArtifactStore, root: Path):
        self.db = db
        self.artifacts = artifacts
        self.root = root

    def start_interactive(self, notebook_path: str, *, user: str = "") -> str:
        """Record a running interactive run of this process for ``notebook_path``; its id."""
        path = resolve_in_root(self.root, notebook_path, must_exist=False)
        rel = relative_to_root(self.root, path)
        sha = self.artifacts.put_file(path) if path.is_file() else None
        prov = {
            "notebook_path": rel,
            "notebook_sha256": sha,
            "parameters": {},
            "kernel": {
                "name": None,
                "language": "python",
                "language_version": provenance.python_info()["version"],
            },
            "python": provenance.python_info(),
            "packages": provenance.installed_packages(),
            "platform": provenance.platform_info(),
            "git": provenance.git_info(path.parent if path.parent.is_dir() else self.root),
            "inputs": {},
            "user": user,
            "recorded_at": datetime.now(timezone.utc).isoformat(),
        }
        with self.db.session() as session:
            run = Run(
                kind="interactive",
                notebook_path=rel,
                status="running",
                created_by=user,
                started_at=datetime.now(timezone.utc),
                pid=os.getpid(),
                host=this_host(),
                executor="interactive",
                input_notebook_sha256=sha,
                provenance=prov,
                trigger="interactive",
            )
            session.add(run)
            session.flush()
            return run.id

    def log_metric(
        self, run_id: str, key: str, value: Any, step: int | None = None
    ) -> dict[str, Any]:
        key = _key(key)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"metric {key!r} must be a number, got {value!r}") from None
        if isinstance(value, bool) or not math.isfinite(number):
            raise InvalidInput(f"metric {key!r} must be a finite number, got {value!r}")
        with self.db.write_session() as session:
            _loggable(session, run_id)
            if step is None:
                step = session.scalar(
                    select(func.count())
                    .select_from(RunMetric)
                    .where(RunMetric.run_id == run_id, RunMetric.key == key)
                )
            session.add(RunMetric(run_id=run_id, key=key, value=number, step=int(step)))
        return {"run_id": run_id, "key": key, "value": number, "step": int(step)}

    def log_param(self, run_id: str, key: str, value: Any) -> dict[str, Any]:
        key = _key(key)
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        with self.db.write_session() as session:
            _loggable(session, run_id)
            existing = session.scalars(
                select(RunParam).where(RunParam.run_id == run_id, RunParam.key == key)
            ).first()
            if existing is None:
                session.add(RunParam(run_id=run_id, key=key, value=text))
            else:
                existing.value = text
        return {"run_id": run_id, "key": key, "value": text}

    def log_output(self, run_id: str, key: str, value: Any) -> dict[str, Any]:
        """Declare an output of the run: a JSON value later pipeline steps read as
        ``${steps.<step>.outputs.<key>}`` (files: log them as artifacts, output the name)."""
        key = _key(key)
        try:
            text = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise InvalidInput(
                f"output {key!r} must be a JSON value (str, number, bool, list, dict): {err}",
                details={"field": key},
            ) from None
        if len(text) > MAX_OUTPUT_BYTES:
            raise InvalidInput(
                f"output {key!r} is {len(text)} bytes of JSON, over {MAX_OUTPUT_BYTES}: log a "
                "file with mlops.log_artifact and output its name instead",
                details={"field": key},
            )
        with self.db.write_session() as session:
            run = _loggable(session, run_id)
            run.outputs = {**(run.outputs or {}), key: json.loads(text)}
        return {"run_id": run_id, "key": key, "value": json.loads(text)}

    def log_artifact(
        self, run_id: str, path: str | os.PathLike, name: str | None = None, kind: str = "file"
    ) -> dict[str, Any]:
        file = Path(path)
        if not file.is_file():
            raise NotFound(f"no such file: {path}")
        sha = self.artifacts.put_file(file)
        size = file.stat().st_size
        with self.db.write_session() as session:
            _loggable(session, run_id)
            session.add(
                RunArtifact(run_id=run_id, name=name or file.name, sha256=sha, size=size, kind=kind)
            )
        return {"run_id": run_id, "name": name or file.name, "sha256": sha, "size": size}
