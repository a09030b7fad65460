"""``RegistryService``: registered models, versions, aliases, gates, audit log and lineage.

Rules the service guarantees, whoever calls it (REST, CLI, magics, a notebook, a run):

- Versions are issued under the store's write lock (``db.write_session()`` and
  ``RegisteredModel.last_version``), so concurrent registrations from any number of processes
  get distinct, gap-free numbers.
- The artifact is stored (content-addressed) before the version row, and the row, the version
  counter and the audit entry are written in one transaction: no half-written versions.
- Every alias change, archive and gate decision is appended to the audit log; rollback replays
  that log to move an alias back to where it was.
- Artifacts are verified against their sha256 and deserialised only through the allow-listed
  skops path (pickle only with explicit trust).
"""

from __future__ import annotations

import io
import math
import platform
import re
import sys
from collections.abc import Iterator
from datetime import datetime
from importlib import metadata
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError as SQLIntegrityError
from sqlalchemy.orm import Session, load_only

from .. import serialization
from ..errors import Conflict, GateFailed, InvalidInput, NotFound, UntrustedArtifact
from ..refs import ModelRef, check_alias, check_name, check_version, parse_ref
from ..store import models as m
from ..store.models import utcnow
from .gate import evaluate_gate, normalize_gate
from .lineage import build_lineage
from .signature import as_frame, infer_signature, signature_from_model, to_jsonable

if TYPE_CHECKING:
    from ..app import MLOps

# Deployment statuses that no longer hold a version in service.
INACTIVE_DEPLOYMENT_STATUSES = ("stopped", "failed", "deleted", "removed", "error")
ALIAS_ACTIONS = ("set_alias", "delete_alias", "rollback")
TAG_KEY_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,255}$")
ENVIRONMENT_PACKAGES = ("scikit-learn", "numpy", "scipy", "pandas", "skops", "jupyterlab_mlops")
SUMMARY_COLUMNS = (
    m.ModelVersion.id,
    m.ModelVersion.model_id,
    m.ModelVersion.version,
    m.ModelVersion.artifact_sha256,
    m.ModelVersion.artifact_size,
    m.ModelVersion.serialization,
    m.ModelVersion.flavour,
    m.ModelVersion.model_class,
    m.ModelVersion.metrics,
    m.ModelVersion.params,
    m.ModelVersion.tags,
    m.ModelVersion.description,
    m.ModelVersion.run_id,
    m.ModelVersion.archived,
    m.ModelVersion.created_by,
    m.ModelVersion.created_at,
)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _page(items: list, total: int, offset: int, limit: int) -> dict[str, Any]:
    return {"items": items, "total": total, "offset": offset, "limit": limit}


