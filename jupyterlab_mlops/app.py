"""``MLOps``: the one configurable object that owns settings and builds the services.

The server extension, the ``%mlops`` magics, the ``jupyter mlops`` CLI and code running inside a
notebook all build their services from an ``MLOps`` instance, so they share one store and one set
of rules. Settings come from traitlets config (``c.MLOps.store_url = …`` in
``jupyter_server_config.py``) and are overridden by ``MLOPS_*`` environment variables, which is
also how child processes (run workers, kernels, serving processes) find the same store.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_core.paths import jupyter_config_path
from traitlets import (
    Bool,
    Dict,
    Float,
    Int,
    List,
    TraitError,
    Type,
    Unicode,
    default,
    observe,
    validate,
)
from traitlets.config import Config, LoggingConfigurable
from traitlets.config.loader import ConfigFileNotFound, JSONFileConfigLoader, PyFileConfigLoader

from .errors import InvalidInput
from .events import ALIAS_CHANGED, EventBus
from .identity import Identity, process_identity
from .scheduler import Scheduler

if TYPE_CHECKING:  # the store (SQLAlchemy) is imported when a service first needs it, so a
    # command that only needs settings (``jupyter mlops run`` starting its kernel) starts sooner
    from .runs.settings import RunSettings
    from .store import ArtifactStore, Database

# trait name -> environment variable that overrides it
ENV_OVERRIDES = {
    "root_dir": "MLOPS_ROOT_DIR",
    "store_url": "MLOPS_STORE_URL",
    "artifact_root": "MLOPS_ARTIFACT_ROOT",
    "artifact_storage_options": "MLOPS_ARTIFACT_STORAGE_OPTIONS",
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
    "run_scheduler": "MLOPS_RUN_SCHEDULER",
    "default_timezone": "MLOPS_DEFAULT_TIMEZONE",
    "notification_webhook_url": "MLOPS_NOTIFICATION_WEBHOOK_URL",
    "output_dir": "MLOPS_OUTPUT_DIR",
    "run_heartbeat_timeout": "MLOPS_RUN_HEARTBEAT_TIMEOUT",
    "store_busy_timeout": "MLOPS_STORE_BUSY_TIMEOUT",
    "run_memory_limit": "MLOPS_RUN_MEMORY_LIMIT",
    "run_cpus": "MLOPS_RUN_CPUS",
    "default_role": "MLOPS_DEFAULT_ROLE",
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

    artifact_storage_options = Dict(
        {},
        help="Options handed to fsspec for the artifact root, e.g. {'endpoint_url': "
        "'http://minio:9000'} for an S3-compatible server, or credentials (s3fs also reads "
        "the standard AWS_* variables). Env: MLOPS_ARTIFACT_STORAGE_OPTIONS (JSON).",
    ).tag(config=True)

    executor_class = Type(
        "jupyterlab_mlops.runs.executors.local.LocalExecutor",
        klass="jupyterlab_mlops.runs.executors.base.Executor",
        help="Executor that runs notebooks: the local process pool (default) or "
        "jupyterlab_mlops.runs.executors.dask.DaskExecutor (a class or its dotted name). "
        "Env: MLOPS_EXECUTOR_CLASS.",
    ).tag(config=True)

    max_concurrent_runs = Int(
        2, help="Runs executing at once with the local executor; more are queued."
    ).tag(config=True)

    default_timeout = Float(0.0, help="Default run timeout in seconds (0: no timeout).").tag(
        config=True
    )

    run_memory_limit = Unicode(
        "",
        help="Default memory limit of a run's kernel, e.g. '2GiB' (empty: none); a run may set "
        "its own (memory). Env: MLOPS_RUN_MEMORY_LIMIT.",
    ).tag(config=True)

    run_cpus = Float(
        0.0,
        help="Default CPUs of a run's kernel (0: all); a run may set its own (cpus). "
        "Env: MLOPS_RUN_CPUS.",
    ).tag(config=True)

    output_dir = Unicode(
        "mlops-runs",
        help="Where executed notebooks are written for opening in the lab: "
        "<output_dir>/<run_id>/<notebook>.ipynb, relative to the root (must be inside it). "
        "Env: MLOPS_OUTPUT_DIR.",
    ).tag(config=True)

    dask_scheduler_address = Unicode(
        "", help="Address of the Dask scheduler for the Dask executor (tcp://host:8786)."
    ).tag(config=True)

    run_heartbeat_timeout = Float(
        60.0,
        help="Seconds without a heartbeat from a run's worker on another machine (a Dask "
        "worker) after which the run is failed as lost. Env: MLOPS_RUN_HEARTBEAT_TIMEOUT.",
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

    max_request_bytes = Int(
        2 * 1024 * 1024,
        help="Largest REST request body accepted (413 past it); 0 for no limit of ours.",
    ).tag(config=True)

    store_busy_timeout = Float(
        3.0,
        help="Seconds a request waits for the store's write lock (SQLite) before answering 503 "
        "with Retry-After. Env: MLOPS_STORE_BUSY_TIMEOUT.",
    ).tag(config=True)

    run_scheduler = Bool(
        True,
        help="Run the periodic jobs (run queue, schedules, pipelines, drift monitors, alias "
        "following) inside this process. Turn off on servers when `jupyter mlops scheduler` "
        "runs them for the team's store. Env: MLOPS_RUN_SCHEDULER.",
    ).tag(config=True)

    default_timezone = Unicode(
        "UTC", help="IANA time zone of schedules created without one (e.g. Europe/Paris)."
    ).tag(config=True)

    notify_on = List(
        Unicode(),
        ["failed", "timed_out"],
        help="Run, pipeline and scheduled-run outcomes notified when the schedule or pipeline "
        "does not say (succeeded, failed, timed_out, cancelled): failures only by default.",
    ).tag(config=True)

    notification_webhook_url = Unicode(
        "",
        help="Slack-compatible webhook receiving every notification. Env: "
        "MLOPS_NOTIFICATION_WEBHOOK_URL.",
    ).tag(config=True)

    notification_email = List(
        Unicode(), [], help="Addresses e-mailed every notification (SMTP settings below)."
    ).tag(config=True)

    roles = Dict(
        {},
        help="Roles of users and groups: {'alice': 'approver', 'bob': 'editor', "
        "'group:ml-leads': 'approver'}. Roles: viewer (read), editor (run, schedule, register, "
        "deploy, set unprotected aliases, monitor), approver (also approve promotions to "
        "protected aliases), admin (also delete, change gates). Groups come from the identity "
        "provider where it gives them (JupyterHub).",
    ).tag(config=True)

    default_role = Unicode(
        "admin",
        help="Role of users c.MLOps.roles does not name. 'admin' (the default) keeps a single "
        "user's lab as it is without roles. Env: MLOPS_DEFAULT_ROLE.",
    ).tag(config=True)

    protected_aliases = List(
        Unicode(),
        ["production"],
        help="Aliases an editor's promotion does not move: it becomes a pending approval request "
        "for an approver.",
    ).tag(config=True)

    registry_webhooks = List(
        Dict(),
        [],
        help="Webhooks told of registry events: [{'url': 'https://…', 'events': "
        "['version_registered', 'alias_changed', 'approval_requested', 'approval_decided'], "
        "'secret': '…'}]; JSON signed with HMAC-SHA256 in X-MLOps-Signature, retried with "
        "backoff, never blocking the registry.",
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

    @validate("roles", "default_role")
    def _valid_roles(self, proposal):
        """A role that does not exist is an error at start, naming the setting."""
        from .access import check_role

        value = proposal["value"]
        name = proposal["trait"].name
        try:
            if name == "default_role":
                check_role(value, "c.MLOps.default_role")
            else:
                for who, role in value.items():
                    check_role(role, f"c.MLOps.roles[{who!r}]")
        except InvalidInput as err:
            raise TraitError(err.message) from None
        return value

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._apply_env_overrides()

    def _apply_env_overrides(self) -> None:
        for trait, variable in ENV_OVERRIDES.items():
            value = os.environ.get(variable)
            if not value:
                continue
            if trait == "artifact_storage_options":
                try:
                    options = json.loads(value)
                except ValueError as err:
                    raise InvalidInput(f"{variable} is not a JSON object: {err}") from None
                if not isinstance(options, dict):
                    raise InvalidInput(f"{variable} must be a JSON object, got {value[:40]!r}")
                setattr(self, trait, options)
            else:
                setattr(self, trait, self.traits()[trait].from_string(value))

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
            "MLOPS_CONFIG_DIR": os.environ.get("MLOPS_CONFIG_DIR") or os.getcwd(),
            **(
                {"MLOPS_ARTIFACT_STORAGE_OPTIONS": json.dumps(self.artifact_storage_options)}
                if self.artifact_storage_options
                else {}
            ),
        }

    @staticmethod
    def current_user() -> Identity:
        """Who code outside a REST request acts as (``JUPYTERHUB_USER``, else the OS account)."""
        return process_identity()

    # -- services -----------------------------------------------------------------------------

    @property
    def access(self):
        """The roles as configured now (every service asks on each check)."""
        from .access import Access

        return Access(
            roles=dict(self.roles),
            default_role=self.default_role,
            protected_aliases=tuple(self.protected_aliases),
        )

    @cached_property
    def db(self) -> Database:
        from .store import Database

        return Database(self.resolved_store_url, busy_timeout=self.store_busy_timeout)

    @cached_property
    def artifacts(self) -> ArtifactStore:
        from .store import ArtifactStore

        return ArtifactStore(self.resolved_artifact_root, self.artifact_storage_options)

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
    def outbox(self):
        """Background delivery of webhooks and e-mail (never on a request's or run's path)."""
        from .channels import Outbox

        return Outbox()

    @property
    def smtp(self):
        from .channels import SmtpSettings

        return SmtpSettings(
            host=self.smtp_host,
            port=self.smtp_port,
            sender=self.smtp_sender,
            username=self.smtp_username,
            password=self.smtp_password,
            starttls=self.smtp_starttls,
            ssl=self.smtp_ssl,
        )

    @cached_property
    def pipelines(self):
        """Pipeline runs: DAGs of notebook runs with retries, cancel and repair."""
        from .workflows.pipelines import PipelineRuns, PipelineService

        runs = PipelineRuns(submit=self.runs.submit, get=self.runs.get, cancel=self.runs.cancel)
        return PipelineService(
            self.workflow_records,
            runs,
            root_dir=self.root_dir,
            events=self.events,
            access=lambda: self.access,
        )

    @cached_property
    def schedules(self):
        """Cron schedules of notebooks, each fire time claimed once in the store."""
        from .workflows.schedules import SchedulePipelines, ScheduleRuns, ScheduleService

        runs = ScheduleRuns(
            check=self.runs.check,
            submit=self.runs.submit,
            status=lambda run_id: self.runs.get(run_id)["status"],
        )
        pipelines = SchedulePipelines(
            check=self.pipelines.check, start=self.pipelines.start, status=self.pipelines.status
        )
        return ScheduleService(
            self.db,
            runs,
            pipelines=pipelines,
            default_timezone=self.default_timezone,
            access=lambda: self.access,
        )

    @cached_property
    def notifier(self):
        """How runs, pipeline runs and scheduled runs ended, told in the lab and beyond."""
        from .workflows.notifications import NotificationSettings, Notifier

        settings = NotificationSettings(
            default_on=tuple(self.notify_on),
            webhook_url=self.notification_webhook_url,
            email_to=tuple(self.notification_email),
            smtp=self.smtp,
        )
        notifier = Notifier(
            self.db,
            self.outbox,
            settings,
            run=self.runs.get,
            schedule_notify=lambda schedule_id: self.schedules.notify_of(schedule_id),
        )
        return notifier

    @cached_property
    def registry(self):
        """Model registry: versions, aliases, quality gates, audit log, lineage."""
        from .drift.estimation import build_reference_profile
        from .registry.service import RegistryService

        def deployments_holding(model: str, version: int) -> list[str]:
            found = self.deployments.find(model=model, version=version, active=True)
            return [deployment["name"] for deployment in found]

        registry = RegistryService(
            self.db,
            self.artifacts,
            runs=self.runs,
            deployments_holding=deployments_holding,
            profile_builder=build_reference_profile,
            events=self.events,
            access=lambda: self.access,
        )
        from .registry import webhooks

        webhooks.subscribe(self.events, self.outbox, webhooks.parse_hooks(self.registry_webhooks))
        return registry

    @cached_property
    def deployments(self):
        """Deployments: local processes, containers, Kubernetes manifests; alias-following."""
        from .serving.ports import Deferred
        from .serving.service import DeploymentService

        service = DeploymentService(
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
            access=lambda: self.access,
        )
        self._monitor_deployments()
        return service

    def _monitor_deployments(self) -> None:
        """Every deployment made through this object (REST, CLI, magics, one-click deploy)
        gets its drift monitor, paused while it is stopped (``workflows/monitoring.py``)."""
        from .events import (
            DEPLOYMENT_CREATED,
            DEPLOYMENT_RESTARTED,
            DEPLOYMENT_STOPPED,
            DEPLOYMENT_SWITCHED,
        )

        handlers = {
            DEPLOYMENT_CREATED: "on_created",
            DEPLOYMENT_STOPPED: "on_stopped",
            DEPLOYMENT_RESTARTED: "on_restarted",
            DEPLOYMENT_SWITCHED: "on_switched",
        }
        for event, method in handlers.items():
            self.events.subscribe(
                event, lambda e, method=method: getattr(self.deployment_monitoring, method)(e)
            )

    @cached_property
    def deployment_monitoring(self):
        """The drift monitor of each deployment, created, paused and re-referenced with it."""
        from .workflows.monitoring import DeploymentMonitoring

        return DeploymentMonitoring(self.monitors, self.deployments, logger=self.log)

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

        return RunService(
            self.db,
            self.artifacts,
            self.run_settings(),
            executor_factory=self.executor_class,
            events=self.events,
            log=self.log,
            access=lambda: self.access,
        )

    def run_settings(self) -> RunSettings:
        """Where runs read and write, from the settings alone (no store opened)."""
        from .runs.settings import RunSettings

        executor = self.executor_class
        return RunSettings(
            root_dir=Path(self.root_dir),
            store_url=self.resolved_store_url,
            artifact_root=self.resolved_artifact_root,
            output_dir=self.output_dir,
            default_timeout=self.default_timeout,
            max_concurrent_runs=self.max_concurrent_runs,
            executor_class=f"{executor.__module__}.{executor.__qualname__}",
            dask_scheduler_address=self.dask_scheduler_address,
            run_memory_limit=self.run_memory_limit,
            run_cpus=self.run_cpus,
            artifact_storage_options=dict(self.artifact_storage_options),
            heartbeat_timeout=self.run_heartbeat_timeout,
        )

    @observe(
        "max_concurrent_runs",
        "default_timeout",
        "output_dir",
        "dask_scheduler_address",
        "run_memory_limit",
        "run_cpus",
        "run_heartbeat_timeout",
    )
    def _run_settings_changed(self, _change) -> None:
        if "runs" in self.__dict__:
            self.runs.configure(self.run_settings())

    @cached_property
    def monitors(self):
        """Drift monitors on deployments: scheduled checks, alerts, closed-loop retraining."""
        from .drift.ports import Deployments, DriftSettings
        from .drift.service import MonitorService
        from .events import ALERT_RAISED
        from .runs.parameters import validate_parameters
        from .serving import prediction_log

        def check_retrain(target: str, parameters: dict) -> None:
            if target.endswith(".pipeline.yaml"):
                self.pipelines.check(target, parameters)
            else:
                validate_parameters(self.runs.inspect(target)["parameters"], parameters)

        service = MonitorService(
            self.db,
            deployments=Deployments(
                get=lambda deployment_id: self.deployments.get(deployment_id, stats=False),
                find=lambda **filters: self.deployments.find(**filters),
            ),
            versions=self.registry,
            predictions=prediction_log,
            check_retrain=check_retrain,
            events=self.events,
            settings=DriftSettings(
                default_interval=self.monitor_interval or 3600.0,
                webhook_url=self.alert_webhook_url,
                smtp=dataclasses.asdict(self.smtp),
            ),
            retraining=lambda: self.retraining,
            logger=self.log,
            access=lambda: self.access,
        )
        self.events.subscribe(ALERT_RAISED, lambda event: self.retraining.on_alert_raised(event))
        return service

    @cached_property
    def retraining(self):
        """The drift → retrain → gate → promote workflow, persisted and resumed on restart."""
        from .workflows.retrain import RetrainWorkflow

        return RetrainWorkflow(
            self.workflow_records,
            runs=self.runs,
            pipelines=self.pipelines,
            registry=self.registry,
            deployments=self.deployments,
            monitors=self.monitors,
            logger=self.log,
        )

    def drift_report(self, reference, current, methods=None, **kwargs):
        """Drift of ``current`` against ``reference`` (data, a profile or a model ref)."""
        from .drift.reference import resolve_reference
        from .drift.report import compute_report

        reference, methods = resolve_reference(reference, methods, self.registry.resolve)
        return compute_report(reference, current, methods, **kwargs)

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
        """Open the store (migrating it), recover what a previous process left, wire the events
        and register every periodic job (started unless ``run_scheduler`` is off). The server
        extension and ``jupyter mlops scheduler`` call it; a second call does nothing."""
        if "scheduler" in self.__dict__ and self.scheduler.jobs:
            return
        self.db  # noqa: B018 - opening the store applies migrations
        self.artifacts  # noqa: B018
        # Runs left running whose process is gone -> failed; then watch queue and timeouts.
        self.runs.start()
        self.scheduler.add_job("runs.queue", self.runs.tick_seconds, self.runs.tick)
        # Deployments whose process is gone -> stopped; then follow aliases (at once when an alias
        # moves in this process; the poll is the fallback for other processes) and watch the
        # local serving processes.
        self.deployments.start()
        self.events.subscribe(
            ALIAS_CHANGED, lambda e: self.deployments.on_alias_changed(e["model"], e["alias"])
        )
        interval = self.deployment_poll_interval
        self.scheduler.add_job("serving.follow_aliases", interval, self.deployments.sync_aliases)
        self.scheduler.add_job("serving.liveness", interval, self.deployments.check_liveness)
        # Scheduled drift checks every monitor_interval.
        self.scheduler.add_job("drift.monitors", self.monitor_interval, self.monitors.run_due)
        self._start_workflows()
        if self.run_scheduler:
            self.scheduler.start()

    def _start_workflows(self) -> None:
        """Workflows react to the domains' events and advance on the scheduler; those a
        previous server left unfinished resume from their current step."""
        from .events import PIPELINE_FINISHED, RUN_FINISHED
        from .workflows.retrain import POLL_SECONDS

        def run_finished(event) -> None:
            self.scheduler.trigger("workflows.retrain")
            if event.get("trigger") == "pipeline":
                self.scheduler.trigger("workflows.pipelines")

        self.events.subscribe(RUN_FINISHED, run_finished)
        self.events.subscribe(RUN_FINISHED, self.notifier.on_run_finished)
        self.events.subscribe(PIPELINE_FINISHED, self.notifier.on_pipeline_finished)
        # One-click deploys, retraining decisions, pipelines, schedules.
        self.deploy_jobs.start()
        self.scheduler.add_job("workflows.deploy.resume", 10.0, self.deploy_jobs.resume)
        self.retraining.resume()
        self.scheduler.add_job("workflows.retrain", POLL_SECONDS, self.retraining.advance_all)
        self.scheduler.add_job("workflows.pipelines", 2.0, self.pipelines.advance_all)
        self.scheduler.add_job("workflows.schedules", 5.0, self.schedules.tick)

    def stop(self) -> None:
        if "scheduler" in self.__dict__:
            self.scheduler.stop()
        if "outbox" in self.__dict__:
            self.outbox.close()
        if "runs" in self.__dict__:
            self.runs.stop()
        if "deploy_jobs" in self.__dict__:
            self.deploy_jobs.stop()
        if "db" in self.__dict__:
            self.db.dispose()


CONFIG_BASENAMES = ("jupyter_server_config", "jupyter_mlops_config")


def load_config(extra_files: Sequence[str] = (), directories: Sequence[str] = ()) -> Config:
    """Merge Jupyter's config files, lowest priority first: the Jupyter config path, then
    ``directories`` (the project root, the directory the server was started in), then the
    current directory, then ``extra_files``."""
    config = Config()
    directories = list(
        dict.fromkeys(
            str(Path(d).resolve())
            for d in [*reversed(jupyter_config_path()), *directories, os.getcwd()]
            if d
        )
    )
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
    """An ``MLOps`` configured like the server would be (for the CLI, magics, the notebook API).

    Kernels and runs start in the notebook's directory, not where the server read its config:
    the project root and ``MLOPS_CONFIG_DIR`` (the server's start directory, exported to its
    children) are searched too, so roles and every other setting hold in them."""
    directories = [root_dir or "", os.environ.get("MLOPS_CONFIG_DIR", "")]
    kwargs: dict[str, Any] = {"config": load_config(config_files, directories)}
    if root_dir:
        kwargs["root_dir"] = str(Path(root_dir).resolve())
    return MLOps(**kwargs)
