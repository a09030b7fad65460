"""``RegistryService``: the model registry's one entry point — registered models, versions,
aliases, quality gates, the audit log and lineage.

Everything else calls this facade (REST, CLI, magics, the notebook API, workflows, other
domains through ports app.py wires); the concepts live in their own modules:

- ``versions.py``: registering (a fitted model, or a run's model file), archiving;
- ``aliases.py``: promotion through the gate, deletion, rollback;
- ``gate.py``: a model's quality gate (definition, evaluation, storage);
- ``queries.py``: pages of models, versions and audit entries;
- ``records.py``: rows → JSON dicts, and reference → rows;
- ``artifacts.py``: a version's model file (trust checks, loading, environment);
- ``lineage.py``: version → run → notebook → parameters → inputs → git → environment.

The registry owns ``registered_models``, ``model_versions`` and ``model_aliases`` and writes
the audit log through ``store/audit.py``. What it needs from other domains comes in through
``ports.py``; what it has to say goes out as events (``VERSION_REGISTERED``,
``ALIAS_CHANGED``), published after the change commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import serialization
from ..errors import InvalidInput, NotFound
from ..events import EventBus
from ..refs import ModelRef, check_name, check_version, parse_ref
from ..store.models import utcnow
from . import queries, records
from .aliases import Aliases
from .gate import read_gate, write_gate
from .lineage import build_lineage
from .ports import DeploymentsHolding, ProfileBuilder, RunLookup
from .values import check_tags
from .versions import Versions

if TYPE_CHECKING:
    from ..store.artifacts import ArtifactStore
    from ..store.db import Database

Ref = str | tuple | ModelRef


class RegistryService:
    """Model registry on top of the SQL store and the artifact store."""

    # Kept as attributes: benchmarks and tools build dicts the way the registry does.
    version_dict = staticmethod(records.version_dict)
    model_dict = staticmethod(records.model_dict)

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        *,
        runs: RunLookup,
        deployments_holding: DeploymentsHolding,
        profile_builder: ProfileBuilder,
        events: EventBus,
    ):
        self.db = db
        self.artifacts = artifacts
        self.runs = runs
        self.events = events
        self._versions = Versions(
            db,
            artifacts,
            runs=runs,
            deployments_holding=deployments_holding,
            profile_builder=profile_builder,
            events=self.events,
        )
        self._aliases = Aliases(db, self.events)

    # -- resolving ------------------------------------------------------------------------------

    def resolve(self, ref: Ref, version: int | None = None) -> dict[str, Any]:
        """The full version dict a reference points at."""
        parsed = parse_ref(ref, version)
        with self.db.session() as session:
            model, row = records.resolve_rows(session, parsed)
            aliases = records.aliases_holding(session, model.id, row.version)
            return records.version_dict(model.name, row, aliases)

    def get_version(self, name: str, version: int | str) -> dict[str, Any]:
        return self.resolve(ModelRef(check_name(name), version=check_version(version)))

    def lineage(self, ref: Ref, version: int | None = None) -> dict[str, Any]:
        """The chain version → run → notebook → parameters → inputs → git → environment."""
        parsed = parse_ref(ref, version)
        with self.db.session() as session:
            model, row = records.resolve_rows(session, parsed)
            aliases = records.aliases_holding(session, model.id, row.version)
        run = None
        if row.run_id:
            try:
                run = self.runs.get(row.run_id)
            except NotFound:
                run = None  # the run is gone: lineage says so
        return build_lineage(model.name, row, run, aliases)

    # -- registering and archiving ----------------------------------------------------------------

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
        """Register a fitted model object as the next version of ``name``.

        ``X_sample`` gives the signature and the reference profile, ``y_sample`` the output;
        ``run_id`` links the version to the run that made it.
        """
        return self._versions.register(
            model,
            name,
            X_sample=X_sample,
            y_sample=y_sample,
            metrics=metrics,
            params=params,
            tags=tags,
            description=description,
            run_id=run_id,
            user=user,
            trust_pickle=trust_pickle,
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
        """Register a model file a run produced (by artifact name or sha256); the run's
        metrics and parameters become the version's, ``sample_artifact`` gives signature and
        profile."""
        return self._versions.register_run_artifact(
            name,
            run_id,
            artifact,
            sample_artifact=sample_artifact,
            target=target,
            metrics=metrics,
            params=params,
            tags=tags,
            description=description,
            user=user,
            trust=trust,
        )

    def archive(self, name: str, version: int | str, *, user: str = "", reason: str = "") -> dict:
        """Hide a version from ``name``-alone resolution; refused while it is in use."""
        return self._versions.archive(name, version, user=user, reason=reason)

    def unarchive(self, name: str, version: int | str, *, user: str = "", reason: str = "") -> dict:
        return self._versions.unarchive(name, version, user=user, reason=reason)

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
        """Models matching ``q`` (name/description), ``tag`` (key[=value]) and ``alias``."""
        with self.db.session() as session:
            return queries.list_models(
                session, q=q, tag=tag, alias=alias, offset=offset, limit=limit
            )

    def get_model(self, name: str) -> dict[str, Any]:
        with self.db.session() as session:
            return queries.get_model(session, name)

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
            row = records.find_model(session, name)
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
        with self.db.session() as session:
            return queries.list_versions(
                session, name, offset=offset, limit=limit, archived=archived, order=order
            )

    def versions_by_run(
        self, run_id: str, *, include_archived: bool = True, limit: int = 50
    ) -> list[dict[str, Any]]:
        """Versions a run registered, newest first (``{"name", "version", …}`` each)."""
        with self.db.session() as session:
            return queries.versions_by_run(
                session, run_id, include_archived=include_archived, limit=limit
            )

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
            return queries.audit_page(
                session, name, alias=alias, action=action, offset=offset, limit=limit
            )

    # -- artifacts ------------------------------------------------------------------------------

    def load_model(self, ref: Ref, *, trust: bool = False) -> Any:
        """The model object, after verifying its sha256 and its serialised types."""
        info = self.resolve(ref)
        data = self.artifacts.get_bytes(info["artifact_sha256"])  # IntegrityError on mismatch
        return serialization.load(data, info["serialization"], info["trusted_types"], trust=trust)

    def artifact_stream(self, ref: Ref) -> tuple[dict[str, Any], Iterator[bytes]]:
        """Verify the stored bytes, then hand back chunks for a streamed download."""
        info = self.resolve(ref)
        self.artifacts.verify(info["artifact_sha256"])
        return info, self.artifacts.iter_chunks(info["artifact_sha256"])

    # -- MLflow interchange ---------------------------------------------------------------------

    def export_mlflow(self, ref: Ref, directory: str | Path, *, trust: bool = False) -> dict:
        """Write the version as an MLflow Model directory (``mlflow.pyfunc.load_model`` loads
        it); its requirements come from the environment of the run that made it."""
        from .mlflow_format import write_mlflow_model

        info = self.resolve(ref)
        model = self.load_model(ref, trust=trust)
        environment = None
        if info.get("run_id"):
            try:
                environment = self.runs.get(info["run_id"]).get("provenance")
            except NotFound:
                environment = None  # the run is gone: this process's versions are used
        path = write_mlflow_model(Path(directory), model, info, environment=environment)
        return {"name": info["name"], "version": info["version"], "directory": str(path)}

    def export_mlflow_zip(self, ref: Ref) -> tuple[dict[str, Any], bytes]:
        """The MLflow Model directory of a version, zipped (the panel's download)."""
        import tempfile

        from .mlflow_format import zip_directory

        with tempfile.TemporaryDirectory(prefix="mlops-mlflow-") as folder:
            result = self.export_mlflow(ref, Path(folder) / "model")
            return result, zip_directory(Path(folder) / "model")

    def import_mlflow(
        self,
        directory: str | Path,
        name: str,
        *,
        trust: bool = False,
        description: str = "",
        user: str = "",
    ) -> dict[str, Any]:
        """Register an MLflow sklearn-flavour model directory as the next version of ``name``
        (a pickled model only with ``trust``; a skops one through the allow-list)."""
        from .mlflow_format import read_mlflow_model

        read = read_mlflow_model(Path(directory), trust=trust)
        return self.register(
            read["model"],
            name,
            X_sample=read["X_sample"],
            tags=read["tags"],
            description=description or f"imported from the MLflow model in {directory}",
            user=user,
            trust_pickle=trust,
        )

    # -- aliases --------------------------------------------------------------------------------

    def list_aliases(self, name: str) -> list[dict[str, Any]]:
        return self._aliases.list(name)

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
        """Point ``alias`` at ``version`` through the quality gate (``force`` + ``reason`` to
        override a refusal); ``GateFailed`` (409) when refused."""
        return self._aliases.set(name, alias, version, user=user, reason=reason, force=force)

    def delete_alias(self, name: str, alias: str, *, user: str = "", reason: str = "") -> dict:
        return self._aliases.delete(name, alias, user=user, reason=reason)

    def rollback(self, name: str, alias: str, *, user: str = "", reason: str = "") -> dict:
        """Move ``alias`` back to the version it pointed at before its last change."""
        return self._aliases.rollback(name, alias, user=user, reason=reason)

    # -- gate -----------------------------------------------------------------------------------

    def get_gate(self, name: str) -> dict[str, Any]:
        with self.db.session() as session:
            return read_gate(session, name)

    def set_gate(self, name: str, gate: Any, *, user: str = "", reason: str = "") -> dict:
        with self.db.session() as session:
            return write_gate(session, name, gate, user=user, reason=reason)
