"""Alias following: a deployment of ``churn@production`` serves whatever the alias points at.

When the alias moves, the new version's bundle is written and the running process is asked to
hot-swap it (``POST /admin/reload``), so no request fails during the switch (a docker
container gets the bundle copied in and is asked from inside: ``deployers/docker.py``). Two
things call :meth:`AliasFollowing.sync`: the composition root, on every ``ALIAS_CHANGED`` event
of the server's bus, and the scheduler job ``serving.follow_aliases``, which catches aliases
moved by other processes (a notebook kernel, the CLI) — ``jupyter mlops deployments sync`` does
the same from the command line. Each hosted model of a multi-model deployment that names an
alias follows it on its own (:meth:`AliasFollowing.switch_model`): the others keep serving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ..errors import MLOpsError, NotFound
from .bundle import BundleWriter
from .deployers import Deployers
from .ports import VersionLookup
from .records import DeploymentRecords, served_models


class AliasFollowing:
    """Moves running alias deployments to the version their alias points at now."""

    def __init__(
        self,
        records: DeploymentRecords,
        versions: VersionLookup,
        bundles: BundleWriter,
        deployers: Deployers,
        lock: Callable[[str], threading.RLock],
        log: logging.Logger,
        on_switched: Callable[[dict[str, Any], str, int, int], None] | None = None,
    ):
        self.records = records
        self.versions = versions
        self.bundles = bundles
        self.deployers = deployers
        self.lock = lock
        self.log = log
        # Told (record, model, old version, new version) after a switch, outside the lock.
        self.on_switched = on_switched

    def sync(self, model: str | None = None) -> list[dict[str, Any]]:
        """Switch every running alias deployment (of ``model``) whose alias moved; returns the
        switched records. One that cannot follow keeps serving and says why."""
        switched = []
        for deployment in self.records.find(status="running", limit=10_000):
            for name, ref, version in self._followed(deployment, model):
                try:
                    current = self.versions.resolve(ref)
                except NotFound:
                    continue  # alias deleted: keep serving what we have
                if int(current["version"]) == version:
                    continue
                try:
                    if deployment["models"]:
                        switched.append(
                            self.switch_model(deployment["id"], name, int(current["version"]))
                        )
                    else:
                        switched.append(self.switch(deployment["id"], int(current["version"])))
                except MLOpsError as err:
                    self.log.warning(
                        "deployment %s could not follow %s: %s", deployment["id"], ref, err.message
                    )
                    self.records.update(
                        deployment["id"], status_reason=f"could not follow {ref}: {err.message}"
                    )
        return switched

    @staticmethod
    def _followed(deployment: dict[str, Any], model: str | None) -> list[tuple[str, str, int]]:
        """(model name, alias reference, version served) of what ``deployment`` follows."""
        return [
            (h["name"], h["model_ref"], h["version"])
            for h in served_models(deployment)
            if h["follows_alias"] is not None and model in (None, h["name"])
        ]

    def switch_model(self, deployment_id: str, name: str, version: int) -> dict[str, Any]:
        """Hot-swap one hosted model of a running multi-model deployment to ``version``; the
        others keep serving what they serve."""
        with self.lock(deployment_id):
            deployment = self.records.get(deployment_id)
            served = next((h for h in deployment["models"] if h["name"] == name), None)
            if deployment["status"] != "running" or served is None or served["version"] == version:
                return deployment
            old = served["version"]
            bundle_dir = self.records.bundle_dir(deployment_id, version, name)
            self.bundles.write(f"{name}/{version}", bundle_dir, root=self.records.base_dir)
            moved = [
                {**h, "version": version, "bundle_dir": bundle_dir} if h["name"] == name else h
                for h in deployment["models"]
            ]
            self.deployers(deployment["target"]).reload_model(
                {**deployment, "models": moved}, name, bundle_dir
            )
            self.log.info(
                "deployment %s follows %s: v%s -> v%s",
                deployment_id,
                served["model_ref"],
                old,
                version,
            )
            switched = self.records.update(
                deployment_id,
                models=[
                    {"name": h["name"], "model_ref": h["model_ref"], "version": h["version"]}
                    for h in moved
                ],
                version=moved[0]["version"],
                status_reason=f"followed {served['model_ref']} from v{old} to v{version}",
            )
        if self.on_switched is not None:
            self.on_switched(switched, name, old, version)
        return switched

    def switch(self, deployment_id: str, version: int) -> dict[str, Any]:
        """Hot-swap a running deployment to ``version`` (a no-op if it serves it already)."""
        with self.lock(deployment_id):
            deployment = self.records.get(deployment_id)
            if deployment["status"] != "running" or deployment["version"] == version:
                return deployment
            old = deployment["version"]
            bundle_dir = self.records.bundle_dir(deployment_id, version)
            if deployment["target"] == "local":
                self.bundles.write(
                    f"{deployment['model']}/{version}", bundle_dir, root=self.records.base_dir
                )
            view = {**deployment, "version": version, "bundle_dir": bundle_dir}
            fields = self.deployers(deployment["target"]).reload(view, bundle_dir)
            for key in ("image_size", "status"):
                fields.pop(key, None)
            how = fields.pop("status_reason", None)  # the target's word on how it switched
            self.log.info(
                "deployment %s follows %s: v%s -> v%s",
                deployment_id,
                deployment["model_ref"],
                old,
                version,
            )
            switched = self.records.update(
                deployment_id,
                version=version,
                status_reason=f"followed {deployment['model_ref']} from v{old} to v{version}"
                + (f" ({how})" if how else ""),
                **fields,
            )
        if self.on_switched is not None:
            self.on_switched(switched, deployment["model"], old, version)
        return switched
