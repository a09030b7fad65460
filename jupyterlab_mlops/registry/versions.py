"""Creating versions — from a fitted model or from a model file a run produced — and archiving.

- Versions are issued under the store's write lock (``db.write_session()`` and
  ``RegisteredModel.last_version``), so concurrent registrations from any number of processes
  get distinct, gap-free numbers.
- The artifact is stored (content-addressed) before the version row, and the row, the version
  counter and the audit entry are written in one transaction: no half-written versions. Once
  it has committed, ``VERSION_REGISTERED`` is published.
- A version is linked to the run that made it; the run (its metrics, parameters, artifacts) is
  read through the runs service (``RunLookup``), never from the runs tables.
- An archived version is hidden from ``name``-alone resolution; archiving is refused while an
  alias points at the version or an active deployment serves it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as SQLIntegrityError

from .. import serialization
from ..errors import Conflict, InvalidInput, NotFound
from ..events import VERSION_REGISTERED, EventBus
from ..refs import check_name, check_version
from ..store import audit
from ..store import models as m
from ..store.models import utcnow
from .artifacts import (
    describe_model,
    environment_snapshot,
    load_run_model,
    read_frame,
    run_artifact,
)
from .ports import DeploymentsHolding, ProfileBuilder, RunLookup
from .records import aliases_holding, find_model, find_version, version_dict
from .signature import as_frame, infer_signature, signature_from_model, to_jsonable
from .values import check_metrics, check_params, check_tags

if TYPE_CHECKING:
    from ..store.artifacts import ArtifactStore
    from ..store.db import Database


class Versions:
    """Registration and archiving of model versions."""

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
        self.deployments_holding = deployments_holding
        self.profile_builder = profile_builder
        self.events = events

    # -- the run a version comes from -----------------------------------------------------------

    def _run(self, run_id: Any, *, required: bool = False) -> dict[str, Any] | None:
        if run_id is None and not required:
            return None
        if not isinstance(run_id, str) or not run_id:
            raise InvalidInput("run_id is required" if required else f"invalid run id {run_id!r}")
        try:
            return self.runs.get(run_id)
        except NotFound:
            raise NotFound(f"run {run_id!r} not found") from None

    def _profile(self, frame: Any, model: Any = None, y: Any = None) -> dict[str, Any]:
        """The reference profile of the sample (the drift engine's baseline); with the model and
        the sample's labels, also the calibration that estimates performance without labels."""
        return to_jsonable(self.profile_builder(frame, model=model, y=y))

    # -- registration ---------------------------------------------------------------------------

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
        self._run(run_id)
        data, kind, trusted = serialization.dump(model, trust_pickle=trust_pickle)
        if X_sample is not None:
            signature = infer_signature(X_sample, y_sample, model)
            profile = self._profile(as_frame(X_sample), model, y_sample)
        else:
            signature, profile = signature_from_model(model), {}
        flavour, model_class = describe_model(model)
        return self._create(
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
        """Register a model file a run produced (a run artifact, by name or sha256).

        The run's logged metrics and parameters become the version's (explicit values win).
        ``sample_artifact`` (a CSV/Parquet/JSON file of the same run; ``target`` names the
        label column) gives the signature and reference profile; without it the signature
        comes from the fitted model itself.
        """
        check_name(name)
        metrics, params, tags = check_metrics(metrics), check_params(params), check_tags(tags)
        run = self._run(run_id, required=True)
        model_file = run_artifact(run, artifact)
        sample = run_artifact(run, sample_artifact) if sample_artifact else None
        run_params = {**dict(run.get("parameters") or {}), **dict(run.get("logged_params") or {})}
        data = self.artifacts.get_bytes(model_file["sha256"])
        model, kind, trusted = load_run_model(data, model_file["name"], trust=trust)
        flavour, model_class = describe_model(model)
        if sample is not None:
            frame = read_frame(self.artifacts.get_bytes(sample["sha256"]), sample["name"])
            y = None
            if target is not None:
                if target not in frame.columns:
                    raise InvalidInput(f"target column {target!r} is not in {sample['name']}")
                frame, y = frame.drop(columns=[target]), frame[target]
            signature, profile = infer_signature(frame, y, model), self._profile(frame, model, y)
        else:
            signature, profile = signature_from_model(model), {}
        return self._create(
            name,
            data=data,
            serialization_kind=kind,
            trusted_types=trusted,
            flavour=flavour,
            model_class=model_class,
            signature=signature,
            profile=profile,
            metrics={**check_metrics(run.get("metrics") or {}), **metrics},
            params={**check_params(run_params), **params},
            tags=tags,
            description=description or "",
            run_id=run_id,
            user=user,
        )

    def _create(
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
                    audit.record(
                        session,
                        model_name=name,
                        action="register",
                        to_version=model.last_version,
                        user=user,
                        details={"artifact_sha256": sha256, "run_id": run_id},
                    )
                    session.flush()
                    created = version_dict(name, row, [])
                break
            except SQLIntegrityError:
                # Two processes created the same new model name at once (PostgreSQL); retry.
                if attempt == 2:
                    raise
        self.events.publish(
            VERSION_REGISTERED,
            model=name,
            version=created["version"],
            run_id=run_id,
            user=user,
        )
        return created

    # -- archiving ------------------------------------------------------------------------------

    def archive(self, name: str, version: int | str, *, user: str = "", reason: str = "") -> dict:
        """Hide a version from ``name``-alone resolution; refused while it is in use."""
        version = check_version(version)
        with self.db.write_session() as session:
            model = find_model(session, name)
            row = find_version(session, model, version)
            held = aliases_holding(session, model.id, version)
            if held:
                raise Conflict(
                    f"version {version} of model {name!r} is pointed at by alias(es) "
                    f"{', '.join(held)}; move them before archiving"
                )
            deployments = self.deployments_holding(name, version)
            if deployments:
                raise Conflict(
                    f"version {version} of model {name!r} is deployed "
                    f"({', '.join(deployments)}); stop the deployment(s) before archiving"
                )
            if not row.archived:
                row.archived = True
                audit.record(
                    session,
                    model_name=name,
                    action="archive",
                    to_version=version,
                    reason=reason,
                    user=user,
                )
            return version_dict(name, row, [])

    def unarchive(self, name: str, version: int | str, *, user: str = "", reason: str = "") -> dict:
        version = check_version(version)
        with self.db.write_session() as session:
            model = find_model(session, name)
            row = find_version(session, model, version)
            if row.archived:
                row.archived = False
                audit.record(
                    session,
                    model_name=name,
                    action="unarchive",
                    to_version=version,
                    reason=reason,
                    user=user,
                )
            return version_dict(name, row, [])
