"""The ``deployments`` table: the only module that reads or writes it.

A record is handed around as a plain dict (:meth:`DeploymentRecords.to_dict`, the REST shape):
the service, the deployers, alias following and the workflows above never see a row. Each
deployment also owns a directory, ``<base_dir>/<id>/`` (serving log, prediction log, bundles,
build context, manifests); its layout is defined here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ..errors import NotFound
from ..paths import make_dirs_in_root
from ..refs import parse_ref
from ..store import models as m
from ..store.db import Database

# Statuses of a deployment that serves (or is about to).
ACTIVE = ("pending", "starting", "running")
# Statuses of a deployment that no longer serves anything.
INACTIVE = ("stopped", "failed", "deleted", "removed", "error")


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def served_models(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    """What a deployment serves, model by model: its hosted models, or — a single-model
    deployment — itself, as its one model (its fields, with ``name`` the model's name)."""
    return deployment.get("models") or [{**deployment, "name": deployment["model"]}]


class DeploymentRecords:
    """Deployment rows in ``db`` and their directories under ``base_dir``."""

    def __init__(self, db: Database, base_dir: str | Path):
        self.db = db
        self.base_dir = Path(base_dir)

    # -- layout -------------------------------------------------------------------------------

    def paths(self, deployment_id: str) -> dict[str, str]:
        root = self.base_dir / deployment_id
        return {
            "deploy_dir": str(root),
            "log_path": str(root / "serving.log"),
            "prediction_log": str(root / "predictions.sqlite"),
            "manifest_path": str(root / "kubernetes.yaml"),
        }

    def bundle_dir(self, deployment_id: str, version: int, model: str | None = None) -> str:
        """Where a version's bundle is written; ``model``: a hosted model of a multi-model
        deployment (its versions apart from the others')."""
        bundles = self.base_dir / deployment_id / "bundles"
        return str((bundles / model if model else bundles) / f"v{int(version)}")

    def model_log(self, deployment_id: str, index: int, name: str) -> str:
        """A hosted model's prediction log: the first one's is the deployment's own."""
        if index == 0:
            return self.paths(deployment_id)["prediction_log"]
        return str(self.base_dir / deployment_id / f"predictions-{name}.sqlite")

    def hosted_models(self, row: m.Deployment, config: dict[str, Any]) -> list[dict[str, Any]]:
        """The hosted models of a multi-model record (``[]`` for a single-model one)."""
        entries = config.get("models") or []
        hosted = []
        for index, served in enumerate(row.models or []):
            entry = entries[index] if index < len(entries) else {}
            challenger = (entry.get("canary") or entry.get("shadow") or {}).get("version")
            name = served["name"]
            hosted.append(
                {
                    "name": name,
                    "model_ref": served["model_ref"],
                    "follows_alias": parse_ref(served["model_ref"]).alias,
                    "version": served["version"],
                    "challenger_version": challenger,
                    "bundle_dir": self.bundle_dir(row.id, served["version"], name),
                    "challenger_bundle_dir": (
                        self.bundle_dir(row.id, challenger, name)
                        if challenger is not None
                        else None
                    ),
                    "prediction_log": self.model_log(row.id, index, name),
                    "loaded": None,  # asked of the running process with the stats
                }
            )
        return hosted

    # -- the dict every caller sees -----------------------------------------------------------

    def to_dict(self, row: m.Deployment) -> dict[str, Any]:
        ref = parse_ref(row.model_ref)
        config = dict(row.config or {})
        challenger = (config.get("canary") or config.get("shadow") or {}).get("version")
        hosted = self.hosted_models(row, config)
        return {
            "id": row.id,
            "name": row.name,
            "model": row.model_name,
            "model_ref": row.model_ref,
            "follows_alias": ref.alias,
            "version": row.version,
            "target": row.target,
            "status": row.status,
            "status_reason": row.status_reason,
            "url": row.url,
            "port": row.port,
            "pid": row.pid,
            "host": row.host,
            "image": row.image,
            "container_id": row.container_id,
            "context_dir": row.context_dir,
            "log_path": row.log_path,
            "prediction_log": row.prediction_log,
            "manifest_path": (
                self.paths(row.id)["manifest_path"] if row.target == "kubernetes" else None
            ),
            "bundle_dir": hosted[0]["bundle_dir"]
            if hosted
            else self.bundle_dir(row.id, row.version),
            "challenger_version": challenger,
            "challenger_bundle_dir": (
                self.bundle_dir(row.id, challenger) if challenger is not None else None
            ),
            "models": hosted,
            "config": config,
            "restarts": row.restarts or 0,
            "created_by": row.created_by,
            "created_at": _iso(row.created_at),
            "updated_at": _iso(row.updated_at),
        }

    # -- write --------------------------------------------------------------------------------

    def insert(
        self,
        *,
        name: str,
        model: str,
        model_ref: str,
        version: int,
        target: str,
        config: dict[str, Any],
        user: str,
        models: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A new record (status ``starting``) with its paths; its directory is created.
        ``models``: the hosted models of a multi-model deployment (name, model_ref, version)."""
        with self.db.session() as session:
            row = m.Deployment(
                name=name,
                model_name=model,
                model_ref=model_ref,
                version=int(version),
                target=target,
                status="starting",
                config=config,
                models=models,
                created_by=user,
            )
            session.add(row)
            session.flush()
            paths = self.paths(row.id)
            row.log_path = paths["log_path"]
            row.prediction_log = paths["prediction_log"]
            row.context_dir = (
                paths["deploy_dir"]
                if target == "local"
                else str(Path(paths["deploy_dir"]) / "context")
            )
            session.flush()
            record = self.to_dict(row)
        # The deployment's directory, walked without following links (none may lead elsewhere).
        self.base_dir.mkdir(parents=True, exist_ok=True)
        make_dirs_in_root(self.base_dir, record["id"])
        return record

    def update(self, deployment_id: str, **fields: Any) -> dict[str, Any]:
        with self.db.session() as session:
            row = self._row(session, deployment_id)
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = m.utcnow()
            session.flush()
            return self.to_dict(row)

    def delete(self, deployment_id: str) -> None:
        with self.db.session() as session:
            session.delete(self._row(session, deployment_id))

    # -- read ---------------------------------------------------------------------------------

    def _row(self, session, deployment_id: str) -> m.Deployment:
        row = session.get(m.Deployment, deployment_id) if isinstance(deployment_id, str) else None
        if row is None:
            raise NotFound(f"no deployment with id {deployment_id!r}")
        return row

    def get(self, deployment_id: str) -> dict[str, Any]:
        with self.db.session() as session:
            return self.to_dict(self._row(session, deployment_id))

    def page(
        self,
        *,
        status: str | None = None,
        model: str | None = None,
        target: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[dict[str, Any]], int]:
        """(one page newest first, total) of the records matching the filters."""
        query = select(m.Deployment)
        count = select(func.count()).select_from(m.Deployment)
        for column, value in (
            (m.Deployment.status, status),
            (m.Deployment.model_name, model),
            (m.Deployment.target, target),
        ):
            if value:
                query = query.where(column == value)
                count = count.where(column == value)
        query = query.order_by(m.Deployment.created_at.desc(), m.Deployment.id)
        with self.db.session() as session:
            total = session.scalar(count) or 0
            rows = session.scalars(query.offset(offset).limit(limit)).all()
            return [self.to_dict(row) for row in rows], total

    def find(
        self,
        *,
        name: str | None = None,
        model: str | None = None,
        model_ref: str | None = None,
        version: int | None = None,
        target: str | None = None,
        status: str | Sequence[str] | None = None,
        active: bool | None = None,
        pinned: bool | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Records matching every given filter, newest first. ``active``: not stopped or
        failed; ``pinned``: the reference names a version (``churn/3``), not an alias."""
        query = select(m.Deployment)
        for column, value in (
            (m.Deployment.name, name),
            (m.Deployment.model_name, model),
            (m.Deployment.model_ref, model_ref),
            (m.Deployment.version, version),
            (m.Deployment.target, target),
        ):
            if value is not None:
                query = query.where(column == value)
        if isinstance(status, str):
            query = query.where(m.Deployment.status == status)
        elif status is not None:
            query = query.where(m.Deployment.status.in_(list(status)))
        if active is not None:
            condition = m.Deployment.status.not_in(INACTIVE)
            query = query.where(condition if active else ~condition)
        if pinned is not None:
            follows = m.Deployment.model_ref.contains("@")
            query = query.where(~follows if pinned else follows)
        query = query.order_by(m.Deployment.created_at.desc(), m.Deployment.id).limit(limit)
        with self.db.session() as session:
            return [self.to_dict(row) for row in session.scalars(query).all()]
