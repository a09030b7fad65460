"""ORM tables. Plain SQLAlchemy 2 declarative models; services turn them into dicts for callers.

Every change here needs the matching change in ``migrations/versions`` (a test compares the
migrated schema with these models).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    """Short, URL-safe, collision-resistant id (48 random bits are plenty per store)."""
    return uuid.uuid4().hex[:12]


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC: SQLite has no time zones, PostgreSQL does."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}


# --------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------


class RunGroup(Base):
    """A sweep: one grid of parameters submitted as many runs."""

    __tablename__ = "run_groups"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), default="")
    notebook_path: Mapped[str] = mapped_column(String(1024))
    grid: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metric: Mapped[str | None] = mapped_column(String(255))
    mode: Mapped[str] = mapped_column(String(8), default="max")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255), default="")

    runs: Mapped[list[Run]] = relationship(back_populates="group")


class Run(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_created_at", "created_at"),
        Index("ix_runs_status", "status"),
        Index("ix_runs_notebook_path", "notebook_path"),
        Index("ix_runs_schedule_id", "schedule_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # batch: executed headlessly; interactive: a kernel session logging into the store.
    kind: Mapped[str] = mapped_column(String(16), default="batch")
    notebook_path: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    kernel_name: Mapped[str | None] = mapped_column(String(255))
    timeout_seconds: Mapped[float | None] = mapped_column(Float)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    input_files: Mapped[list[Any]] = mapped_column(default=list)
    # Why it ran: "user", "reproduce", "sweep", "drift", "deploy".
    trigger: Mapped[str] = mapped_column(String(32), default="user")
    trigger_details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The schedule whose fire started this run (trigger "schedule"), for its history.
    schedule_id: Mapped[str | None] = mapped_column(String(32))
    # Values the notebook declared with mlops.log_output(key, value), read by pipeline steps.
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reproduces_run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"))
    group_id: Mapped[str | None] = mapped_column(ForeignKey("run_groups.id"))
    created_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    # When the run's worker last said it is alive (every few seconds while it runs).
    heartbeat_at: Mapped[datetime | None]
    executor: Mapped[str] = mapped_column(String(64), default="local")
    cells_done: Mapped[int] = mapped_column(Integer, default=0)
    cells_total: Mapped[int] = mapped_column(Integer, default=0)
    current_cell: Mapped[int | None] = mapped_column(Integer)
    error_cell_index: Mapped[int | None] = mapped_column(Integer)
    error_ename: Mapped[str | None] = mapped_column(String(255))
    error_evalue: Mapped[str | None] = mapped_column(Text)
    status_reason: Mapped[str | None] = mapped_column(Text)
    input_notebook_sha256: Mapped[str | None] = mapped_column(String(64))
    output_notebook_sha256: Mapped[str | None] = mapped_column(String(64))
    output_notebook_path: Mapped[str | None] = mapped_column(String(1024))
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    comparison: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Limits the run executes under (runs/limits.py) and what it used.
    memory_limit_bytes: Mapped[int | None] = mapped_column(BigInteger)
    cpus: Mapped[float | None] = mapped_column(Float)
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    cpu_seconds: Mapped[float | None] = mapped_column(Float)

    group: Mapped[RunGroup | None] = relationship(back_populates="runs")
    metrics: Mapped[list[RunMetric]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="RunMetric.id"
    )
    params: Mapped[list[RunParam]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="RunParam.key"
    )
    artifacts: Mapped[list[RunArtifact]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="RunArtifact.id"
    )


class RunMetric(Base):
    __tablename__ = "run_metrics"
    __table_args__ = (Index("ix_run_metrics_run_key", "run_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[float] = mapped_column(Float)
    step: Mapped[int] = mapped_column(Integer, default=0)
    logged_at: Mapped[datetime] = mapped_column(default=utcnow)

    run: Mapped[Run] = relationship(back_populates="metrics")


class RunParam(Base):
    """Parameters logged from inside the notebook (``mlops.log_param``)."""

    __tablename__ = "run_params"
    __table_args__ = (UniqueConstraint("run_id", "key", name="uq_run_params_run_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(Text)

    run: Mapped[Run] = relationship(back_populates="params")


class RunArtifact(Base):
    """A file a run produced (``mlops.log_artifact``), stored by sha256."""

    __tablename__ = "run_artifacts"
    __table_args__ = (Index("ix_run_artifacts_run", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(32), default="file")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    run: Mapped[Run] = relationship(back_populates="artifacts")


class RunLiveCell(Base):
    """A cell of a running notebook as executed so far (runs/live.py): one row per cell,
    rewritten as its outputs grow; ``seq`` orders the writes so readers ask for what is new."""

    __tablename__ = "run_live_cells"
    __table_args__ = (Index("ix_run_live_cells_run_seq", "run_id", "seq"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    cell: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------


class RegisteredModel(Base):
    __tablename__ = "registered_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Quality gate: {"thresholds": {"auc": {">=": 0.8}}, "compare": {"alias": "production",
    # "metric": "auc", "mode": "max"}}
    gate: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Highest version ever issued; bumped atomically so numbers are never reused.
    last_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(255), default="")

    versions: Mapped[list[ModelVersion]] = relationship(
        back_populates="model", cascade="all, delete-orphan", order_by="ModelVersion.version"
    )
    aliases: Mapped[list[ModelAlias]] = relationship(
        back_populates="model", cascade="all, delete-orphan", order_by="ModelAlias.alias"
    )


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "version", name="uq_model_versions_model_version"),
        Index("ix_model_versions_run", "run_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    artifact_sha256: Mapped[str] = mapped_column(String(64))
    artifact_size: Mapped[int] = mapped_column(Integer, default=0)
    # "skops" (safe), "pickle"/"joblib" (only loaded with explicit trust).
    serialization: Mapped[str] = mapped_column(String(16), default="skops")
    flavour: Mapped[str] = mapped_column(String(64), default="sklearn")
    model_class: Mapped[str] = mapped_column(String(255), default="")
    trusted_types: Mapped[list[Any]] = mapped_column(default=list)
    signature: Mapped[dict[str, Any]] = mapped_column(default=dict)
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    tags: Mapped[dict[str, Any]] = mapped_column(default=dict)
    environment: Mapped[dict[str, Any]] = mapped_column(default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    model: Mapped[RegisteredModel] = relationship(back_populates="versions")


class ModelAlias(Base):
    __tablename__ = "model_aliases"

    model_id: Mapped[int] = mapped_column(
        ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    alias: Mapped[str] = mapped_column(String(255), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    model: Mapped[RegisteredModel] = relationship(back_populates="aliases")


class AuditEntry(Base):
    """Append-only log of every alias change, forced promotion, archive and gate decision."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_model_time", "model_name", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model_name: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(32))
    alias: Mapped[str | None] = mapped_column(String(255))
    from_version: Mapped[int | None] = mapped_column(Integer)
    to_version: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    user: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Approval(Base):
    """A request to move a protected alias, waiting for an approver (owned by the registry)."""

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_status", "status", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    model_name: Mapped[str] = mapped_column(String(255))
    alias: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    from_version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_by: Mapped[str] = mapped_column(String(255), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    gate: Mapped[dict[str, Any]] = mapped_column(default=dict)
    decided_by: Mapped[str | None] = mapped_column(String(255))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column()


# --------------------------------------------------------------------------------------------
# Serving
# --------------------------------------------------------------------------------------------


class Deployment(Base):
    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_status", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    model_name: Mapped[str] = mapped_column(String(255))
    # What the user asked for: "churn@production" follows the alias, "churn/3" is pinned.
    model_ref: Mapped[str] = mapped_column(String(512))
    version: Mapped[int] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(32), default="local")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    status_reason: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(1024))
    port: Mapped[int | None] = mapped_column(Integer)
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    image: Mapped[str | None] = mapped_column(String(512))
    container_id: Mapped[str | None] = mapped_column(String(128))
    context_dir: Mapped[str | None] = mapped_column(String(1024))
    log_path: Mapped[str | None] = mapped_column(String(1024))
    prediction_log: Mapped[str | None] = mapped_column(String(1024))
    # Batching, workers, canary/shadow split, extra-column policy, ...
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # A multi-model deployment's hosted models, in order: [{"name", "model_ref", "version"}]
    # (the first is also model_name/model_ref/version); None for a single-model one.
    models: Mapped[list[Any] | None] = mapped_column(default=None)
    # Restarts made by the restart policy since the deployment was (re)started by a user.
    restarts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeploymentKey(Base):
    """An API key of a deployment: only its sha256 is kept (the key is shown once)."""

    __tablename__ = "deployment_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255), default="")
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