def check_metrics(metrics: Any) -> dict[str, float]:
    if metrics is None:
        return {}
    if not isinstance(metrics, dict):
        raise InvalidInput("metrics must be an object {name: number}")
    clean = {}
    for key, value in metrics.items():
        if hasattr(value, "item") and not isinstance(value, bool):
            value = value.item()
        if (
            not isinstance(key, str)
            or isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise InvalidInput(f"metric {key!r} must be a finite number, got {value!r}")
        clean[key] = float(value)
    return clean


def check_params(params: Any) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise InvalidInput("params must be an object {name: value}")
    return to_jsonable({str(k): v for k, v in params.items()})


def check_tags(tags: Any) -> dict[str, str]:
    """Tags are string → string (searchable the same way in every SQL dialect)."""
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise InvalidInput("tags must be an object {key: value}")
    clean = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not TAG_KEY_RE.match(key):
            raise InvalidInput(f"invalid tag key {key!r}: use letters, digits, '_', '-' or '.'")
        clean[key] = "" if value is None else str(value)
    return clean


def describe_model(model: Any) -> tuple[str, str]:
    """``(flavour, model_class)``: sklearn-pipeline, sklearn or python."""
    cls = type(model)
    model_class = f"{cls.__module__}.{cls.__qualname__}"
    try:
        from sklearn.base import BaseEstimator
        from sklearn.pipeline import Pipeline
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        return "python", model_class
    if isinstance(model, Pipeline):
        return "sklearn-pipeline", model_class
    if isinstance(model, BaseEstimator):
        return "sklearn", model_class
    return "python", model_class


def environment_snapshot() -> dict[str, Any]:
    """Where the model was serialised: enough to rebuild a compatible environment."""
    packages = {}
    for name in ENVIRONMENT_PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": {"version": platform.python_version(), "executable": sys.executable},
        "packages": packages,
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "hostname": platform.node(),
        },
    }


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class RegistryService:
    """Model registry on top of the SQL store and the artifact store."""

    def __init__(self, mlops: MLOps):
        self.mlops = mlops

    @property
    def db(self):
        return self.mlops.db

    @property
    def artifacts(self):
        return self.mlops.artifacts

    # -- dicts ----------------------------------------------------------------------------------

    @staticmethod
    def version_dict(
        name: str, row: Any, aliases: list[str], *, full: bool = True
    ) -> dict[str, Any]:
        """One version as JSON; ``full`` adds signature, profile, trusted types, environment."""
        data = {
            "name": name,
            "version": row.version,
            "artifact_sha256": row.artifact_sha256,
            "artifact_size": row.artifact_size,
            "serialization": row.serialization,
            "flavour": row.flavour,
            "model_class": row.model_class,
            "metrics": dict(row.metrics or {}),
            "params": dict(row.params or {}),
            "tags": dict(row.tags or {}),
            "description": row.description,
            "run_id": row.run_id,
            "archived": bool(row.archived),
            "aliases": sorted(aliases),
            "created_by": row.created_by,
            "created_at": _iso(row.created_at),
        }
        if full:
            data.update(
                trusted_types=list(row.trusted_types or []),
                signature=dict(row.signature or {}),
                profile=dict(row.profile or {}),
                environment=dict(row.environment or {}),
            )
        return data

    @staticmethod
    def model_dict(
        row: m.RegisteredModel,
        *,
        version_count: int,
        latest: dict[str, Any] | None,
        aliases: dict[str, int],
    ) -> dict[str, Any]:
        return {
            "name": row.name,
            "description": row.description,
            "tags": dict(row.tags or {}),
            "gate": dict(row.gate or {}),
            "last_version": row.last_version,
            "version_count": version_count,
            "latest_version": latest["version"] if latest else None,
            "latest": latest,
            "aliases": dict(sorted(aliases.items())),
            "created_by": row.created_by,
            "created_at": _iso(row.created_at),
            "updated_at": _iso(row.updated_at),
        }

    @staticmethod
    def audit_dict(row: m.AuditEntry) -> dict[str, Any]:
        return {
            "id": row.id,
            "model_name": row.model_name,
            "action": row.action,
            "alias": row.alias,
            "from_version": row.from_version,
            "to_version": row.to_version,
            "reason": row.reason,
            "forced": bool(row.forced),
            "details": dict(row.details or {}),
            "user": row.user,
            "created_at": _iso(row.created_at),
        }

    # -- lookups --------------------------------------------------------------------------------

    @staticmethod
    def _model(session: Session, name: str) -> m.RegisteredModel:
        row = session.scalars(
            select(m.RegisteredModel).where(m.RegisteredModel.name == check_name(name))
        ).first()
        if row is None:
            raise NotFound(f"model {name!r} not found")
        return row

    @staticmethod
    def _version(session: Session, model: m.RegisteredModel, version: int) -> m.ModelVersion:
        row = session.scalars(
            select(m.ModelVersion).where(
                m.ModelVersion.model_id == model.id, m.ModelVersion.version == version
            )
        ).first()
        if row is None:
            raise NotFound(f"version {version} of model {model.name!r} not found")
        return row

    @staticmethod
    def _aliases_of(session: Session, model_id: int) -> dict[str, int]:
        rows = session.execute(
            select(m.ModelAlias.alias, m.ModelAlias.version).where(
                m.ModelAlias.model_id == model_id
            )
        )
        return {alias: version for alias, version in rows}

    @classmethod
    def _held(cls, session: Session, model_id: int, version: int) -> list[str]:
        """The aliases pointing at ``version``."""
        return sorted(a for a, v in cls._aliases_of(session, model_id).items() if v == version)

    def _resolve_row(
        self, session: Session, ref: ModelRef
    ) -> tuple[m.RegisteredModel, m.ModelVersion]:
        model = self._model(session, ref.name)
        if ref.alias is not None:
            alias = session.get(m.ModelAlias, (model.id, ref.alias))
            if alias is None:
                raise NotFound(f"alias {ref.alias!r} of model {ref.name!r} not found")
            return model, self._version(session, model, alias.version)
        if ref.version is not None:
            return model, self._version(session, model, ref.version)
        row = session.scalars(
            select(m.ModelVersion)
            .where(m.ModelVersion.model_id == model.id, m.ModelVersion.archived.is_(False))
            .order_by(m.ModelVersion.version.desc())
            .limit(1)
        ).first()
        if row is None:
            raise NotFound(f"model {ref.name!r} has no active (non-archived) version")
        return model, row

    def resolve(self, ref: str | tuple | ModelRef, version: int | None = None) -> dict[str, Any]:
        """The full version dict a reference points at."""
        parsed = parse_ref(ref, version)
        with self.db.session() as session:
            model, row = self._resolve_row(session, parsed)
            aliases = self._held(session, model.id, row.version)
            return self.version_dict(model.name, row, aliases)

    # -- registration ---------------------------------------------------------------------------

    def _check_run(self, run_id: str | None) -> None:
        if run_id is None:
            return
        if not isinstance(run_id, str) or not run_id:
            raise InvalidInput(f"invalid run id {run_id!r}")
        with self.db.session() as session:
            if session.get(m.Run, run_id) is None:
                raise NotFound(f"run {run_id!r} not found")

    def _profile(self, frame: Any) -> dict[str, Any]:
        """The reference profile of the training sample (the drift engine's baseline)."""
        from ..drift.profile import build_profile

        return to_jsonable(build_profile(frame))

    def register(
        self,
        model: Any,
        name: str,
        *,
        X_sample: Any = None,
        y_sample: Any = None,
        metrics: dict | None = None,
        params: dict | None = None,
        tags: dict | None = None,
        description: str = "",
        run_id: str | None = None,
        user: str = "",
        trust_pickle: bool = False,
    ) -> dict[str, Any]:
        """Register a fitted model object as the next version of ``name``."""
        check_name(name)
        metrics, params, tags = check_metrics(metrics), check_params(params), check_tags(tags)
        self._check_run(run_id)
        data, kind, trusted = serialization.dump(model, trust_pickle=trust_pickle)
        if X_sample is not None:
            signature = infer_signature(X_sample, y_sample, model)
            profile = self._profile(as_frame(X_sample))
        else:
            signature, profile = signature_from_model(model), {}
        flavour, model_class = describe_model(model)
        return self._create_version(
            name,
            data=data,
            serialization_kind=kind,
            trusted_types=trusted,
            flavour=flavour,
            model_class=model_class,
            signature=signature,
            profile=profile,
            metrics=metrics,
            params=params,
            tags=tags,
            description=description or "",
            run_id=run_id,
            user=user,
        )

    def register_run_artifact(
        self,
        name: str,
        run_id: str,
        artifact: str,
        *,
        sample_artifact: str | None = None,
        target: str | None = None,
        metrics: dict | None = None,
        params: dict | None = None,
        tags: dict | None = None,
        description: str = "",
        user: str = "",
        trust: bool = False,
    ) -> dict[str, Any]:
        """Register a model file a run produced (``RunArtifact`` by name or sha256).

        The run's logged metrics and parameters become the version's (explicit values win).
        ``sample_artifact`` (a CSV/Parquet/JSON file of the same run; ``target`` names the
        label column) gives the signature and reference profile; without it the signature
        comes from the fitted model itself.
        """
        check_name(name)
        metrics, params, tags = check_metrics(metrics), check_params(params), check_tags(tags)
        if not isinstance(run_id, str) or not run_id:
            raise InvalidInput("run_id is required")
        with self.db.session() as session:
            run = session.get(m.Run, run_id)
            if run is None:
                raise NotFound(f"run {run_id!r} not found")
            model_artifact = self._run_artifact(run, artifact)
            sample = self._run_artifact(run, sample_artifact) if sample_artifact else None
            run_metrics: dict[str, float] = {}
            for metric in run.metrics:  # ordered by id: the last logged value wins
                run_metrics[metric.key] = metric.value
            run_params = {**dict(run.parameters or {}), **{p.key: p.value for p in run.params}}
            artifact_sha, artifact_name = model_artifact.sha256, model_artifact.name
        data = self.artifacts.get_bytes(artifact_sha)
        kind = serialization.detect(data, artifact_name)
        if kind == serialization.SKOPS:
            trusted = serialization._untrusted_types(data)
            disallowed = [t for t in trusted if not serialization.is_safe_type(t)]
            if disallowed and not trust:
                raise UntrustedArtifact(
                    f"{artifact_name} contains types outside the allow-list: "
                    f"{', '.join(disallowed)}; pass trust=true only if you trust this run"
                )
        elif not trust:
            raise UntrustedArtifact(
                f"{artifact_name} is a {kind} file: unpickling can run arbitrary code. "
                "Save the model with skops, or pass trust=true if you trust this run."
            )
        else:
            trusted = []
        model = serialization.load(data, kind, trusted, trust=trust)
        flavour, model_class = describe_model(model)
        if sample is not None:
            frame = self._read_frame(sample.sha256, sample.name)
            y = None
            if target is not None:
                if target not in frame.columns:
                    raise InvalidInput(f"target column {target!r} is not in {sample.name}")
                frame, y = frame.drop(columns=[target]), frame[target]
            signature, profile = infer_signature(frame, y, model), self._profile(frame)
        else:
            signature, profile = signature_from_model(model), {}
        return self._create_version(
            name,
            data=data,
            serialization_kind=kind,
            trusted_types=trusted,
            flavour=flavour,
            model_class=model_class,
            signature=signature,
            profile=profile,
            metrics={**check_metrics(run_metrics), **metrics},
            params={**check_params(run_params), **params},
            tags=tags,
            description=description or "",
            run_id=run_id,
            user=user,
        )

    @staticmethod
    def _run_artifact(run: m.Run, key: str) -> m.RunArtifact:
        if not isinstance(key, str) or not key:
            raise InvalidInput("artifact must be the name or sha256 of one of the run's artifacts")
        matches = [a for a in run.artifacts if a.name == key or a.sha256 == key.lower()]
        if not matches:
            names = ", ".join(sorted({a.name for a in run.artifacts})) or "none"
            raise NotFound(f"run {run.id} has no artifact {key!r} (its artifacts: {names})")
        return matches[-1]

    def _read_frame(self, sha256: str, filename: str):
        import pandas as pd

        data = io.BytesIO(self.artifacts.get_bytes(sha256))
        lowered = filename.lower()
        try:
            if lowered.endswith(".parquet"):
                return pd.read_parquet(data)
            if lowered.endswith(".json"):
                return pd.read_json(data)
            if lowered.endswith((".csv", ".csv.gz", ".txt")):
                return pd.read_csv(data)
        except Exception as err:
            raise InvalidInput(f"cannot read {filename} as a table: {err}") from None
        raise InvalidInput(f"{filename}: a sample must be a .csv, .parquet or .json file")

    def _create_version(
        self,
        name: str,
        *,
        data: bytes,
        serialization_kind: str,
        trusted_types: list[str],
        flavour: str,
        model_class: str,
        signature: dict,
        profile: dict,
        metrics: dict,
        params: dict,
        tags: dict,
        description: str,
        run_id: str | None,
        user: str,
    ) -> dict[str, Any]:
        # Artifact first: a crash after this leaves an unreferenced blob, never a dangling row.
        sha256 = self.artifacts.put_bytes(data)
        environment = environment_snapshot()
        for attempt in range(3):
            try:
                with self.db.write_session() as session:
                    model = session.scalars(
                        select(m.RegisteredModel)
                        .where(m.RegisteredModel.name == name)
                        .with_for_update()
                    ).first()
                    if model is None:
                        model = m.RegisteredModel(name=name, created_by=user, last_version=0)
                        session.add(model)
                        session.flush()
                    model.last_version = (model.last_version or 0) + 1
                    model.updated_at = utcnow()
                    row = m.ModelVersion(
                        model_id=model.id,
                        version=model.last_version,
                        artifact_sha256=sha256,
                        artifact_size=len(data),
                        serialization=serialization_kind,
                        flavour=flavour,
                        model_class=model_class,
                        trusted_types=list(trusted_types),
                        signature=signature,
                        profile=profile,
                        metrics=metrics,
                        params=params,
                        tags=tags,
                        environment=environment,
                        description=description,
                        run_id=run_id,
                        created_by=user,
                    )
                    session.add(row)
                    session.add(
                        m.AuditEntry(
                            model_name=name,
                            action="register",
                            to_version=model.last_version,
                            user=user,
                            details={"artifact_sha256": sha256, "run_id": run_id},
                        )
                    )
                    session.flush()
                    return self.version_dict(name, row, [])
            except SQLIntegrityError:
                # Two processes created the same new model name at once (PostgreSQL); retry.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # -- reading --------------------------------------------------------------------------------

    def list_models(
        self,
        *,
        q: str | None = None,
        tag: str | None = None,
        alias: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> dict[str, Any]:
        """Models (by name) matching the filters, with latest version, count and aliases.

        ``q``: substring of the name or description; ``tag``: ``key`` or ``key=value`` on the
        model's or any version's tags; ``alias``: models that have this alias set.
        """
        conditions = []
        if q:
            pattern = _like(q)
            conditions.append(
                or_(
                    m.RegisteredModel.name.ilike(pattern, escape="\\"),
                    m.RegisteredModel.description.ilike(pattern, escape="\\"),
                )
            )
        if tag:
            key, has_value, value = tag.partition("=")
            if not TAG_KEY_RE.match(key):
                raise InvalidInput(f"invalid tag filter {tag!r}: expected key or key=value")

            def tag_condition(column):
                extracted = column[key].as_string()
                return extracted == value if has_value else extracted.is_not(None)

            version_match = (
                select(m.ModelVersion.id)
                .where(
                    m.ModelVersion.model_id == m.RegisteredModel.id,
                    tag_condition(m.ModelVersion.tags),
                )
                .exists()
            )
            conditions.append(or_(tag_condition(m.RegisteredModel.tags), version_match))
        if alias:
            check_alias(alias)
            conditions.append(
                select(m.ModelAlias.alias)
                .where(m.ModelAlias.model_id == m.RegisteredModel.id, m.ModelAlias.alias == alias)
                .exists()
            )
        where = and_(*conditions) if conditions else None
        with self.db.session() as session:
            count = select(func.count()).select_from(m.RegisteredModel)
            page = select(m.RegisteredModel).order_by(m.RegisteredModel.name)
            if where is not None:
                count, page = count.where(where), page.where(where)
            total = session.scalar(count) or 0
            rows = session.scalars(page.offset(offset).limit(limit)).all()
            ids = [row.id for row in rows]
            counts, latest, aliases = self._model_extras(session, ids)
            items = [
                self.model_dict(
                    row,
                    version_count=counts.get(row.id, 0),
                    latest=latest.get(row.id),
                    aliases=aliases.get(row.id, {}),
                )
                for row in rows
            ]
        return _page(items, total, offset, limit)

    def _model_extras(
        self, session: Session, ids: list[int]
    ) -> tuple[dict[int, int], dict[int, dict], dict[int, dict[str, int]]]:
        """Version counts, latest active version summaries and aliases for a page of models."""
        if not ids:
            return {}, {}, {}
        counts = dict(
            session.execute(
                select(m.ModelVersion.model_id, func.count())
                .where(m.ModelVersion.model_id.in_(ids))
                .group_by(m.ModelVersion.model_id)
            ).all()
        )
        aliases: dict[int, dict[str, int]] = {}
        for model_id, alias, version in session.execute(
            select(m.ModelAlias.model_id, m.ModelAlias.alias, m.ModelAlias.version).where(
                m.ModelAlias.model_id.in_(ids)
            )
        ):
            aliases.setdefault(model_id, {})[alias] = version
        newest = (
            select(
                m.ModelVersion.model_id.label("model_id"),
                func.max(m.ModelVersion.version).label("version"),
            )
            .where(m.ModelVersion.model_id.in_(ids), m.ModelVersion.archived.is_(False))
            .group_by(m.ModelVersion.model_id)
            .subquery()
        )
        rows = session.execute(
            select(m.ModelVersion, m.RegisteredModel.name)
            .options(load_only(*SUMMARY_COLUMNS))
            .join(
                newest,
                and_(
                    m.ModelVersion.model_id == newest.c.model_id,
                    m.ModelVersion.version == newest.c.version,
                ),
            )
            .join(m.RegisteredModel, m.RegisteredModel.id == m.ModelVersion.model_id)
        ).all()
        latest = {}
        for row, name in rows:
            held = [a for a, v in aliases.get(row.model_id, {}).items() if v == row.version]
            latest[row.model_id] = self.version_dict(name, row, held, full=False)
        return counts, latest, aliases

    def get_model(self, name: str) -> dict[str, Any]:
        with self.db.session() as session:
            row = self._model(session, name)
            counts, latest, aliases = self._model_extras(session, [row.id])
            return self.model_dict(
                row,
                version_count=counts.get(row.id, 0),
                latest=latest.get(row.id),
                aliases=aliases.get(row.id, {}),
            )

    def update_model(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: dict | None = None,
        user: str = "",
    ) -> dict[str, Any]:
        if description is not None and not isinstance(description, str):
            raise InvalidInput("description must be a string")
        clean_tags = check_tags(tags) if tags is not None else None
        with self.db.session() as session:
            row = self._model(session, name)
            if description is not None:
                row.description = description
            if clean_tags is not None:
                row.tags = clean_tags
            row.updated_at = utcnow()
        return self.get_model(name)

    def list_versions(
        self,
        name: str,
        *,
        offset: int = 0,
        limit: int = 50,
        archived: bool | None = None,
        order: str = "desc",
    ) -> dict[str, Any]:
        """A page of version summaries (no signature/profile: those are in ``get_version``)."""
        if order not in ("asc", "desc"):
            raise InvalidInput(f"order must be 'asc' or 'desc', got {order!r}")
        with self.db.session() as session:
            model_id = session.scalar(
                select(m.RegisteredModel.id).where(m.RegisteredModel.name == check_name(name))
            )
            if model_id is None:
                raise NotFound(f"model {name!r} not found")
            condition = m.ModelVersion.model_id == model_id
            if archived is not None:
                condition = and_(condition, m.ModelVersion.archived.is_(archived))
            count = select(func.count()).select_from(m.ModelVersion).where(condition)
            total = session.scalar(count)
            ordering = m.ModelVersion.version.desc() if order == "desc" else m.ModelVersion.version
            # Plain column rows (no ORM identity map, no profile/signature): a page of a model
            # with 10 000 versions stays a few milliseconds of SQL.
            rows = session.execute(
                select(*SUMMARY_COLUMNS)
                .where(condition)
                .order_by(ordering)
                .offset(offset)
                .limit(limit)
            ).all()
            by_version: dict[int, list[str]] = {}
            for alias, version in self._aliases_of(session, model_id).items():
                by_version.setdefault(version, []).append(alias)
            items = [
                self.version_dict(name, row, by_version.get(row.version, []), full=False)
                for row in rows
            ]
        return _page(items, total or 0, offset, limit)

    def versions_by_run(
        self, run_id: str, *, include_archived: bool = True, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Versions a run registered, newest first (``{"name", "version", …}`` each)."""
        with self.db.session() as session:
            query = (
                select(m.ModelVersion)
                .join(m.ModelVersion.model)
                .where(m.ModelVersion.run_id == run_id)
                .order_by(m.ModelVersion.created_at.desc(), m.ModelVersion.version.desc())
                .limit(limit)
            )
            if not include_archived:
                query = query.where(m.ModelVersion.archived.is_(False))
            rows = session.scalars(query).all()
            return [
                self.version_dict(
                    row.model.name,
                    row,
                    sorted(self._held(session, row.model_id, row.version)),
                    full=False,
                )
                for row in rows
            ]

    def get_version(self, name: str, version: int | str) -> dict[str, Any]:
        return self.resolve(ModelRef(check_name(name), version=check_version(version)))

    def lineage(self, ref: str | tuple | ModelRef, version: int | None = None) -> dict[str, Any]:
        """The chain version → run → notebook → parameters → inputs → git → environment."""
        parsed = parse_ref(ref, version)
        with self.db.session() as session:
            model, row = self._resolve_row(session, parsed)
            aliases = self._held(session, model.id, row.version)
            run = session.get(m.Run, row.run_id) if row.run_id else None
            return build_lineage(model.name, row, run, sorted(aliases))

    # -- artifacts ------------------------------------------------------------------------------

    def load_model(self, ref: str | tuple | ModelRef, *, trust: bool = False) -> Any:
        """The model object, after verifying its sha256 and its serialised types."""
        info = self.resolve(ref)
        data = self.artifacts.get_bytes(info["artifact_sha256"])  # IntegrityError on mismatch
        return serialization.load(data, info["serialization"], info["trusted_types"], trust=trust)

    def artifact_stream(
        self, ref: str | tuple | ModelRef
    ) -> tuple[dict[str, Any], Iterator[bytes]]:
        """Verify the stored bytes, then hand back chunks for a streamed download."""
        info = self.resolve(ref)
        self.artifacts.verify(info["artifact_sha256"])
        return info, self.artifacts.iter_chunks(info["artifact_sha256"])

    # -- aliases --------------------------------------------------------------------------------

    def list_aliases(self, name: str) -> list[dict[str, Any]]:
        with self.db.session() as session:
            model = self._model(session, name)
            return [
                {"alias": a.alias, "version": a.version, "updated_at": _iso(a.updated_at)}
                for a in model.aliases
            ]

    def _holders(self, session: Session, model: m.RegisteredModel) -> dict[str, dict[str, Any]]:
        held = self._aliases_of(session, model.id)
        if not held:
            return {}
        rows = session.execute(
            select(m.ModelVersion.version, m.ModelVersion.metrics).where(
                m.ModelVersion.model_id == model.id,
                m.ModelVersion.version.in_(set(held.values())),
            )
        ).all()
        metrics = {version: values or {} for version, values in rows}
        return {
            alias: {"version": version, "metrics": metrics.get(version, {})}
            for alias, version in held.items()
        }

    def set_alias(
        self,
        name: str,
        alias: str,
        version: int | str,
        *,
        user: str = "",
        reason: str = "",
        force: bool = False,
    ) -> dict[str, Any]:
        """Point ``alias`` at ``version`` (a promotion), subject to the model's quality gate.

        A failing gate raises ``GateFailed`` (409, the comparison in the message) unless
        ``force`` with a ``reason``; the forced promotion is audited with ``forced=True``.
        """
        check_alias(alias)
        version = check_version(version)
        reason = (reason or "").strip()
        if force and not reason:
            raise InvalidInput("a reason is required to force a promotion past the quality gate")
        with self.db.write_session() as session:
            model = self._model(session, name)
            row = self._version(session, model, version)
            if row.archived:
                raise Conflict(
                    f"version {version} of model {name!r} is archived; unarchive it before "
                    f"pointing {alias!r} at it"
                )
            current = session.get(m.ModelAlias, (model.id, alias))
            previous = current.version if current else None
            result = {
                "name": name,
                "alias": alias,
                "version": version,
                "previous_version": previous,
                "changed": previous != version,
                "forced": False,
                "gate": None,
            }
            if previous == version:
                return result
            gate = evaluate_gate(
                model.gate or {},
                alias,
                {"version": version, "metrics": row.metrics or {}},
                self._holders(session, model),
            )
            result["gate"] = gate.to_dict()
            refused = not gate.passed and not force
            if not refused:
                forced = not gate.passed
                result["forced"] = forced
                if current is None:
                    session.add(m.ModelAlias(model_id=model.id, alias=alias, version=version))
                else:
                    current.version, current.updated_at = version, utcnow()
                model.updated_at = utcnow()
                session.add(
                    m.AuditEntry(
                        model_name=name,
                        action="set_alias",
                        alias=alias,
                        from_version=previous,
                        to_version=version,
                        reason=reason,
                        forced=forced,
                        user=user,
                        details={"gate": gate.to_dict()} if gate.applies else {},
                    )
                )
                return result
        message = gate.message(name, version, alias)
        with self.db.session() as session:
            session.add(
                m.AuditEntry(
                    model_name=name,
                    action="promotion_refused",
                    alias=alias,
                    from_version=previous,
                    to_version=version,
                    reason=reason,
                    user=user,
                    details={"gate": gate.to_dict(), "message": message},
                )
            )
        raise GateFailed(message, details={"gate": gate.to_dict(), "alias": alias})

    def delete_alias(self, name: str, alias: str, *, user: str = "", reason: str = "") -> dict:
        check_alias(alias)
        with self.db.write_session() as session:
            model = self._model(session, name)
            current = session.get(m.ModelAlias, (model.id, alias))
            if current is None:
                raise NotFound(f"alias {alias!r} of model {name!r} not found")
            previous = current.version
            session.delete(current)
            model.updated_at = utcnow()
            session.add(
                m.AuditEntry(
                    model_name=name,
                    action="delete_alias",
                    alias=alias,
                    from_version=previous,
                    to_version=None,
                    reason=(reason or "").strip(),
                    user=user,
                )
            )
        return {"name": name, "alias": alias, "version": None, "previous_version": previous}

    def rollback(self, name: str, alias: str, *, user: str = "", reason: str = "") -> dict:
        """Move ``alias`` back to the version it pointed at before its last change.

        The audit log is replayed as an undo stack: every set/move/delete pushes the version it
        replaced, every rollback pops one, so repeated rollbacks walk further back. Rollback is
        an emergency action and is not subject to the quality gate.
        """
        check_alias(alias)
        with self.db.write_session() as session:
            model = self._model(session, name)
            entries = session.scalars(
                select(m.AuditEntry)
                .where(
                    m.AuditEntry.model_name == name,
                    m.AuditEntry.alias == alias,
                    m.AuditEntry.action.in_(ALIAS_ACTIONS),
                )
                .order_by(m.AuditEntry.id)
            ).all()
            stack: list[int] = []
            for entry in entries:
                if entry.action == "rollback":
                    if stack:
                        stack.pop()
                elif entry.from_version is not None:
                    stack.append(entry.from_version)
            if not stack:
                raise Conflict(
                    f"alias {alias!r} of model {name!r} has no earlier version to roll back to"
                )
            target = stack[-1]
            row = self._version(session, model, target)
            if row.archived:
                raise Conflict(
                    f"cannot roll {name}@{alias} back to version {target}: it is archived; "
                    "unarchive it first"
                )
            current = session.get(m.ModelAlias, (model.id, alias))
            previous = current.version if current else None
            if current is None:
                session.add(m.ModelAlias(model_id=model.id, alias=alias, version=target))
            else:
                current.version, current.updated_at = target, utcnow()
            model.updated_at = utcnow()
            session.add(
                m.AuditEntry(
                    model_name=name,
                    action="rollback",
                    alias=alias,
                    from_version=previous,
                    to_version=target,
                    reason=(reason or "").strip(),
                    user=user,
                )
            )
        return {"name": name, "alias": alias, "version": target, "previous_version": previous}

    # -- archiving ------------------------------------------------------------------------------

    def archive(self, name: str, version: int | str, *, user: str = "", reason: str = "") -> dict:
        """Hide a version from ``name``-alone resolution; refused while it is in use."""
        version = check_version(version)
        with self.db.write_session() as session:
            model = self._model(session, name)
            row = self._version(session, model, version)
            held = self._held(session, model.id, version)
            if held:
                raise Conflict(
                    f"version {version} of model {name!r} is pointed at by alias(es) "
                    f"{', '.join(held)}; move them before archiving"
                )
            deployments = session.scalars(
                select(m.Deployment.name).where(
                    m.Deployment.model_name == name,
                    m.Deployment.version == version,
                    m.Deployment.status.not_in(INACTIVE_DEPLOYMENT_STATUSES),
                )
            ).all()
            if deployments:
                raise Conflict(
                    f"version {version} of model {name!r} is deployed "
                    f"({', '.join(deployments)}); stop the deployment(s) before archiving"
                )
            if not row.archived:
                row.archived = True
                session.add(
                    m.AuditEntry(
                        model_name=name,
                        action="archive",
                        to_version=version,
                        reason=(reason or "").strip(),
                        user=user,
                    )
                )
            return self.version_dict(name, row, [])

    def unarchive(self, name: str, version: int | str, *, user: str = "", reason: str = "") -> dict:
        version = check_version(version)
        with self.db.write_session() as session:
            model = self._model(session, name)
            row = self._version(session, model, version)
            if row.archived:
                row.archived = False
                session.add(
                    m.AuditEntry(
                        model_name=name,
                        action="unarchive",
                        to_version=version,
                        reason=(reason or "").strip(),
                        user=user,
                    )
                )
            return self.version_dict(name, row, [])

    # -- gate and audit -------------------------------------------------------------------------

    def get_gate(self, name: str) -> dict[str, Any]:
        with self.db.session() as session:
            return dict(self._model(session, name).gate or {})

    def set_gate(self, name: str, gate: Any, *, user: str = "", reason: str = "") -> dict:
        clean = normalize_gate(gate)
        with self.db.session() as session:
            model = self._model(session, name)
            previous = dict(model.gate or {})
            model.gate = clean
            model.updated_at = utcnow()
            session.add(
                m.AuditEntry(
                    model_name=name,
                    action="set_gate",
                    reason=(reason or "").strip(),
                    user=user,
                    details={"gate": clean, "previous": previous},
                )
            )
        return clean

    def audit(
        self,
        name: str,
        *,
        alias: str | None = None,
        action: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> dict[str, Any]:
        """The model's audit log, newest first."""
        with self.db.session() as session:
            self._model(session, name)
            condition = m.AuditEntry.model_name == name
            if alias:
                condition = and_(condition, m.AuditEntry.alias == check_alias(alias))
            if action:
                condition = and_(condition, m.AuditEntry.action == action)
            total = session.scalar(select(func.count()).select_from(m.AuditEntry).where(condition))
            rows = session.scalars(
                select(m.AuditEntry)
                .where(condition)
                .order_by(m.AuditEntry.id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
            return _page([self.audit_dict(r) for r in rows], total or 0, offset, limit)
