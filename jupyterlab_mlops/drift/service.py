"""``MonitorService`` (``mlops.monitors``): the drift domain's one entry point.

A monitor watches one deployment. A check (:meth:`MonitorService.check`, run by the scheduler
job ``drift.monitors`` for every due monitor, or by hand) runs the pipeline of ``checks.py``,
stores a result (``monitors.py``), opens alerts for the rules that fired, delivers them and
announces them on the event bus (``alerts.py``). A monitor whose config names a training
notebook (``retrain``) closes the loop: the retrain workflow (``workflows/retrain.py``) starts
on the announced alert, and this service's retraining methods delegate to it.

Everything outside the domain is injected (``ports.py``): deployments, model versions, the
prediction log, the check of a retrain notebook's parameters, the event bus and the settings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ..access import ALLOW_ALL, Access
from ..errors import Conflict, Forbidden, InvalidInput, MLOpsError, NotFound
from ..refs import parse_ref
from ..store.db import Database
from ..store.models import new_id
from . import charts
from .alerts import Alerts
from .checks import Checks, Evaluation
from .config import check_interval, normalise_config, retrain_parameters
from .monitors import Monitors
from .ports import (
    DeploymentLookup,
    DriftSettings,
    EventPublisher,
    PredictionReader,
    Retraining,
    RetrainParameterCheck,
    VersionLookup,
)
from .reference import Reference
from .report import (
    DATASET_DRIFT_SHARE,
    DriftReport,
    insufficient_report,
    json_safe,
    resolve_methods,
)

log = logging.getLogger(__name__)

UPDATABLE = ("config", "interval_seconds", "enabled")


class MonitorService:
    def __init__(
        self,
        db: Database,
        *,
        deployments: DeploymentLookup,
        versions: VersionLookup,
        predictions: PredictionReader,
        check_retrain: RetrainParameterCheck | None = None,
        events: EventPublisher | None = None,
        settings: DriftSettings | None = None,
        retraining: Callable[[], Retraining] | None = None,
        logger: logging.Logger | None = None,
        access: Callable[[], Access] | None = None,
    ):
        self._access = access or (lambda: ALLOW_ALL)
        self.db = db
        self.deployments = deployments
        self.versions = versions
        self.check_retrain = check_retrain
        self.settings = settings or DriftSettings()
        # A provider, not the workflow itself: the workflow is built on top of this service.
        self._retraining_provider = retraining
        self.log = logger or log
        self.alerts_store = Alerts(db, deployments, events=events, settings=self.settings)
        self.monitors = Monitors(db, deployments, self.alerts_store.open_counts)
        self.checks = Checks(versions, predictions)
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, monitor_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(monitor_id, threading.Lock())

    # -- dicts (kept for callers of the former monolith) ----------------------------------------

    to_dict = staticmethod(Monitors.to_dict)
    result_dict = staticmethod(Monitors.result_dict)
    alert_dict = staticmethod(Alerts.to_dict)

    def smtp_settings(self, override: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.alerts_store.smtp_settings(override)

    # -- deployments ----------------------------------------------------------------------------

    def _deployment_for_monitor(self, deployment: Any) -> dict[str, Any]:
        """A deployment by id, else the newest one of that name."""
        if not isinstance(deployment, str) or not deployment:
            raise InvalidInput("deployment_id is required", details={"field": "deployment_id"})
        try:
            return self.deployments.get(deployment)
        except NotFound:
            pass
        named = self.deployments.find(name=deployment)
        if not named:
            raise NotFound(f"no deployment {deployment!r}")
        return named[0]

    def find_deployment(self, target: str) -> dict[str, Any]:
        """A deployment by id, name or the model ref it serves (running ones first)."""
        if isinstance(target, str) and target:
            try:
                return self.deployments.get(target)
            except NotFound:
                pass
            candidates = self.deployments.find(name=target) or self.deployments.find(
                model_ref=target
            )
            if not candidates:
                try:
                    normal = str(parse_ref(target))
                except InvalidInput:
                    normal = None
                if normal and normal != target:
                    candidates = self.deployments.find(model_ref=normal)
            running = [c for c in candidates if c["status"] == "running"]
            if running or candidates:
                return (running or candidates)[0]
        raise NotFound(
            f"no deployment named {target!r} or serving {target!r}; deploy it first "
            "(jupyter mlops deploy …)"
        )

    # -- CRUD -----------------------------------------------------------------------------------

    def _validated(
        self, config: Any, deployment: Mapping[str, Any], monitor_id: str
    ) -> dict[str, Any]:
        """The stored form of ``config``, checked against the deployment it will watch: its
        methods and columns against the version's reference, its retrain notebook's
        parameters against the notebook."""
        clean = normalise_config(config)
        try:
            reference, _version = self.checks.reference(deployment["model"], deployment["version"])
        except (Conflict, NotFound):
            reference = None  # no profile: every check will say so
        if reference is not None:
            unknown = [c for c in clean["columns"] or [] if c not in reference.columns]
            if unknown:
                raise InvalidInput(
                    f"columns not in the reference of {deployment['model']} "
                    f"v{deployment['version']}: {unknown}",
                    details={"field": "config.columns"},
                )
            if clean["methods"] is not None:
                try:
                    resolve_methods(reference, clean["methods"])
                except InvalidInput as err:
                    raise InvalidInput(
                        err.message,
                        code=err.code,
                        details={**err.details, "field": "config.methods"},
                    ) from None
        retrain = clean["retrain"]
        if retrain:
            if retrain["alias"] is None:
                retrain["alias"] = parse_ref(deployment["model_ref"]).alias
            if self.check_retrain is not None:
                self._check_retrain(retrain, deployment, monitor_id)
        return clean

    def _check_retrain(
        self, retrain: Mapping[str, Any], deployment: Mapping[str, Any], monitor_id: str
    ) -> None:
        parameters = retrain_parameters(retrain["parameters"], deployment, monitor_id)
        key = "pipeline" if retrain.get("pipeline") else "notebook"
        try:
            self.check_retrain(retrain[key], parameters)
        except InvalidInput as err:
            name = err.details.get("parameter")
            where = f"config.retrain.parameters.{name}" if name else f"config.retrain.{key}"
            raise InvalidInput(
                f"retrain: {err.message}", code=err.code, details={**err.details, "field": where}
            ) from None
        except NotFound as err:
            raise InvalidInput(
                f"retrain.{key}: {err.message}",
                code=f"no_{key}",
                details={"field": f"config.retrain.{key}"},
            ) from None
        except Forbidden as err:
            raise Forbidden(err.message, details={"field": f"config.retrain.{key}"}) from None

    def _interval(self, value: Any) -> float:
        if value is None:
            return check_interval(float(self.settings.default_interval or 3600.0))
        return check_interval(value)

    def create(
        self,
        deployment: str,
        *,
        config: Any = None,
        interval_seconds: Any = None,
        enabled: bool = True,
        user: str = "",
    ) -> dict[str, Any]:
        """A monitor on ``deployment`` (id or name); validated before anything is written."""
        self._access().require(user, "monitor", "create monitors")
        interval = self._interval(interval_seconds)
        if not isinstance(enabled, bool):
            raise InvalidInput("enabled must be true or false", details={"field": "enabled"})
        target = self._deployment_for_monitor(deployment)
        monitor_id = new_id()
        clean = self._validated(config, target, monitor_id)
        return self.monitors.create(
            monitor_id=monitor_id,
            deployment_id=target["id"],
            config=clean,
            interval_seconds=interval,
            enabled=enabled,
            user=user,
        )

    def list(
        self, *, deployment_id: str | None = None, offset: int = 0, limit: int = 50
    ) -> dict[str, Any]:
        return self.monitors.list(deployment_id=deployment_id, offset=offset, limit=limit)

    def get(self, monitor_id: str) -> dict[str, Any]:
        return self.monitors.get(monitor_id)

    def update(self, monitor_id: str, changes: Mapping[str, Any], *, user: str = "") -> dict:
        """Change ``config`` (replaced whole), ``interval_seconds`` and/or ``enabled``."""
        self._access().require(user, "monitor", "change monitors")
        if not isinstance(changes, Mapping):
            raise InvalidInput("the update must be a JSON object")
        unknown = set(changes) - set(UPDATABLE)
        if unknown:
            raise InvalidInput(
                f"cannot update {sorted(unknown)}; updatable: {', '.join(UPDATABLE)}",
                details={"field": sorted(unknown)[0]},
            )
        current = self.monitors.get(monitor_id)
        interval = (
            self._interval(changes["interval_seconds"]) if "interval_seconds" in changes else None
        )
        enabled = changes.get("enabled")
        if "enabled" in changes and not isinstance(enabled, bool):
            raise InvalidInput("enabled must be true or false", details={"field": "enabled"})
        clean = None
        if "config" in changes:
            deployment = self.deployments.get(current["deployment_id"])
            clean = self._validated(changes["config"], deployment, monitor_id)
        return self.monitors.update(
            monitor_id, config=clean, interval_seconds=interval, enabled=enabled
        )

    def delete(self, monitor_id: str, *, user: str = "") -> dict[str, Any]:
        self._access().require(user, "monitor", "delete monitors")
        result = self.monitors.get(monitor_id)
        self.alerts_store.delete_for_monitor(monitor_id)
        self.monitors.delete(monitor_id)
        return {**result, "deleted": True}

    def pause(self, monitor_id: str, *, user: str = "") -> bool:
        """No checks while the deployment is stopped (status ``paused``); a monitor a user
        disabled stays as it is. Whether it was paused."""
        self._access().require(user, "monitor", "pause monitors")
        return self.monitors.pause(monitor_id)

    def resume(self, monitor_id: str, *, user: str = "") -> bool:
        """A paused monitor checked again from the next tick; whether it was resumed."""
        self._access().require(user, "monitor", "resume monitors")
        return self.monitors.resume(monitor_id)

    def check_soon(self, monitor_id: str) -> None:
        """Due on the next tick (its deployment now serves another version: a new reference)."""
        self.monitors.check_soon(monitor_id)

    # -- results and alerts ---------------------------------------------------------------------

    def results(self, monitor_id: str, *, offset: int = 0, limit: int = 100) -> dict[str, Any]:
        return self.monitors.results(monitor_id, offset=offset, limit=limit)

    def history_chart(
        self, monitor_id: str, *, offset: int = 0, limit: int = 100
    ) -> dict[str, Any]:
        """The drift share over the stored checks as the widget's chart (``charts.py``), fitted
        to the width of the element it is drawn in: the panel draws it."""
        items = self.results(monitor_id, offset=offset, limit=limit)["items"]
        history = [{**r, "threshold": DATASET_DRIFT_SHARE} for r in items]
        spec = charts.history_spec(history, width="container")
        return {
            **charts.mime_bundle(spec),
            "description": spec["description"],
            "points": len(spec["data"]["values"]),
        }

    def get_result(self, result_id: int) -> dict[str, Any]:
        return self.monitors.get_result(result_id)

    def alerts(
        self,
        *,
        monitor_id: str | None = None,
        acknowledged: bool | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> dict[str, Any]:
        return self.alerts_store.list(
            monitor_id=monitor_id, acknowledged=acknowledged, offset=offset, limit=limit
        )

    def get_alert(self, alert_id: int) -> dict[str, Any]:
        return self.alerts_store.get(alert_id)

    def acknowledge(self, alert_id: int, *, user: str = "") -> dict[str, Any]:
        self._access().require(user, "monitor", "acknowledge alerts")
        return self.alerts_store.acknowledge(alert_id, user=user)

    def record_retrain_step(
        self, alert_id: int, step: str, message: str, **fields: Any
    ) -> dict[str, Any]:
        """For the retrain workflow: a step of its progress, kept on the alert."""
        return self.alerts_store.record_retrain_step(alert_id, step, message, **fields)

    # -- computing drift ------------------------------------------------------------------------

    def reference(self, model_name: str, version: int) -> tuple[Reference, dict[str, Any]]:
        """The version's reference profile (cached) and its version dict."""
        return self.checks.reference(model_name, version)

    def rolling(
        self,
        deployment: dict[str, Any],
        reference: Reference,
        *,
        size: int,
        count: int,
        methods: Any = None,
        columns: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Drift share of the last ``count`` windows of ``size`` predictions, oldest first."""
        return self.checks.rolling(
            deployment, reference, size=size, count=count, methods=methods, columns=columns
        )

    def deployment_report(
        self,
        target: str,
        *,
        last_n: int | None = None,
        since: float | None = None,
        until: float | None = None,
        methods: Any = None,
        with_history: bool = True,
        progress: bool | None = None,
        min_rows: int | None = None,
    ) -> DriftReport:
        """Ad-hoc drift of a deployment's recent predictions against its version's profile.

        Fewer rows than ``min_rows`` (default: the monitor's, else 30) give the verdict
        ``insufficient_data``: no drift share, no alert."""
        deployment = self.find_deployment(target)
        monitor = self.monitors.latest_for_deployment(deployment["id"])
        config = monitor["config"] if monitor else normalise_config({})
        window = None
        if last_n is not None or since is not None or until is not None:
            window = {"last_n": last_n} if last_n is not None else {}
            window.update({k: v for k, v in (("since", since), ("until", until)) if v is not None})
        min_rows = config["min_rows"] if min_rows is None else int(min_rows)
        title = f"Drift — {deployment['name']} ({deployment['model']} v{deployment['version']})"
        evaluation = self.checks.evaluate(
            deployment,
            config,
            window=window,
            methods=methods,
            min_rows=min_rows,
            progress=progress,
            workers=None,
            title=title,
        )
        report = evaluation.report
        if report is None:
            report = insufficient_report(
                evaluation.reference, evaluation.n_rows, min_rows, title=title
            )
        report.summary["window"] = evaluation.window
        report.summary["deployment"] = {"id": deployment["id"], "name": deployment["name"]}
        if with_history:
            stored = self.monitors.results(monitor["id"], limit=100)["items"] if monitor else []
            if len(stored) >= 2:
                report.history = [{**r, "threshold": DATASET_DRIFT_SHARE} for r in stored]
            else:
                report.history = self.checks.rolling(
                    deployment,
                    evaluation.reference,
                    methods=evaluation.methods,
                    columns=config.get("columns"),
                    **config["rolling"],
                )
        return report

    # -- a check --------------------------------------------------------------------------------

    def check(self, monitor_id: str, *, user: str = "") -> dict[str, Any]:
        """Run one check now: store the result, open alerts, deliver and announce them."""
        self._access().require(user, "monitor", "run drift checks")
        return self._locked_check(monitor_id, user=user)

    def _locked_check(self, monitor_id: str, *, user: str) -> dict[str, Any]:
        with self._lock(monitor_id):
            try:
                return self._check(monitor_id, user=user)
            except MLOpsError as err:
                self.monitors.set_status(monitor_id, "error", reason=err.message)
                raise

    def _check(self, monitor_id: str, *, user: str) -> dict[str, Any]:
        monitor = self.monitors.get(monitor_id)
        config = monitor["config"]
        deployment = self.find_deployment(monitor["deployment_id"])
        evaluation = self.checks.evaluate(
            deployment, config, min_rows=config["min_rows"], progress=False, workers=1
        )
        if evaluation.report is None:
            self.monitors.set_status(monitor_id, "insufficient_data")
            return {
                "monitor_id": monitor_id,
                "status": "insufficient_data",
                "n_rows": evaluation.n_rows,
                "message": f"{evaluation.n_rows} predictions in the window; at least "
                f"{config['min_rows']} are needed (min_rows)",
                "result": None,
                "alerts": [],
            }
        result = self._store_result(monitor_id, deployment, evaluation)
        report = evaluation.report
        context = {
            "monitor_id": monitor_id,
            "deployment_id": deployment["id"],
            "deployment_name": deployment["name"],
            "model_name": deployment["model"],
            "model_version": deployment["version"],
            "n_rows": evaluation.n_rows,
            "drift_share": report.drift_share,
        }
        new_alerts, repeated = self.alerts_store.open(
            monitor_id,
            deployment,
            result["id"],
            evaluation.alerts,
            context=context,
            user=user,
        )
        status = (
            "alert" if (new_alerts or repeated) else ("drift" if report.drifted_columns else "ok")
        )
        self.monitors.set_status(monitor_id, status)
        delivered: dict[str, Any] = {}
        retrain = None
        if new_alerts:
            for alert in new_alerts:
                self.log.warning(
                    "drift alert on %s (%s v%s): %s",
                    deployment["name"],
                    deployment["model"],
                    deployment["version"],
                    alert["message"],
                )
            delivered = self.alerts_store.deliver(config.get("channels") or {}, context, new_alerts)
            # Subscribers (the retrain workflow) act here, in this thread, before we return.
            self.alerts_store.announce(new_alerts, result["id"])
            new_alerts = [self.alerts_store.get(a["id"]) for a in new_alerts]
            if config.get("retrain"):
                retrain = (new_alerts[0]["details"] or {}).get("retrain")
        return {
            "monitor_id": monitor_id,
            "status": status,
            "result": result,
            "summary": json_safe(report.summary),
            "performance": json_safe(evaluation.performance),
            "alerts": new_alerts,
            "repeated_alerts": repeated,
            "delivered": delivered,
            "retrain": retrain,
        }

    def _store_result(
        self, monitor_id: str, deployment: Mapping[str, Any], evaluation: Evaluation
    ) -> dict[str, Any]:
        report = evaluation.report
        start, end = evaluation.bounds
        return self.monitors.add_result(
            monitor_id=monitor_id,
            deployment_id=deployment["id"],
            model_name=deployment["model"],
            model_version=deployment["version"],
            window_start=start,
            window_end=end,
            n_rows=evaluation.n_rows,
            drift_share=report.drift_share,
            drifted=bool(report.summary["dataset_drift"]),
            columns=report.to_dict()["columns"],
            performance=json_safe(evaluation.performance),
        )

    # -- scheduling -----------------------------------------------------------------------------

    def due(self, now: datetime | None = None) -> list[str]:
        return self.monitors.due(now)

    def run_due(self) -> dict[str, Any]:
        """One tick of the scheduler job ``drift.monitors``: check every due monitor."""
        outcome: dict[str, Any] = {"checked": [], "errors": {}}
        for monitor_id in self.due():
            try:
                self._locked_check(monitor_id, user="scheduler")
                outcome["checked"].append(monitor_id)
            except MLOpsError as err:
                outcome["errors"][monitor_id] = err.message
            except Exception as err:  # noqa: BLE001 - one broken monitor must not stop the rest
                self.log.exception("drift check of monitor %s failed", monitor_id)
                self.monitors.set_status(monitor_id, "error", reason=f"{type(err).__name__}: {err}")
                outcome["errors"][monitor_id] = str(err)
        return outcome

    # -- retraining: the workflow does it --------------------------------------------------------

    def _retraining(self) -> Retraining:
        if self._retraining_provider is None:
            raise Conflict("retraining is not wired in this process (no retrain workflow)")
        return self._retraining_provider()

    def advance_retraining(self) -> list[dict[str, Any]]:
        """Move every retraining whose run has finished on to its gate decision."""
        return self._retraining().advance_all()

    def advance_alert(self, alert_id: int) -> dict[str, Any]:
        """Advance the retraining started by ``alert_id``; its ``details.retrain`` record."""
        return self._retraining().advance_alert(alert_id)

    def wait_retraining(self, alert_id: int, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the alert's retraining run, then take the gate decision; the alert dict."""
        return self._retraining().wait(alert_id, timeout=timeout)