# --------------------------------------------------------------------------------------------
# Drift monitoring
# --------------------------------------------------------------------------------------------


class Monitor(Base):
    __tablename__ = "monitors"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    deployment_id: Mapped[str] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Window, methods per column, rules, channels, retraining notebook and parameters.
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    interval_seconds: Mapped[float] = mapped_column(Float, default=3600.0)
    # "insufficient_data" is 17 characters: PostgreSQL enforces the length, SQLite does not.
    status: Mapped[str] = mapped_column(String(32), default="unknown")
    last_checked_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DriftResult(Base):
    __tablename__ = "drift_results"
    __table_args__ = (Index("ix_drift_results_monitor_time", "monitor_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    monitor_id: Mapped[str | None] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    deployment_id: Mapped[str | None] = mapped_column(String(32))
    model_name: Mapped[str] = mapped_column(String(255), default="")
    model_version: Mapped[int | None] = mapped_column(Integer)
    window_start: Mapped[datetime | None]
    window_end: Mapped[datetime | None]
    n_rows: Mapped[int] = mapped_column(Integer, default=0)
    drift_share: Mapped[float] = mapped_column(Float, default=0.0)
    drifted: Mapped[bool] = mapped_column(Boolean, default=False)
    columns: Mapped[list[Any]] = mapped_column(default=list)
    performance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    monitor_id: Mapped[str | None] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    drift_result_id: Mapped[int | None] = mapped_column(ForeignKey("drift_results.id"))
    deployment_id: Mapped[str | None] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    retrain_run_id: Mapped[str | None] = mapped_column(String(32))
    delivered: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------------------------
# Workflows (owned by workflows/): cross-domain processes persisted step by step
# --------------------------------------------------------------------------------------------


class Workflow(Base):
    """One cross-domain process (one-click deploy, drift retrain, …) and where it stands.

    ``owner`` names the process advancing it (``host:pid``) and ``heartbeat_at`` when it last
    said so, so a restarted server can tell a workflow in progress from an orphaned one.
    """

    __tablename__ = "workflows"
    __table_args__ = (
        Index("ix_workflows_kind_status", "kind", "status"),
        Index("ix_workflows_subject", "kind", "subject"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # What the workflow is about, for look-ups: a notebook path, an alert id, …
    subject: Mapped[str] = mapped_column(String(1024), default="")
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    steps: Mapped[list[WorkflowStep]] = relationship(
        back_populates="workflow",
        cascade="all, delete-orphan",
        order_by="WorkflowStep.position",
    )


class WorkflowStep(Base):
    __tablename__ = "workflow_steps"
    __table_args__ = (UniqueConstraint("workflow_id", "position", name="uq_workflow_step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    workflow_id: Mapped[str] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    detail: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    workflow: Mapped[Workflow] = relationship(back_populates="steps")


class Schedule(Base):
    """A notebook (or pipeline) to run on a cron schedule in a time zone."""

    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_due", "active", "next_fire_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    # "notebook" or "pipeline"; target_path is the .ipynb or .pipeline.yaml, root-relative.
    target_kind: Mapped[str] = mapped_column(String(16), default="notebook")
    target_path: Mapped[str] = mapped_column(String(1024))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    kernel_name: Mapped[str | None] = mapped_column(String(255))
    timeout_seconds: Mapped[float | None] = mapped_column(Float)
    cron: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # skip: no new run while the previous one is active; queue: run anyway (after it).
    overlap: Mapped[str] = mapped_column(String(16), default="skip")
    # none: fire times missed while nothing ran are dropped; latest: run the most recent one.
    catch_up: Mapped[str] = mapped_column(String(16), default="none")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    end_at: Mapped[datetime | None]
    # Which outcomes to tell whom: {"on": ["failed", "timed_out"], "webhook": url, "email": […]}.
    notify: Mapped[dict[str, Any]] = mapped_column(default=dict)
    next_fire_at: Mapped[datetime | None]
    last_fire_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduleFire(Base):
    """One fire time of a schedule, claimed once in the database by whichever process (server,
    second server, standalone scheduler) inserts it first: the unique key is the guarantee."""

    __tablename__ = "schedule_fires"
    __table_args__ = (
        UniqueConstraint("schedule_id", "fire_time", name="uq_schedule_fire"),
        Index("ix_schedule_fires_schedule", "schedule_id", "fire_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule_id: Mapped[str] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    fire_time: Mapped[datetime]
    # claimed → submitted | skipped | failed
    status: Mapped[str] = mapped_column(String(16), default="claimed")
    reason: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(String(32))
    pipeline_run_id: Mapped[str | None] = mapped_column(String(32))
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    claimed_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """A message for every open lab on this store (a run failed, a pipeline finished, …): labs
    poll for the ones after the last id they showed, so any server's lab sees every one."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # run | pipeline_run | schedule | alert
    level: Mapped[str] = mapped_column(String(16), default="info")  # info | success | error
    title: Mapped[str] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text, default="")
    # What "Open" shows: {"run_id": …} / {"pipeline_run_id": …} / {"schedule_id": …}
    link: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
