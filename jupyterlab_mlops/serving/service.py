"""Deployments: create, list, stop, restart, delete; recovery; alias-following; panel stats.

``DeploymentService(mlops)`` owns the ``deployments`` table; the deployers (``deployers/``) own
the mechanics of each target. A deployment of ``name@alias`` follows the alias: when it moves, the
service writes the new version's bundle and asks the running serving process to hot-swap it
(``POST /admin/reload``), so no request fails during the switch. That check (``sync_aliases``)
runs in a background thread of the Jupyter server, is called by the registry when it moves an
alias (``on_alias_changed``), and is available from the CLI (``jupyter mlops deployments sync``),
so an alias moved from any process reaches the deployments.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import func, select

from ..errors import Conflict, InvalidInput, MLOpsError, NotFound
from ..refs import parse_ref
from ..store import models as m
from .deployers.base import Deployer, Progress, no_progress

# Statuses of a deployment that no longer serves anything.
INACTIVE_STATUSES = ("stopped", "failed", "deleted", "removed", "error")

if TYPE_CHECKING:
    from ..app import MLOps

TARGETS = ("local", "docker", "kubernetes")
ACTIVE = ("pending", "starting", "running")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,62}$")
CONFIG_KEYS = {
    "batching",
    "workers",
    "canary",
    "shadow",
    "extra_columns",
    "namespace",
    "replicas",
    "resources",
}
EXTRA_COLUMN_POLICIES = ("reject", "ignore")
STATS_ROWS = 10_000


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _int(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise InvalidInput(f"{what} must be an integer between {low} and {high}, got {value!r}")
    if not low <= int(value) <= high:
        raise InvalidInput(f"{what} must be between {low} and {high}, got {value}")
    return int(value)


class DeploymentService:
    """Deployments of registered model versions to local processes, containers or clusters."""

    def __init__(self, mlops: MLOps):
        self.mlops = mlops
        self._deployers: dict[str, Deployer] = {}
        self._locks: dict[str, threading.RLock] = {}
        self._locks_guard = threading.Lock()
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None

    # -- helpers ------------------------------------------------------------------------------

    @property
    def base_dir(self) -> Path:
        return self.mlops.data_dir / "deployments"

    def deployer(self, target: str) -> Deployer:
        if target not in TARGETS:
            raise InvalidInput(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
        if target not in self._deployers:
            if target == "local":
                from .deployers.local import LocalDeployer as cls
            elif target == "docker":
                from .deployers.docker import DockerDeployer as cls
            else:
                from .deployers.kubernetes import KubernetesDeployer as cls
            self._deployers[target] = cls(self.mlops)
        return self._deployers[target]

    def _lock(self, deployment_id: str) -> threading.RLock:
        with self._locks_guard:
            return self._locks.setdefault(deployment_id, threading.RLock())

    def _paths(self, deployment_id: str) -> dict[str, str]:
        root = self.base_dir / deployment_id
        return {
            "deploy_dir": str(root),
            "log_path": str(root / "serving.log"),
            "prediction_log": str(root / "predictions.sqlite"),
            "manifest_path": str(root / "kubernetes.yaml"),
        }

    def bundle_dir(self, deployment_id: str, version: int) -> str:
        return str(self.base_dir / deployment_id / "bundles" / f"v{int(version)}")

    def to_dict(self, row: m.Deployment) -> dict[str, Any]:
        ref = parse_ref(row.model_ref)
        config = dict(row.config or {})
        paths = self._paths(row.id)
        challenger = (config.get("canary") or config.get("shadow") or {}).get("version")
        return {
            "id": row.id,
            "name": row.name,
            "model": row.model_name,
            "model_name": row.model_name,
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
            "manifest_path": paths["manifest_path"] if row.target == "kubernetes" else None,
            "bundle_dir": self.bundle_dir(row.id, row.version),
            "challenger_version": challenger,
            "challenger_bundle_dir": (
                self.bundle_dir(row.id, challenger) if challenger is not None else None
            ),
            "config": config,
            "created_by": row.created_by,
            "created_at": _iso(row.created_at),
            "updated_at": _iso(row.updated_at),
        }

    def _row(self, session, deployment_id: str) -> m.Deployment:
        row = session.get(m.Deployment, deployment_id)
        if row is None:
            raise NotFound(f"no deployment with id {deployment_id!r}")
        return row

    def _update(self, deployment_id: str, **fields: Any) -> dict[str, Any]:
        with self.mlops.db.session() as session:
            row = self._row(session, deployment_id)
            for key, value in fields.items():
                setattr(row, key, value)
            row.updated_at = m.utcnow()
            session.flush()
            return self.to_dict(row)

    def validate_config(self, config: Any) -> dict[str, Any]:
        """Check the ``config`` object of a create/canary request; a clear 400 otherwise."""
        if config is None:
            return {}
        if not isinstance(config, dict):
            raise InvalidInput("config must be a JSON object")
        unknown = sorted(set(config) - CONFIG_KEYS)
        if unknown:
            raise InvalidInput(
                f"unknown config key(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(CONFIG_KEYS))}"
            )
        clean: dict[str, Any] = {}
        batching = config.get("batching")
        if batching is False:
            clean["batching"] = False
        elif batching not in (None, {}):
            if batching is True:
                batching = {"max_latency_ms": 5, "max_batch_rows": 256}
            if not isinstance(batching, dict):
                raise InvalidInput("config.batching must be an object or true")
            extra = set(batching) - {"max_latency_ms", "max_batch_rows"}
            if extra:
                raise InvalidInput(f"unknown config.batching key(s): {', '.join(sorted(extra))}")
            clean["batching"] = {
                "max_latency_ms": _int(
                    batching.get("max_latency_ms", 5), "config.batching.max_latency_ms", 0, 10_000
                ),
                "max_batch_rows": _int(
                    batching.get("max_batch_rows", 256), "config.batching.max_batch_rows", 1, 10**6
                ),
            }
        if config.get("workers") is not None:
            clean["workers"] = _int(config["workers"], "config.workers", 1, 64)
        if config.get("canary") and config.get("shadow"):
            raise InvalidInput("config.canary and config.shadow are exclusive: choose one")
        if config.get("canary"):
            canary = config["canary"]
            if not isinstance(canary, dict) or "version" not in canary:
                raise InvalidInput('config.canary must be {"version": N, "percent": P}')
            clean["canary"] = {
                "version": _int(canary["version"], "config.canary.version", 1, 10**9),
                "percent": _int(canary.get("percent", 10), "config.canary.percent", 0, 100),
            }
        if config.get("shadow"):
            shadow = config["shadow"]
            if not isinstance(shadow, dict) or "version" not in shadow:
                raise InvalidInput('config.shadow must be {"version": N}')
            clean["shadow"] = {
                "version": _int(shadow["version"], "config.shadow.version", 1, 10**9)
            }
        if config.get("extra_columns") is not None:
            if config["extra_columns"] not in EXTRA_COLUMN_POLICIES:
                raise InvalidInput(
                    f"config.extra_columns must be one of {', '.join(EXTRA_COLUMN_POLICIES)}"
                )
            clean["extra_columns"] = config["extra_columns"]
        if config.get("namespace") is not None:
            if not isinstance(config["namespace"], str) or not NAME_RE.match(config["namespace"]):
                raise InvalidInput("config.namespace must be a Kubernetes namespace name")
            clean["namespace"] = config["namespace"]
        if config.get("replicas") is not None:
            clean["replicas"] = _int(config["replicas"], "config.replicas", 1, 100)
        if config.get("resources") is not None:
            if not isinstance(config["resources"], dict):
                raise InvalidInput("config.resources must be a Kubernetes resources object")
            clean["resources"] = config["resources"]
        return clean

    def _check_challenger(self, model_name: str, config: dict[str, Any]) -> None:
        for key in ("canary", "shadow"):
            if key in config:
                self.mlops.registry.resolve(f"{model_name}/{config[key]['version']}")

    def _write_bundles(self, deployment: dict[str, Any]) -> None:
        from .bundle import write_bundle

        for version, directory in (
            (deployment["version"], deployment["bundle_dir"]),
            (deployment["challenger_version"], deployment["challenger_bundle_dir"]),
        ):
            if version is None or (Path(directory) / "mlops-model.json").is_file():
                continue
            write_bundle(self.mlops, f"{deployment['model']}/{version}", directory)

    def _deployer_view(self, deployment: dict[str, Any]) -> dict[str, Any]:
        return {**deployment, "model_name": deployment["model"]}

    # -- create / read ------------------------------------------------------------------------

    def create(
        self,
        model: Any,
        target: str | None = None,
        *,
        name: str | None = None,
        config: dict[str, Any] | None = None,
        user: str = "",
        progress: Progress = no_progress,
    ) -> dict[str, Any]:
        """Deploy a model reference; returns the record (with ``url``) once it answers."""
        target = target or self.mlops.default_deploy_target
        if not isinstance(target, str) or target not in TARGETS:
            raise InvalidInput(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
        if not isinstance(model, str):
            raise InvalidInput("model must be a reference such as 'churn@production' or 'churn/3'")
        ref = parse_ref(model)
        clean_config = self.validate_config(config)
        version = self.mlops.registry.resolve(str(ref))
        if version.get("archived") and ref.version is None:
            raise Conflict(f"{ref} resolves to archived version {version['version']}")
        self._check_challenger(version["name"], clean_config)
        if name is None or name == "":
            name = version["name"] if ref.alias is None else f"{version['name']}-{ref.alias}"
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise InvalidInput(
                f"invalid deployment name {name!r}: letters, digits, '_', '-', '.', at most 63"
            )
        with self.mlops.db.session() as session:
            row = m.Deployment(
                name=name,
                model_name=version["name"],
                model_ref=str(ref),
                version=int(version["version"]),
                target=target,
                status="starting",
                config=clean_config,
                created_by=user,
            )
            session.add(row)
            session.flush()
            paths = self._paths(row.id)
            row.log_path = paths["log_path"]
            row.prediction_log = paths["prediction_log"]
            row.context_dir = (
                paths["deploy_dir"]
                if target == "local"
                else str(Path(paths["deploy_dir"]) / "context")
            )
            deployment_id = row.id
        Path(paths["deploy_dir"]).mkdir(parents=True, exist_ok=True)
        progress(f"deployment {deployment_id}: {ref} -> {version['name']} v{version['version']}")
        return self._start(deployment_id, progress)

    def _start(self, deployment_id: str, progress: Progress) -> dict[str, Any]:
        with self._lock(deployment_id):
            deployment = self.get(deployment_id, stats=False)
            try:
                if deployment["target"] == "local":
                    progress("writing the model bundle")
                    self._write_bundles(deployment)
                fields = self.deployer(deployment["target"]).start(
                    self._deployer_view(deployment), progress
                )
            except BaseException as err:
                reason = (
                    err.message if isinstance(err, MLOpsError) else f"{type(err).__name__}: {err}"
                )
                self._update(deployment_id, status="failed", status_reason=reason, pid=None)
                if isinstance(err, MLOpsError):
                    err.details = {**err.details, "deployment_id": deployment_id}
                raise
            fields.pop("image_size", None)
            status = fields.pop("status", "running")
            reason = fields.pop("status_reason", None)
            return self._update(deployment_id, status=status, status_reason=reason, **fields)

    def get(self, deployment_id: str, *, stats: bool = True) -> dict[str, Any]:
        with self.mlops.db.session() as session:
            deployment = self.to_dict(self._row(session, deployment_id))
        if stats:
            deployment["stats"] = self.stats(deployment)
        return deployment

    def list(
        self,
        *,
        status: str | None = None,
        model: str | None = None,
        target: str | None = None,
        offset: int = 0,
        limit: int = 50,
        stats: bool = True,
    ) -> dict[str, Any]:
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
        query = query.order_by(m.Deployment.created_at.desc(), m.Deployment.id).offset(offset)
        with self.mlops.db.session() as session:
            total = session.scalar(count) or 0
            rows = session.scalars(query.limit(limit)).all()
            items = [self.to_dict(row) for row in rows]
        if stats:
            for item in items:
                item["stats"] = self.stats(item)
        return {"items": items, "total": total, "offset": offset, "limit": limit}

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
        """Deployments matching every given filter, newest first: the one way other domains
        and workflows look deployments up. ``active``: not stopped or failed; ``pinned``: the
        reference names a version (``churn/3``) rather than following an alias."""
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
            condition = m.Deployment.status.not_in(INACTIVE_STATUSES)
            query = query.where(condition if active else ~condition)
        if pinned is not None:
            follows = m.Deployment.model_ref.contains("@")
            query = query.where(~follows if pinned else follows)
        query = query.order_by(m.Deployment.created_at.desc(), m.Deployment.id).limit(limit)
        with self.mlops.db.session() as session:
            return [self.to_dict(row) for row in session.scalars(query).all()]

    # -- lifecycle ----------------------------------------------------------------------------

    def stop(self, deployment_id: str, *, user: str = "") -> dict[str, Any]:
        with self._lock(deployment_id):
            deployment = self.get(deployment_id, stats=False)
            self.deployer(deployment["target"]).stop(self._deployer_view(deployment))
            status = "stopped" if deployment["status"] != "written" else "written"
            return self._update(
                deployment_id,
                status=status,
                status_reason=f"stopped by {user or 'a user'}",
                pid=None,
            )

    def restart(
        self, deployment_id: str, *, user: str = "", progress: Progress = no_progress
    ) -> dict[str, Any]:
        with self._lock(deployment_id):
            deployment = self.get(deployment_id, stats=False)
            deployer = self.deployer(deployment["target"])
            if deployment["target"] == "local":
                deployer.stop(self._deployer_view(deployment))
                self._update(deployment_id, status="starting", status_reason=None, pid=None)
                return self._start(deployment_id, progress)
            try:
                fields = deployer.restart(self._deployer_view(deployment), progress)
            except MLOpsError as err:
                self._update(deployment_id, status="failed", status_reason=err.message)
                raise
            fields.pop("image_size", None)
            status = fields.pop("status", "running")
            reason = fields.pop("status_reason", None)
            return self._update(deployment_id, status=status, status_reason=reason, **fields)

    def delete(self, deployment_id: str, *, user: str = "") -> dict[str, Any]:
        with self._lock(deployment_id):
            deployment = self.get(deployment_id, stats=False)
            deployer = self.deployer(deployment["target"])
            deployer.stop(self._deployer_view(deployment))
            deployer.remove(self._deployer_view(deployment))
            with self.mlops.db.session() as session:
                session.delete(self._row(session, deployment_id))
            shutil.rmtree(self._paths(deployment_id)["deploy_dir"], ignore_errors=True)
        with self._locks_guard:
            self._locks.pop(deployment_id, None)
        return {"id": deployment_id, "deleted": True}

    def logs(self, deployment_id: str, *, tail: int = 200) -> dict[str, Any]:
        deployment = self.get(deployment_id, stats=False)
        text = self.deployer(deployment["target"]).logs(self._deployer_view(deployment), tail)
        return {"id": deployment_id, "tail": tail, "text": text}

    def set_canary(
        self, deployment_id: str, canary: dict[str, Any] | None, *, user: str = ""
    ) -> dict[str, Any]:
        """Route ``percent`` of traffic to ``version`` (``{"shadow": true}`` mirrors instead);
        ``None`` or percent 0 removes the challenger. The process is restarted with the split."""
        with self._lock(deployment_id):
            deployment = self.get(deployment_id, stats=False)
            config = {
                k: v for k, v in deployment["config"].items() if k not in ("canary", "shadow")
            }
            if canary:
                if not isinstance(canary, dict):
                    raise InvalidInput('canary must be {"version": N, "percent": P}')
                if canary.get("shadow"):
                    config["shadow"] = {"version": canary.get("version")}
                elif canary.get("percent", 0):
                    config["canary"] = canary
            config = self.validate_config(config)
            self._check_challenger(deployment["model"], config)
            updated = self._update(deployment_id, config=config)
            if deployment["status"] != "running":
                return updated
            if deployment["target"] != "local":
                return self.restart(deployment_id, user=user)
            # Local: hot-swap the split in the running process (no request dropped).
            self._write_bundles(updated)
            try:
                self.deployer("local").reload(self._deployer_view(updated), updated["bundle_dir"])
            except MLOpsError:
                self._update(deployment_id, config=deployment["config"])
                raise
            split = config.get("canary") or config.get("shadow")
            return self._update(
                deployment_id,
                status_reason=(
                    f"challenger v{split['version']} "
                    + ("in shadow" if "shadow" in config else f"at {config['canary']['percent']}%")
                    if split
                    else "challenger removed"
                )
                + f" by {user or 'a user'}",
            )

    # -- alias following ----------------------------------------------------------------------

    def sync_aliases(self, model_name: str | None = None) -> list[dict[str, Any]]:
        """Move running alias deployments to the version their alias points at now."""
        query = select(m.Deployment).where(
            m.Deployment.status == "running", m.Deployment.model_ref.contains("@")
        )
        if model_name:
            query = query.where(m.Deployment.model_name == model_name)
        with self.mlops.db.session() as session:
            candidates = [self.to_dict(row) for row in session.scalars(query).all()]
        switched = []
        for deployment in candidates:
            try:
                current = self.mlops.registry.resolve(deployment["model_ref"])
            except NotFound:
                continue  # alias deleted: keep serving what we have
            if int(current["version"]) == deployment["version"]:
                continue
            try:
                switched.append(self._switch(deployment["id"], int(current["version"])))
            except MLOpsError as err:
                self.mlops.log.warning(
                    "deployment %s could not follow %s: %s",
                    deployment["id"],
                    deployment["model_ref"],
                    err.message,
                )
                self._update(
                    deployment["id"],
                    status_reason=f"could not follow {deployment['model_ref']}: {err.message}",
                )
        return switched

    def on_alias_changed(self, model_name: str, alias: str | None = None) -> None:
        """Hook for the registry: an alias of ``model_name`` moved."""
        self.sync_aliases(model_name)

    def _switch(self, deployment_id: str, version: int) -> dict[str, Any]:
        from .bundle import write_bundle

        with self._lock(deployment_id):
            deployment = self.get(deployment_id, stats=False)
            if deployment["status"] != "running" or deployment["version"] == version:
                return deployment
            old = deployment["version"]
            bundle_dir = self.bundle_dir(deployment_id, version)
            if deployment["target"] == "local":
                write_bundle(self.mlops, f"{deployment['model']}/{version}", bundle_dir)
            view = {**self._deployer_view(deployment), "version": version, "bundle_dir": bundle_dir}
            fields = self.deployer(deployment["target"]).reload(view, bundle_dir)
            fields.pop("image_size", None)
            fields.pop("status", None)
            fields.pop("status_reason", None)
            self.mlops.log.info(
                "deployment %s follows %s: v%s -> v%s",
                deployment_id,
                deployment["model_ref"],
                old,
                version,
            )
            return self._update(
                deployment_id,
                version=version,
                status_reason=f"followed {deployment['model_ref']} from v{old} to v{version}",
                **fields,
            )

    # -- recovery and the background task -----------------------------------------------------

    def recover(self) -> list[str]:
        """Mark deployments whose process/container is gone as stopped (server start-up)."""
        with self.mlops.db.session() as session:
            rows = session.scalars(
                select(m.Deployment).where(m.Deployment.status.in_(ACTIVE))
            ).all()
            candidates = [self.to_dict(row) for row in rows]
        gone = []
        for deployment in candidates:
            try:
                alive = self.deployer(deployment["target"]).is_alive(
                    self._deployer_view(deployment)
                )
            except Exception:  # noqa: BLE001 - an unreachable engine means "not serving"
                alive = False
            if not alive:
                gone.append(deployment["id"])
                self._update(
                    deployment["id"],
                    status="stopped",
                    pid=None,
                    status_reason="the serving process was gone when the server started",
                )
        if gone:
            self.mlops.log.info("deployments marked stopped (process gone): %s", ", ".join(gone))
        return gone

    def start(self) -> None:
        """Server start-up: recovery, then a background thread that follows aliases."""
        self.recover()
        interval = float(self.mlops.deployment_poll_interval)
        if interval <= 0 or (self._thread and self._thread.is_alive()):
            return
        self._stop_event.clear()
        self._thread = threading.Thread(
            target=self._follow_loop, args=(interval,), name="mlops-alias-follower", daemon=True
        )
        self._thread.start()

    def _follow_loop(self, interval: float) -> None:
        while not self._stop_event.wait(interval):
            try:
                self.sync_aliases()
            except Exception:  # noqa: BLE001 - keep following; the next tick retries
                self.mlops.log.exception("alias following failed")

    def stop_background(self) -> None:
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    # -- stats for the panel ------------------------------------------------------------------

    def stats(self, deployment: dict[str, Any]) -> dict[str, Any]:
        """Requests, errors, error rate, p50/p99 latency (ms), from /metrics and the log."""
        result: dict[str, Any] = {
            "predictions": 0,
            "requests": None,
            "errors": None,
            "error_rate": None,
            "p50_ms": None,
            "p99_ms": None,
            "source": "prediction_log",
        }
        path = deployment.get("prediction_log")
        if path and Path(path).is_file():
            result.update(_log_stats(path))
        if deployment.get("status") == "running" and deployment.get("url"):
            metrics = _metrics_stats(deployment["url"])
            if metrics:
                result.update(metrics)
                result["source"] = "metrics+prediction_log"
        if result["requests"] is not None and result["errors"] is not None:
            total = result["requests"]
            result["error_rate"] = (result["errors"] / total) if total else 0.0
        return result


def _log_stats(path: str) -> dict[str, Any]:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
    except sqlite3.Error:
        return {}
    try:
        count = connection.execute("SELECT count(*) FROM predictions").fetchone()[0]
        latencies = [
            row[0]
            for row in connection.execute(
                "SELECT latency_ms FROM predictions WHERE latency_ms IS NOT NULL "
                "ORDER BY ts DESC LIMIT ?",
                (STATS_ROWS,),
            )
        ]
    except sqlite3.Error:
        return {}
    finally:
        connection.close()
    out: dict[str, Any] = {"predictions": int(count)}
    if latencies:
        import numpy as np

        p50, p99 = np.percentile(np.asarray(latencies, dtype=float), [50, 99])
        out["p50_ms"], out["p99_ms"] = round(float(p50), 3), round(float(p99), 3)
    return out


def _metrics_stats(url: str) -> dict[str, Any]:
    """Request and error counters from the deployment's Prometheus text (best effort)."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        response = httpx.get(f"{url}/metrics", timeout=1.0, trust_env=False)
        response.raise_for_status()
    except httpx.HTTPError:
        return {}
    requests = errors = 0.0
    seen = False
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            # Shadow calls are mirrors, not client requests.
            if not sample.name.endswith("_total") or sample.labels.get("variant") == "shadow":
                continue
            if "request" in sample.name and "error" not in sample.name:
                if sample.labels.get("endpoint", sample.labels.get("path", "/predict")) in (
                    "/predict",
                    "predict",
                ):
                    requests += sample.value
                    seen = True
            elif "error" in sample.name:
                errors += sample.value
    if not seen:
        return {}
    return {"requests": int(requests), "errors": int(errors)}
