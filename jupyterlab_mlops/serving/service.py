"""``DeploymentService``: deploy, list, stop, restart, delete, split traffic, follow aliases.

The facade the handlers, the CLI, the magics and the workflows call. It owns the lifecycle and
the status of a deployment; the record lives in :mod:`.records` (the ``deployments`` table), the
mechanics of each target in :mod:`.deployers`, alias following in :mod:`.following`, the panel's
numbers in :mod:`.stats`. What it needs from other domains comes in as ports (:mod:`.ports`):
the registry's ``resolve`` and the runs' ``get``; it publishes ``DEPLOYMENT_FAILED`` when a
deployment fails to start or its process is found gone.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..access import ALLOW_ALL, Access
from ..errors import Conflict, InvalidInput, MLOpsError
from ..events import (
    DEPLOYMENT_CREATED,
    DEPLOYMENT_FAILED,
    DEPLOYMENT_RESTARTED,
    DEPLOYMENT_STOPPED,
    DEPLOYMENT_SWITCHED,
    EventBus,
)
from ..refs import parse_ref
from ..store import ArtifactStore, Database
from .bundle import BundleWriter
from .config import NAME_RE, clean_config, parse_canary
from .deployers import TARGETS, Deployers, check_target
from .deployers.base import DEFAULT_BASE_IMAGE, Deployer, DeployerContext, Progress, no_progress
from .following import AliasFollowing
from .keys import DeploymentKeys, keys_required, policy, policy_path, write_policy
from .liveness import Liveness
from .ports import RunLookup, VersionLookup
from .records import ACTIVE, DeploymentRecords, served_models
from .stats import deployment_stats, mark_loaded

__all__ = ["TARGETS", "DeploymentService"]  # TARGETS: the targets create() accepts


def _reason(err: BaseException) -> str:
    return err.message if isinstance(err, MLOpsError) else f"{type(err).__name__}: {err}"


class DeploymentService:
    """Deployments of registered model versions to local processes, containers or clusters."""

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        *,
        versions: VersionLookup,
        runs: RunLookup,
        base_dir: str | Path,
        default_target: str = "local",
        docker_base_image: str = DEFAULT_BASE_IMAGE,
        docker_extra_ca_bundle: str = "",
        docker_prefetch_wheels: bool = False,
        events: EventBus | None = None,
        log: logging.Logger | None = None,
        access: Callable[[], Access] | None = None,
    ):
        self._access = access or (lambda: ALLOW_ALL)
        self.records = DeploymentRecords(db, base_dir)
        self.versions = versions
        self.default_target = default_target
        self.events = events
        self.log = log or logging.getLogger(__name__)
        self.bundles = BundleWriter(versions, runs, artifacts)
        self.deployer_context = DeployerContext(
            bundles=self.bundles,
            docker_base_image=docker_base_image,
            docker_extra_ca_bundle=docker_extra_ca_bundle,
            docker_prefetch_wheels=docker_prefetch_wheels,
            deployments_dir=self.records.base_dir,
        )
        self._deployers = Deployers(self.deployer_context)
        self._locks: dict[str, threading.RLock] = {}
        self._locks_guard = threading.Lock()
        self.following = AliasFollowing(
            self.records,
            versions,
            self.bundles,
            self._deployers,
            self._lock,
            self.log,
            on_switched=lambda deployment, model, old, new: self._publish(
                DEPLOYMENT_SWITCHED,
                deployment_id=deployment["id"],
                model=model,
                from_version=old,
                to_version=new,
            ),
        )
        self.keys = DeploymentKeys(db)
        self.liveness = Liveness(self)

    # -- helpers ------------------------------------------------------------------------------

    @property
    def base_dir(self) -> Path:
        return self.records.base_dir

    def deployer(self, target: str) -> Deployer:
        return self._deployers(target)

    def _lock(self, deployment_id: str) -> threading.RLock:
        with self._locks_guard:
            return self._locks.setdefault(deployment_id, threading.RLock())

    def bundle_dir(self, deployment_id: str, version: int) -> str:
        return self.records.bundle_dir(deployment_id, version)

    def validate_config(self, config: Any) -> dict[str, Any]:
        """The ``config`` of a create request, checked and cleaned; a 400 naming the field."""
        return clean_config(config)

    def _check_challenger(self, model: str, config: dict[str, Any]) -> None:
        for key in ("canary", "shadow"):
            if key in config:
                self.versions.resolve(f"{model}/{config[key]['version']}")

    def _write_bundles(self, deployment: dict[str, Any]) -> None:
        for served in served_models(deployment):
            model = served["name"]
            for version, directory in (
                (served["version"], served["bundle_dir"]),
                (served["challenger_version"], served["challenger_bundle_dir"]),
            ):
                if version is None:
                    continue
                metadata = Path(directory) / "mlops-model.json"
                if metadata.is_file() and not metadata.is_symlink():
                    continue
                self.bundles.write(f"{model}/{version}", directory, root=self.base_dir)

    def _hosted_models(
        self, clean: dict[str, Any], target: str, identity: Any
    ) -> list[dict[str, Any]]:
        """The entries of ``config.models`` resolved (name, reference, version); 400/404
        naming the entry."""
        if target != "local":
            raise InvalidInput(
                f"config.models: several models in one process run on the local target, not "
                f"{target!r}",
                details={"field": "config.models"},
            )
        access = self._access()
        hosted = []
        for index, entry in enumerate(clean["models"]):
            ref = parse_ref(entry["model"])
            if access.is_protected(ref.alias):
                access.require(identity, "approve", f"deploy protected alias {ref.alias!r}")
            try:
                version = self.versions.resolve(str(ref))
                self._check_challenger(version["name"], entry)
            except MLOpsError as err:
                err.details = {**err.details, "field": f"config.models[{index}]"}
                raise
            if version.get("archived") and ref.version is None:
                raise Conflict(f"{ref} resolves to archived version {version['version']}")
            hosted.append(
                {"name": version["name"], "model_ref": str(ref), "version": int(version["version"])}
            )
        return hosted

    def _failed(self, deployment_id: str, reason: str, **fields: Any) -> dict[str, Any]:
        record = self.records.update(deployment_id, status="failed", status_reason=reason, **fields)
        self._publish_failure(deployment_id, reason)
        return record

    def _write_policy(self, deployment: dict[str, Any]) -> None:
        """The Host/Origin/API-key policy the serving process reads (and re-reads)."""
        write_policy(
            policy_path(deployment), policy(deployment, self.keys.hashes(deployment["id"]))
        )

    def _publish(self, name: str, **payload: Any) -> None:
        if self.events is not None:
            self.events.publish(name, **payload)

    def _publish_failure(self, deployment_id: str, reason: str) -> None:
        self._publish(DEPLOYMENT_FAILED, deployment_id=deployment_id, reason=reason)

    # -- create / read ------------------------------------------------------------------------

    def create(
        self,
        model: Any,
        target: str | None = None,
        *,
        name: str | None = None,
        config: Any = None,
        user: str = "",
        progress: Progress = no_progress,
        on_created: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Deploy a model reference; returns the record (with ``url``) once it answers.

        ``on_created`` is called with the record as soon as it exists (status ``starting``),
        before the target starts it, so a caller can remember its id across a restart.
        """
        target = check_target(target or self.default_target)
        hosted = None
        if model is None or model == "":  # several models: config.models names them
            clean = clean_config(config)
            if "models" not in clean:
                raise InvalidInput(
                    "'model' is required: a reference such as 'churn@production' or 'churn/3' "
                    "(or config.models for several)",
                    details={"field": "model"},
                )
            hosted = self._hosted_models(clean, target, self._access().require(user, "deploy"))
            model = hosted[0]["model_ref"]
        if not isinstance(model, str):
            raise InvalidInput(
                "model must be a reference such as 'churn@production' or 'churn/3'",
                details={"field": "model"},
            )
        ref = parse_ref(model)
        access = self._access()
        identity = access.require(user, "deploy")
        if access.is_protected(ref.alias):
            access.require(identity, "approve", f"deploy protected alias {ref.alias!r}")
        if hosted is None:
            clean = clean_config(config)
            if "models" in clean:
                raise InvalidInput(
                    "give either model (one model) or config.models (several), not both",
                    details={"field": "model"},
                )
        version = self.versions.resolve(str(ref))
        if version.get("archived") and ref.version is None:
            raise Conflict(f"{ref} resolves to archived version {version['version']}")
        self._check_challenger(version["name"], clean)
        if hosted is not None and (name is None or name == ""):
            name = "-".join(h["name"] for h in hosted)[:63].rstrip("-_.")
        if name is None or name == "":
            name = version["name"] if ref.alias is None else f"{version['name']}-{ref.alias}"
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise InvalidInput(
                f"invalid deployment name {name!r}: letters, digits, '_', '-', '.', at most 63",
                details={"field": "name"},
            )
        record = self.records.insert(
            name=name,
            model=version["name"],
            model_ref=str(ref),
            version=int(version["version"]),
            target=target,
            config=clean,
            user=user,
            models=hosted,
        )
        first_key = None
        if keys_required(record):
            first_key = self.keys.create(record["id"], name="default", user=user)["key"]
        if on_created is not None:
            on_created(record)
        # Before the target starts it: a deployment that fails to start is watched once it runs.
        self._publish(
            DEPLOYMENT_CREATED,
            deployment_id=record["id"],
            model=record["model"],
            version=record["version"],
            target=target,
            monitor=clean.get("monitor", True),
            user=user,
        )
        progress(f"deployment {record['id']}: {ref} -> {version['name']} v{version['version']}")
        started = self._start(record["id"], progress)
        if first_key is not None:
            started["api_key"] = first_key  # shown once: the store keeps its sha256 only
        return started

    def _start(
        self, deployment_id: str, progress: Progress, reason: str | None = None
    ) -> dict[str, Any]:
        with self._lock(deployment_id):
            deployment = self.records.get(deployment_id)
            try:
                if deployment["target"] == "local":
                    progress("writing the model bundle")
                    self._write_bundles(deployment)
                self._write_policy(deployment)
                fields = self.deployer(deployment["target"]).start(deployment, progress)
            except BaseException as err:
                self._failed(deployment_id, _reason(err), pid=None)
                if isinstance(err, MLOpsError):
                    err.details = {**err.details, "deployment_id": deployment_id}
                raise
            return self._started(deployment_id, fields, reason)

    def _started(
        self, deployment_id: str, fields: dict[str, Any], reason: str | None = None
    ) -> dict[str, Any]:
        fields = dict(fields)
        fields.pop("image_size", None)
        status = fields.pop("status", "running")
        reason = fields.pop("status_reason", reason)
        return self.records.update(deployment_id, status=status, status_reason=reason, **fields)

    def _revive(self, deployment_id: str, restarts: int) -> dict[str, Any]:
        """Start a dead deployment again for its restart policy (the caller holds the lock)."""
        deployment = self.records.update(
            deployment_id,
            status="starting",
            status_reason=f"restart {restarts} (restart_policy on-failure)",
            pid=None,
            restarts=restarts,
        )
        reason = f"restarted by restart_policy on-failure ({restarts} restarts)"
        if deployment["target"] == "local":
            return self._start(deployment_id, no_progress, reason)
        self._write_policy(deployment)
        fields = self.deployer(deployment["target"]).restart(deployment, no_progress)
        return self._started(deployment_id, fields, reason)

    def get(self, deployment_id: str, *, stats: bool = True) -> dict[str, Any]:
        deployment = self.records.get(deployment_id)
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
        items, total = self.records.page(
            status=status, model=model, target=target, offset=offset, limit=limit
        )
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
        return self.records.find(
            name=name,
            model=model,
            model_ref=model_ref,
            version=version,
            target=target,
            status=status,
            active=active,
            pinned=pinned,
            limit=limit,
        )

    def is_alive(self, deployment: dict[str, Any] | str) -> bool:
        """Whether the process/container behind a record (or an id) still exists."""
        if isinstance(deployment, str):
            deployment = self.records.get(deployment)
        try:
            return self.deployer(deployment["target"]).is_alive(deployment)
        except Exception:  # noqa: BLE001 - an unreachable engine means "not serving"
            return False

    # -- lifecycle ----------------------------------------------------------------------------

    def stop(self, deployment_id: str, *, user: str = "") -> dict[str, Any]:
        self._access().require(user, "deploy", "stop deployments")
        with self._lock(deployment_id):
            deployment = self.records.get(deployment_id)
            self.deployer(deployment["target"]).stop(deployment)
            status = "stopped" if deployment["status"] != "written" else "written"
            stopped = self.records.update(
                deployment_id,
                status=status,
                status_reason=f"stopped by {user or 'a user'}",
                pid=None,
            )
        self._publish(DEPLOYMENT_STOPPED, deployment_id=deployment_id, user=user)
        return stopped

    def restart(
        self, deployment_id: str, *, user: str = "", progress: Progress = no_progress
    ) -> dict[str, Any]:
        self._access().require(user, "deploy", "restart deployments")
        restarted = self._restart(deployment_id, user=user, progress=progress)
        self._publish(DEPLOYMENT_RESTARTED, deployment_id=deployment_id, user=user)
        return restarted

    def _restart(self, deployment_id: str, *, user: str, progress: Progress) -> dict[str, Any]:
        with self._lock(deployment_id):
            deployment = self.records.get(deployment_id)
            deployer = self.deployer(deployment["target"])
            if deployment["target"] == "local":
                deployer.stop(deployment)
                self.records.update(
                    deployment_id, status="starting", status_reason=None, pid=None, restarts=0
                )
                return self._start(deployment_id, progress)
            self.records.update(deployment_id, restarts=0)
            try:
                self._write_policy(deployment)
                fields = deployer.restart(deployment, progress)
            except MLOpsError as err:
                self._failed(deployment_id, err.message)
                raise
            return self._started(deployment_id, fields)

    def delete(self, deployment_id: str, *, user: str = "") -> dict[str, Any]:
        self._access().require(user, "delete", "delete deployments")
        with self._lock(deployment_id):
            deployment = self.records.get(deployment_id)
            deployer = self.deployer(deployment["target"])
            deployer.stop(deployment)
            deployer.remove(deployment)
            self.keys.delete_all(deployment_id)
            self.records.delete(deployment_id)
            shutil.rmtree(self.records.paths(deployment_id)["deploy_dir"], ignore_errors=True)
        with self._locks_guard:
            self._locks.pop(deployment_id, None)
        return {"id": deployment_id, "deleted": True}

    def logs(self, deployment_id: str, *, tail: int = 200) -> dict[str, Any]:
        deployment = self.records.get(deployment_id)
        text = self.deployer(deployment["target"]).logs(deployment, tail)
        return {"id": deployment_id, "tail": tail, "text": text}

    def set_canary(self, deployment_id: str, canary: Any, *, user: str = "") -> dict[str, Any]:
        """Route ``percent`` of traffic to ``version`` (``{"version": N, "shadow": true}``
        mirrors instead); ``None``, ``{}`` or percent 0 removes the challenger. A running local
        process swaps the split in place; other targets are restarted with it."""
        update = parse_canary(canary)  # a bad body never touches the live split
        self._access().require(user, "deploy", "change canaries")
        with self._lock(deployment_id):
            deployment = self.records.get(deployment_id)
            if deployment["models"]:
                raise InvalidInput(
                    "a multi-model deployment has a challenger per model: set "
                    "config.models[i].canary or .shadow when creating it",
                    details={"field": "canary"},
                )
            config = clean_config(update.apply(deployment["config"]))
            self._check_challenger(deployment["model"], config)
            updated = self.records.update(deployment_id, config=config)
            if deployment["status"] != "running":
                return updated
            if deployment["target"] != "local":
                return self.restart(deployment_id, user=user)
            self._write_bundles(updated)
            try:
                self.deployer("local").reload(updated, updated["bundle_dir"])
            except MLOpsError:
                self.records.update(deployment_id, config=deployment["config"])
                raise
            split = config.get("canary") or config.get("shadow")
            if split is None:
                summary = "challenger removed"
            elif "shadow" in config:
                summary = f"challenger v{split['version']} in shadow"
            else:
                summary = f"challenger v{split['version']} at {split['percent']}%"
            return self.records.update(
                deployment_id, status_reason=f"{summary} by {user or 'a user'}"
            )

    def write_context(self, ref: str, dest: str | Path, **options: Any) -> dict[str, Any]:
        """A docker build context for ``ref`` in ``dest`` (``jupyter mlops build``)."""
        from .deployers.docker import write_context

        return write_context(self.deployer_context, ref, dest, **options)

    # -- alias following ----------------------------------------------------------------------

    def sync_aliases(self, model_name: str | None = None) -> list[dict[str, Any]]:
        """Move running alias deployments to the version their alias points at now."""
        return self.following.sync(model_name)

    def on_alias_changed(self, model_name: str, alias: str | None = None) -> None:
        """Subscribed to ``ALIAS_CHANGED`` by the composition root: an alias of a model moved."""
        self.following.sync(model_name)

    # -- liveness -----------------------------------------------------------------------------

    def recover(self) -> list[str]:
        """Server start-up: deployments whose process/container is gone are marked stopped."""
        gone = []
        for deployment in self.records.find(status=ACTIVE, limit=100_000):
            if self.is_alive(deployment):
                continue
            reason = "the serving process was gone when the server started"
            gone.append(deployment["id"])
            self.records.update(deployment["id"], status="stopped", pid=None, status_reason=reason)
            self._publish_failure(deployment["id"], reason)
        if gone:
            self.log.info("deployments marked stopped (process gone): %s", ", ".join(gone))
        return gone

    def check_liveness(self) -> list[str]:
        """Running local and docker deployments whose process or container died (or stopped
        answering ``/health``) since: ``failed`` with the reason, ``DEPLOYMENT_FAILED``
        published, and restarted when their ``restart_policy`` says so (the scheduler job
        ``serving.liveness``). Returns the ids found dead in this pass."""
        return self.liveness.check()

    # -- API keys -----------------------------------------------------------------------------

    def create_key(self, deployment_id: str, *, name: str = "", user: str = "") -> dict[str, Any]:
        """A new API key (in ``key``, shown this once); the serving process accepts it within
        a second."""
        with self._lock(deployment_id):
            created = self.keys.create(deployment_id, name=name, user=user)
            self._write_policy(self.records.get(deployment_id))
        return created

    def list_keys(self, deployment_id: str) -> list[dict[str, Any]]:
        self.records.get(deployment_id)  # 404 for an unknown deployment
        return self.keys.list(deployment_id)

    def revoke_key(self, deployment_id: str, key_id: str, *, user: str = "") -> dict[str, Any]:
        with self._lock(deployment_id):
            revoked = self.keys.revoke(deployment_id, key_id)
            self._write_policy(self.records.get(deployment_id))
        return revoked

    def rotate_keys(self, deployment_id: str, *, name: str = "", user: str = "") -> dict[str, Any]:
        """A new key, and every older one revoked (in one policy change)."""
        with self._lock(deployment_id):
            older = self.keys.list(deployment_id, include_revoked=False)
            created = self.keys.create(deployment_id, name=name or "rotated", user=user)
            for key in older:
                self.keys.revoke(deployment_id, key["id"])
            self._write_policy(self.records.get(deployment_id))
        return {**created, "revoked": [key["id"] for key in older]}

    def start(self) -> None:
        """Server start-up: recovery. Following and liveness run as scheduler jobs."""
        self.recover()

    # -- stats for the panel ------------------------------------------------------------------

    def stats(self, deployment: dict[str, Any]) -> dict[str, Any]:
        """Requests, errors, error rate, p50/p99 latency (ms), from /metrics and the log (and
        which hosted models are loaded, set on the record's ``models``)."""
        mark_loaded(deployment)
        return deployment_stats(deployment)
