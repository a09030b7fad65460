"""``MLOps``: the one configurable object that owns settings and builds the services.

The server extension, the ``%mlops`` magics, the ``jupyter mlops`` CLI and code running inside a
notebook all build their services from an ``MLOps`` instance, so they share one store and one set
of rules. Settings come from traitlets config (``c.MLOps.store_url = …`` in
``jupyter_server_config.py``) and are overridden by ``MLOPS_*`` environment variables, which is
also how child processes (run workers, kernels, serving processes) find the same store.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_config_path
from traitlets import Bool, Float, Int, Unicode, default
from traitlets.config import Config, LoggingConfigurable
from traitlets.config.loader import ConfigFileNotFound, JSONFileConfigLoader, PyFileConfigLoader

from .errors import InvalidInput
from .events import EventBus
from .scheduler import Scheduler
from .store import ArtifactStore, Database

# trait name -> environment variable that overrides it
ENV_OVERRIDES = {
    "root_dir": "MLOPS_ROOT_DIR",
    "store_url": "MLOPS_STORE_URL",
    "artifact_root": "MLOPS_ARTIFACT_ROOT",
    "executor_class": "MLOPS_EXECUTOR_CLASS",
    "max_concurrent_runs": "MLOPS_MAX_CONCURRENT_RUNS",
    "default_timeout": "MLOPS_DEFAULT_TIMEOUT",
    "dask_scheduler_address": "MLOPS_DASK_SCHEDULER_ADDRESS",
    "default_deploy_target": "MLOPS_DEFAULT_DEPLOY_TARGET",
    "docker_base_image": "MLOPS_DOCKER_BASE_IMAGE",
    "docker_extra_ca_bundle": "MLOPS_DOCKER_EXTRA_CA_BUNDLE",
    "docker_prefetch_wheels": "MLOPS_DOCKER_PREFETCH_WHEELS",
    "deployment_poll_interval": "MLOPS_DEPLOYMENT_POLL_INTERVAL",
    "monitor_interval": "MLOPS_MONITOR_INTERVAL",
    "alert_webhook_url": "MLOPS_ALERT_WEBHOOK_URL",
    "smtp_host": "MLOPS_SMTP_HOST",
    "smtp_port": "MLOPS_SMTP_PORT",
    "output_dir": "MLOPS_OUTPUT_DIR",
}


class MLOps(LoggingConfigurable):
    """Configuration and service factory for jupyterlab-mlops."""

    root_dir = Unicode(
        help="Directory that notebooks and data paths are confined to (the server root)."
    ).tag(config=True)

    @default("root_dir")
    def _default_root_dir(self) -> str:
        return os.getcwd()

    store_url = Unicode(
        "",
        help="SQLAlchemy URL of the metadata store. Default: SQLite at <root>/.mlops/mlops.db. "
        "Use postgresql://… to share one store across a team. Env: MLOPS_STORE_URL.",
    ).tag(config=True)

    artifact_root = Unicode(
        "",
        help="Where artifacts (notebooks, models) are stored by sha256: a directory or any "
        "fsspec URL such as s3://bucket/prefix. Default: <root>/.mlops/artifacts. "
        "Env: MLOPS_ARTIFACT_ROOT.",
    ).tag(config=True)

    executor_class = Unicode(
        "jupyterlab_mlops.runs.executors.local.LocalExecutor",
        help="Executor that runs notebooks: the local process pool (default) or "
        "jupyterlab_mlops.runs.executors.dask.DaskExecutor.",
    ).tag(config=True)

    max_concurrent_runs = Int(
        2, help="Runs executing at once with the local executor; more are queued."
    ).tag(config=True)

    default_timeout = Float(0.0, help="Default run timeout in seconds (0: no timeout).").tag(
        config=True
    )

    output_dir = Unicode(
        "mlops-runs",
        help="Where executed notebooks are written for opening in the lab: "
        "<output_dir>/<run_id>/<notebook>.ipynb, relative to the root (must be inside it). "
        "Env: MLOPS_OUTPUT_DIR.",
    ).tag(config=True)

    dask_scheduler_address = Unicode(
        "", help="Address of the Dask scheduler for the Dask executor (tcp://host:8786)."
    ).tag(config=True)

    default_deploy_target = Unicode(
        "local", help="Deploy target used when none is given: local, docker or kubernetes."
    ).tag(config=True)

    docker_base_image = Unicode(
        "python:3.11-slim",
        help="Base image of serving containers. Must provide python3 with venv and pip.",
    ).tag(config=True)

    docker_extra_ca_bundle = Unicode(
        "",
        help="Path to an extra CA bundle copied into image builds for pip (corporate proxies).",
    ).tag(config=True)

    docker_prefetch_wheels = Bool(
        False,
        help="Download the pinned wheels on the host (pip download) into the image build context "
        "and install them with --no-index: reproducible, air-gapped and proxy-proof builds.",
    ).tag(config=True)

    deployment_poll_interval = Float(
        2.0,
        help="Seconds between checks, inside the server, that alias deployments (churn@production) "
        "still serve the version their alias points at (0 disables following).",
    ).tag(config=True)

    monitor_interval = Float(
        300.0, help="Seconds between scheduled drift checks inside the server (0 disables)."
    ).tag(config=True)

    alert_webhook_url = Unicode(
        "",
        help="Webhook receiving every drift alert (Slack-compatible JSON {text, blocks}), in "
        "addition to a monitor's own channels. Env: MLOPS_ALERT_WEBHOOK_URL.",
    ).tag(config=True)

    smtp_host = Unicode("localhost", help="SMTP server for drift alert e-mails.").tag(config=True)
    smtp_port = Int(25, help="SMTP port for drift alert e-mails.").tag(config=True)
    smtp_sender = Unicode("mlops@localhost", help="From address of alert e-mails.").tag(config=True)
    smtp_username = Unicode("", help="SMTP login (empty: no authentication).").tag(config=True)
    smtp_password = Unicode("", help="SMTP password (config file only, never shown).").tag(
        config=True
    )
    smtp_starttls = Bool(False, help="Upgrade the SMTP connection with STARTTLS.").tag(config=True)
    smtp_ssl = Bool(False, help="Connect to the SMTP server over TLS (SMTPS).").tag(config=True)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._apply_env_overrides()

    def _apply_env_overrides(self) -> None:
        for trait, variable in ENV_OVERRIDES.items():
            value = os.environ.get(variable)
            if value:
                trait_type = self.traits()[trait]
                setattr(self, trait, trait_type.from_string(value))

    # -- resolved locations -------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        return Path(self.root_dir) / ".mlops"

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{self.data_dir / 'mlops.db'}"

    @property
    def resolved_artifact_root(self) -> str:
        return self.artifact_root or str(self.data_dir / "artifacts")

    def child_environment(self) -> dict[str, str]:
        """Environment for processes we start, so they open the same store."""
        return {
            "MLOPS_ROOT_DIR": str(Path(self.root_dir).resolve()),
            "MLOPS_STORE_URL": self.resolved_store_url,
            "MLOPS_ARTIFACT_ROOT": self.resolved_artifact_root,
        }

    @staticmethod
    def current_user() -> str:
        try:
            return getpass.getuser()
        except Exception:  # no passwd entry in some containers
            return os.environ.get("USER", "unknown")

    # -- services -----------------------------------------------------------------------------

    @cached_property
    def db(self) -> Database:
        return Database(self.resolved_store_url)

    @cached_property
    def artifacts(self) -> ArtifactStore:
        return ArtifactStore(self.resolved_artifact_root)

    @cached_property
    def events(self) -> EventBus:
        """In-process bus: domains publish, workflows/serving/notifications subscribe."""
        return EventBus()

    @cached_property
    def scheduler(self) -> Scheduler:
        """Every periodic job (run queue, alias following, drift monitors) in one place."""
        return Scheduler()

    @cached_property
    def workflow_records(self):
        """Persisted cross-domain workflows (one-click deploy, retraining)."""
        from .workflows.records import WorkflowRecords

        return WorkflowRecords(self.db)

    @cached_property
    def registry(self):
        """Model registry: versions, aliases, quality gates, audit log, lineage."""
        from .registry.service import RegistryService

        return RegistryService(self)

    @cached_property
    def deployments(self):
        """Deployments: local processes, containers, Kubernetes manifests; alias-following."""
        from .serving.ports import Deferred
        from .serving.service import DeploymentService

        return DeploymentService(
            self.db,
            self.artifacts,
            versions=Deferred(lambda: self.registry),  # the registry needs deployments too
            runs=Deferred(lambda: self.runs),
            base_dir=self.data_dir / "deployments",
            default_target=self.default_deploy_target,
            docker_base_image=self.docker_base_image,
            docker_extra_ca_bundle=self.docker_extra_ca_bundle,
            docker_prefetch_wheels=self.docker_prefetch_wheels,
            events=self.events,
            log=self.log,
        )

    @cached_property
    def deploy_jobs(self):
        """One-click deploy (run → register → serve → healthy), a persisted workflow."""
        from .workflows.deploy import DeployJobs

        return DeployJobs(
            self.workflow_records,
            runs=self.runs,
            registry=self.registry,
            deployments=self.deployments,
            root_dir=self.root_dir,
            default_target=self.default_deploy_target,
            log=self.log,
        )

    @cached_property
    def runs(self):
        """Notebook runs: submit, queue, cancel, reproduce, sweeps, recovery."""
        from .runs.service import RunService

        return RunService(self)

    @cached_property
    def monitors(self):
        """Drift monitors on deployments: scheduled checks, alerts, closed-loop retraining."""
        from .drift.monitor import MonitorService

        return MonitorService(self)

    def drift_report(self, reference, current, methods=None, **kwargs):
        """Drift of ``current`` against ``reference`` (data, a profile or a model ref)."""
        from .drift.report import compute_report

        return compute_report(reference, current, methods, mlops=self, **kwargs)

    def counts(self) -> dict[str, int]:
        """Row counts of the main resources, for the health route and the CLI."""
        from sqlalchemy import func, select

        from .store import models as m

        tables = {
            "runs": m.Run,
            "models": m.RegisteredModel,
            "model_versions": m.ModelVersion,
            "deployments": m.Deployment,
            "monitors": m.Monitor,
            "alerts": m.Alert,
        }
        with self.db.session() as session:
            return {
                name: session.scalar(select(func.count()).select_from(table)) or 0
                for name, table in tables.items()
            }

    def start(self) -> None:
        """Called once by the server extension: open the store (migrating it)."""
        self.db  # noqa: B018 - opening the store applies migrations
        self.artifacts  # noqa: B018
        # Runs left running whose process is gone -> failed; then watch queue and timeouts.
        self.runs.start()
        # Deployments whose process is gone -> stopped; then follow aliases (the fallback for
        # aliases moved by other processes) and watch the local processes.
        self.deployments.start()
        interval = self.deployment_poll_interval
        self.scheduler.add_job("serving.follow_aliases", interval, self.deployments.sync_aliases)
        self.scheduler.add_job("serving.liveness", interval, self.deployments.check_liveness)
        # One-click deploys left unfinished by a previous server resume from their step.
        self.deploy_jobs.start()
        self.scheduler.add_job("workflows.deploy.resume", 10.0, self.deploy_jobs.resume)
        # Scheduled drift checks every monitor_interval, in a worker thread.
        self.monitors.start()
        self.scheduler.start()

    def stop(self) -> None:
        if "scheduler" in self.__dict__:
            self.scheduler.stop()
        if "monitors" in self.__dict__:
            self.monitors.stop()
        if "runs" in self.__dict__:
            self.runs.stop()
        if "deploy_jobs" in self.__dict__:
            self.deploy_jobs.stop()
        if "db" in self.__dict__:
            self.db.dispose()


CONFIG_BASENAMES = ("jupyter_server_config", "jupyter_mlops_config")


def load_config(extra_files: Sequence[str] = ()) -> Config:
    """Merge Jupyter's config files, lowest priority first, then ``extra_files``."""
    config = Config()
    directories = [*reversed(jupyter_config_path()), os.getcwd()]
    for directory in directories:
        for base in CONFIG_BASENAMES:
            for loader_class, suffix in (
                (JSONFileConfigLoader, ".json"),
                (PyFileConfigLoader, ".py"),
            ):
                if (Path(directory) / f"{base}{suffix}").is_file():
                    config.merge(loader_class(f"{base}{suffix}", path=directory).load_config())
    for file in extra_files:
        path = Path(file)
        loader_class = JSONFileConfigLoader if path.suffix == ".json" else PyFileConfigLoader
        try:
            config.merge(loader_class(path.name, path=str(path.parent or ".")).load_config())
        except ConfigFileNotFound:
            raise InvalidInput(f"config file not found: {file}") from None
    return config


def build_mlops(root_dir: str | None = None, config_files: Sequence[str] = ()) -> MLOps:
    """An ``MLOps`` configured like the server would be (for the CLI, magics, workers)."""
    kwargs: dict[str, Any] = {"config": load_config(config_files)}
    if root_dir:
        kwargs["root_dir"] = str(Path(root_dir).resolve())
    return MLOps(**kwargs)
