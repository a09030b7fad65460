"""``MonitorService``: drift monitors on deployments, scheduled checks, alerts, retraining.

A monitor watches one deployment. A check reads a window of the deployment's prediction log
(the last N predictions or the last S seconds; shadow traffic excluded), compares it with the
reference profile of the version the deployment serves, adds performance on the predictions
whose labels arrived through ``/feedback``, stores a ``DriftResult`` and evaluates the rules
(``rules.py``). A rule that fires opens an ``Alert`` (a rule already open for the same column is
counted, not repeated), which is logged, shown in the panel and sent to the monitor's channels.

Closed loop: a monitor may name a training notebook. On a new alert it submits that notebook as
a run (``trigger="drift"``). When the run has finished (checked on every scheduler tick, or by
:meth:`MonitorService.advance_retraining`), the version it registered is the challenger: the
champion (the version holding the deployment's alias) and the challenger both predict the
freshest labelled predictions, and the registry's gate rule (``compare`` metric, mode and
``min_delta`` of the model's gate; accuracy or RMSE by default) decides on those fresh numbers.
Only a winning challenger is promoted — through ``registry.set_alias``, so the model's stored
gate applies too — and alias-following deployments move to it. Every step is appended to the
alert's ``details.retrain.steps`` and to the model's audit log.
"""

from __future__ import annotations

import math
import string
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from ..errors import Conflict, GateFailed, InvalidInput, MLOpsError, NotFound
from ..runs import TERMINAL_STATES
from ..serving.prediction_log import feature_frame, read_log
from ..store import models as m
from ..store.models import utcnow
from . import channels
from . import performance as perf
from . import rules as drift_rules
from .reference import Reference
from .report import DATASET_DRIFT_SHARE as DATASET_SHARE
from .report import DriftReport, compute_report, resolve_methods

DEFAULT_WINDOW = {"last_n": 1000}
DEFAULT_ROLLING = {"size": 500, "count": 12}
RETRAIN_ACTIVE = ("submitted",)
CONFIG_KEYS = {
    "window",
    "rolling",
    "methods",
    "columns",
    "rules",
    "channels",
    "retrain",
    "min_rows",
    "min_labelled",
}
RETRAIN_KEYS = {
    "notebook",
    "parameters",
    "alias",
    "min_labelled",
    "cooldown_seconds",
    "timeout",
    "gate_window",
}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _from_unix(ts: float | None) -> datetime | None:
    if ts is None or not math.isfinite(ts):
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc)


def _page(items: list, total: int, offset: int, limit: int) -> dict[str, Any]:
    return {"items": items, "total": total, "offset": offset, "limit": limit}


def _positive_int(value: Any, what: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(f"{what} must be an integer >= {minimum}, got {value!r}")
    return value


def _positive_number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidInput(f"{what} must be a positive number, got {value!r}")
    return float(value)


def _window_bounds(frame: pd.DataFrame) -> tuple[datetime | None, datetime | None]:
    if frame.empty or "ts" not in frame.columns:
        return None, None
    ts = frame["ts"].to_numpy(dtype=np.float64)
    return _from_unix(float(np.nanmin(ts))), _from_unix(float(np.nanmax(ts)))


# -- config validation ------------------------------------------------------------------------


def normalise_config(config: Any, mlops: Any = None) -> dict[str, Any]:
    """Validate a monitor config (a clear 400 naming the field) and fill the defaults."""
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        raise InvalidInput("monitor config must be a JSON object")
    unknown = set(config) - CONFIG_KEYS
    if unknown:
        raise InvalidInput(
            f"unknown monitor config key(s): {sorted(unknown)}; expected {sorted(CONFIG_KEYS)}"
        )
    window = config.get("window") or DEFAULT_WINDOW
    if (
        not isinstance(window, Mapping)
        or len(window) != 1
        or not ({"last_n", "seconds"} & set(window))
    ):
        raise InvalidInput("window must be {'last_n': N} or {'seconds': S}")
    if "last_n" in window:
        window = {"last_n": _positive_int(window["last_n"], "window.last_n")}
    else:
        window = {"seconds": _positive_number(window["seconds"], "window.seconds")}
    rolling = config.get("rolling") or DEFAULT_ROLLING
    if not isinstance(rolling, Mapping) or set(rolling) - {"size", "count"}:
        raise InvalidInput("rolling must be {'size': rows per window, 'count': windows}")
    rolling = {
        "size": _positive_int(rolling.get("size", DEFAULT_ROLLING["size"]), "rolling.size", 2),
        "count": _positive_int(rolling.get("count", DEFAULT_ROLLING["count"]), "rolling.count"),
    }
    if rolling["count"] > 200:
        raise InvalidInput("rolling.count must be at most 200")
    columns = config.get("columns")
    if columns is not None and (
        not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)
    ):
        raise InvalidInput("columns must be a list of column names or null")
    methods = config.get("methods")
    if methods is not None and not isinstance(methods, str | Mapping):
        raise InvalidInput("methods must be null, a method name or {column: method}")
    result = {
        "window": window,
        "rolling": rolling,
        "methods": methods,
        "columns": columns,
        "rules": drift_rules.normalise_rules(config.get("rules")),
        "channels": _normalise_channels(config.get("channels")),
        "retrain": _normalise_retrain(config.get("retrain"), mlops),
        "min_rows": _positive_int(config.get("min_rows", 30), "min_rows"),
        "min_labelled": _positive_int(config.get("min_labelled", 20), "min_labelled"),
    }
    return result


def _normalise_channels(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or set(value) - {"webhook", "email"}:
        raise InvalidInput("channels must be {'webhook': {'url': …}, 'email': {'to': […]}}")
    result: dict[str, Any] = {}
    webhook = value.get("webhook")
    if webhook:
        url = webhook.get("url") if isinstance(webhook, Mapping) else webhook
        result["webhook"] = {"url": channels.check_webhook_url(url)}
    email = value.get("email")
    if email:
        if not isinstance(email, Mapping) or set(email) - {"to", "host", "port"}:
            raise InvalidInput("channels.email must be {'to': [...], 'host'?: …, 'port'?: …}")
        entry: dict[str, Any] = {"to": channels.check_addresses(email.get("to"))}
        if email.get("host") is not None:
            if not isinstance(email["host"], str) or not email["host"]:
                raise InvalidInput("channels.email.host must be a host name")
            entry["host"] = email["host"]
        if email.get("port") is not None:
            entry["port"] = _positive_int(email["port"], "channels.email.port")
        result["email"] = entry
    return result


def _normalise_retrain(value: Any, mlops: Any) -> dict[str, Any] | None:
    if not value:
        return None
    if not isinstance(value, Mapping):
        raise InvalidInput("retrain must be an object {'notebook': path, 'parameters': {...}}")
    unknown = set(value) - RETRAIN_KEYS
    if unknown:
        raise InvalidInput(f"unknown retrain key(s): {sorted(unknown)}")
    notebook = value.get("notebook")
    if not isinstance(notebook, str) or not notebook.endswith(".ipynb"):
        raise InvalidInput("retrain.notebook must be the path of a .ipynb notebook")
    if mlops is not None:
        from ..paths import resolve_in_root

        resolve_in_root(mlops.root_dir, notebook)
    parameters = value.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        raise InvalidInput("retrain.parameters must be an object")
    alias = value.get("alias")
    if alias is not None:
        from ..refs import check_alias

        check_alias(alias)
    result = {
        "notebook": notebook,
        "parameters": dict(parameters),
        "alias": alias,
        "min_labelled": _positive_int(value.get("min_labelled", 20), "retrain.min_labelled"),
        "gate_window": _positive_int(value.get("gate_window", 1000), "retrain.gate_window"),
        "cooldown_seconds": float(value.get("cooldown_seconds", 3600)),
        "timeout": value.get("timeout"),
    }
    if result["cooldown_seconds"] < 0:
        raise InvalidInput("retrain.cooldown_seconds must be >= 0")
    if result["timeout"] is not None:
        result["timeout"] = _positive_number(result["timeout"], "retrain.timeout")
    return result


# -- the service ------------------------------------------------------------------------------


class MonitorService:
    def __init__(self, mlops: Any):
        self.mlops = mlops
        self._references: dict[tuple[str, int], Reference] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._callback: Any = None
        self._tick_running = threading.Lock()

    @property
    def log(self):
        return self.mlops.log

    def _lock(self, monitor_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(monitor_id, threading.Lock())

    # -- dicts ------------------------------------------------------------------------------

    def to_dict(
        self,
        row: m.Monitor,
        deployment: m.Deployment | None,
        latest: m.DriftResult | None = None,
        open_alerts: int = 0,
    ) -> dict[str, Any]:
        return {
            "id": row.id,
            "deployment_id": row.deployment_id,
            "deployment_name": deployment.name if deployment else None,
            "model_ref": deployment.model_ref if deployment else None,
            "model_name": deployment.model_name if deployment else None,
            "model_version": deployment.version if deployment else None,
            "deployment_status": deployment.status if deployment else None,
            "status": row.status,
            "enabled": row.enabled,
            "interval_seconds": row.interval_seconds,
            "last_checked_at": _iso(row.last_checked_at),
            "drift_share": latest.drift_share if latest else None,
            "drifted": latest.drifted if latest else None,
            "latest_result_id": latest.id if latest else None,
            "open_alerts": open_alerts,
            "config": row.config,
            "created_by": row.created_by,
            "created_at": _iso(row.created_at),
        }

    @staticmethod
    def result_dict(row: m.DriftResult, *, columns: bool = False) -> dict[str, Any]:
        drifted_columns = [c["column"] for c in row.columns or [] if c.get("drifted")]
        result = {
            "id": row.id,
            "monitor_id": row.monitor_id,
            "deployment_id": row.deployment_id,
            "model_name": row.model_name,
            "model_version": row.model_version,
            "window_start": _iso(row.window_start),
            "window_end": _iso(row.window_end),
            "n_rows": row.n_rows,
            "drift_share": row.drift_share,
            "drifted": row.drifted,
            "n_drifted": len(drifted_columns),
            "drifted_columns": drifted_columns,
            "performance": row.performance or {},
            "created_at": _iso(row.created_at),
        }
        if columns:
            result["columns"] = row.columns or []
        return result

    @staticmethod
    def alert_dict(row: m.Alert, deployment_name: str | None = None) -> dict[str, Any]:
        return {
            "id": row.id,
            "monitor_id": row.monitor_id,
            "deployment_id": row.deployment_id,
            "deployment_name": deployment_name,
            "drift_result_id": row.drift_result_id,
            "rule": row.rule,
            "severity": row.severity,
            "message": row.message,
            "details": row.details or {},
            "acknowledged": row.acknowledged,
            "retrain_run_id": row.retrain_run_id,
            "delivered": row.delivered or {},
            "created_at": _iso(row.created_at),
        }

    # -- CRUD ---------------------------------------------------------------------------------

    def _deployment_row(self, session, deployment: str) -> m.Deployment:
        if not isinstance(deployment, str) or not deployment:
            raise InvalidInput("deployment_id is required")
        row = session.get(m.Deployment, deployment)
        if row is None:
            row = session.scalars(
                select(m.Deployment)
                .where(m.Deployment.name == deployment)
                .order_by(m.Deployment.created_at.desc())
            ).first()
        if row is None:
            raise NotFound(f"no deployment {deployment!r}")
        return row

    def _monitor_row(self, session, monitor_id: str) -> m.Monitor:
        row = session.get(m.Monitor, monitor_id) if isinstance(monitor_id, str) else None
        if row is None:
            raise NotFound(f"no drift monitor {monitor_id!r}")
        return row

    def _interval(self, value: Any) -> float:
        if value is None:
            return float(self.mlops.monitor_interval or 3600.0)
        return _positive_number(value, "interval_seconds")

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
        clean = normalise_config(config, self.mlops)
        interval = self._interval(interval_seconds)
        if not isinstance(enabled, bool):
            raise InvalidInput("enabled must be true or false")
        with self.mlops.db.session() as session:
            deployment_row = self._deployment_row(session, deployment)
            if clean["retrain"] and clean["retrain"]["alias"] is None:
                from ..refs import parse_ref

                clean["retrain"]["alias"] = parse_ref(deployment_row.model_ref).alias
            row = m.Monitor(
                deployment_id=deployment_row.id,
                enabled=enabled,
                config=clean,
                interval_seconds=interval,
                status="unknown",
                created_by=user,
            )
            session.add(row)
            session.flush()
            return self.to_dict(row, deployment_row)

    def list(
        self, *, deployment_id: str | None = None, offset: int = 0, limit: int = 50
    ) -> dict[str, Any]:
        with self.mlops.db.session() as session:
            condition = True if deployment_id is None else m.Monitor.deployment_id == deployment_id
            total = session.scalar(select(func.count()).select_from(m.Monitor).where(condition))
            rows = session.scalars(
                select(m.Monitor)
                .where(condition)
                .order_by(m.Monitor.created_at.desc(), m.Monitor.id)
                .offset(offset)
                .limit(limit)
            ).all()
            items = [self._with_extras(session, row) for row in rows]
            return _page(items, total or 0, offset, limit)

    def _with_extras(self, session, row: m.Monitor) -> dict[str, Any]:
        deployment = session.get(m.Deployment, row.deployment_id)
        latest = session.scalars(
            select(m.DriftResult)
            .where(m.DriftResult.monitor_id == row.id)
            .order_by(m.DriftResult.id.desc())
            .limit(1)
        ).first()
        open_alerts = session.scalar(
            select(func.count())
            .select_from(m.Alert)
            .where(m.Alert.monitor_id == row.id, m.Alert.acknowledged.is_(False))
        )
        return self.to_dict(row, deployment, latest, open_alerts or 0)

    def get(self, monitor_id: str) -> dict[str, Any]:
        with self.mlops.db.session() as session:
            return self._with_extras(session, self._monitor_row(session, monitor_id))

    def update(self, monitor_id: str, changes: Mapping[str, Any], *, user: str = "") -> dict:
        """Change ``config`` (replaced whole), ``interval_seconds`` and/or ``enabled``."""
        if not isinstance(changes, Mapping):
            raise InvalidInput("the update must be a JSON object")
        unknown = set(changes) - {"config", "interval_seconds", "enabled"}
        if unknown:
            raise InvalidInput(
                f"cannot update {sorted(unknown)}; updatable: config, interval_seconds, enabled"
            )
        clean = normalise_config(changes["config"], self.mlops) if "config" in changes else None
        interval = (
            self._interval(changes["interval_seconds"]) if "interval_seconds" in changes else None
        )
        if "enabled" in changes and not isinstance(changes["enabled"], bool):
            raise InvalidInput("enabled must be true or false")
        with self.mlops.db.session() as session:
            row = self._monitor_row(session, monitor_id)
            if clean is not None:
                if clean["retrain"] and clean["retrain"]["alias"] is None:
                    from ..refs import parse_ref

                    deployment = session.get(m.Deployment, row.deployment_id)
                    clean["retrain"]["alias"] = parse_ref(deployment.model_ref).alias
                row.config = clean
            if interval is not None:
                row.interval_seconds = interval
            if "enabled" in changes:
                row.enabled = changes["enabled"]
                if not row.enabled:
                    row.status = "disabled"
            session.flush()
            return self._with_extras(session, row)

    def delete(self, monitor_id: str, *, user: str = "") -> dict[str, Any]:
        with self.mlops.db.session() as session:
            row = self._monitor_row(session, monitor_id)
            result = self._with_extras(session, row)
            session.query(m.Alert).filter(m.Alert.monitor_id == monitor_id).delete()
            session.query(m.DriftResult).filter(m.DriftResult.monitor_id == monitor_id).delete()
            session.delete(row)
        return {**result, "deleted": True}

    # -- results and alerts -----------------------------------------------------------------

    def results(self, monitor_id: str, *, offset: int = 0, limit: int = 100) -> dict[str, Any]:
        """The monitor's stored results as a time series (oldest first within the page)."""
        with self.mlops.db.session() as session:
            self._monitor_row(session, monitor_id)
            condition = m.DriftResult.monitor_id == monitor_id
            total = session.scalar(select(func.count()).select_from(m.DriftResult).where(condition))
            rows = session.scalars(
                select(m.DriftResult)
                .where(condition)
                .order_by(m.DriftResult.id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
            items = [self.result_dict(r) for r in reversed(rows)]
            return _page(items, total or 0, offset, limit)

    def get_result(self, result_id: int) -> dict[str, Any]:
        with self.mlops.db.session() as session:
            row = session.get(m.DriftResult, result_id)
            if row is None:
                raise NotFound(f"no drift result {result_id}")
            return self.result_dict(row, columns=True)

    def alerts(
        self,
        *,
        monitor_id: str | None = None,
        acknowledged: bool | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> dict[str, Any]:
        with self.mlops.db.session() as session:
            conditions = []
            if monitor_id is not None:
                conditions.append(m.Alert.monitor_id == monitor_id)
            if acknowledged is not None:
                conditions.append(m.Alert.acknowledged.is_(acknowledged))
            total = session.scalar(select(func.count()).select_from(m.Alert).where(*conditions))
            rows = session.scalars(
                select(m.Alert)
                .where(*conditions)
                .order_by(m.Alert.id.desc())
                .offset(offset)
                .limit(limit)
            ).all()
            names = self._deployment_names(session, {r.deployment_id for r in rows})
            items = [self.alert_dict(r, names.get(r.deployment_id)) for r in rows]
            return _page(items, total or 0, offset, limit)

    @staticmethod
    def _deployment_names(session, ids: set) -> dict[str, str]:
        ids = {i for i in ids if i}
        if not ids:
            return {}
        rows = session.execute(
            select(m.Deployment.id, m.Deployment.name).where(m.Deployment.id.in_(ids))
        ).all()
        return dict(rows)

    def get_alert(self, alert_id: int) -> dict[str, Any]:
        with self.mlops.db.session() as session:
            row = session.get(m.Alert, alert_id)
            if row is None:
                raise NotFound(f"no alert {alert_id}")
            names = self._deployment_names(session, {row.deployment_id})
            return self.alert_dict(row, names.get(row.deployment_id))

    def acknowledge(self, alert_id: int, *, user: str = "") -> dict[str, Any]:
        with self.mlops.db.session() as session:
            row = session.get(m.Alert, alert_id)
            if row is None:
                raise NotFound(f"no alert {alert_id}")
            if not row.acknowledged:
                row.acknowledged = True
                row.details = {
                    **(row.details or {}),
                    "acknowledged_by": user,
                    "acknowledged_at": utcnow().isoformat(),
                }
            names = self._deployment_names(session, {row.deployment_id})
            return self.alert_dict(row, names.get(row.deployment_id))

    # -- computing drift ----------------------------------------------------------------------

    def reference(self, model_name: str, version: int) -> tuple[Reference, dict[str, Any]]:
        """The version's reference profile (cached) and its version dict."""
        version_dict = self.mlops.registry.resolve((model_name, int(version)))
        key = (model_name, int(version))
        if key not in self._references:
            if not version_dict.get("profile"):
                raise Conflict(
                    f"{model_name} v{version} has no reference profile: register it with "
                    "X_sample=… to monitor drift",
                    code="no_profile",
                )
            self._references[key] = Reference.from_profile(
                version_dict["profile"], model={"name": model_name, "version": int(version)}
            )
        return self._references[key], version_dict

    def find_deployment(self, target: str) -> dict[str, Any]:
        """A deployment by id, name or the model ref it serves (running ones first)."""
        with self.mlops.db.session() as session:
            row = session.get(m.Deployment, target) if isinstance(target, str) else None
            if row is None:
                candidates = session.scalars(
                    select(m.Deployment)
                    .where((m.Deployment.name == target) | (m.Deployment.model_ref == target))
                    .order_by(m.Deployment.created_at.desc())
                ).all()
                if not candidates and isinstance(target, str):
                    from ..refs import parse_ref

                    try:
                        normal = str(parse_ref(target))
                    except InvalidInput:
                        normal = None
                    if normal:
                        candidates = session.scalars(
                            select(m.Deployment)
                            .where(m.Deployment.model_ref == normal)
                            .order_by(m.Deployment.created_at.desc())
                        ).all()
                running = [c for c in candidates if c.status == "running"]
                row = (running or candidates or [None])[0]
            if row is None:
                raise NotFound(
                    f"no deployment named {target!r} or serving {target!r}; deploy it first "
                    "(jupyter mlops deploy …)"
                )
            return {
                "id": row.id,
                "name": row.name,
                "model_name": row.model_name,
                "model_ref": row.model_ref,
                "version": row.version,
                "status": row.status,
                "prediction_log": row.prediction_log,
            }

    def _performance(
        self, deployment: dict, version: dict, window: dict, min_labelled: int
    ) -> dict[str, Any]:
        labelled = read_log(deployment["prediction_log"], labelled=True, **_window_args(window))
        if len(labelled) < min_labelled:
            return {"n_labelled": int(len(labelled)), "metrics": {}}
        task = perf.task_of(version, labelled["label"].tolist())
        classes = ((version.get("signature") or {}).get("output") or {}).get("classes")
        scores = perf.score(
            task, labelled["label"].tolist(), labelled["prediction"].tolist(), classes
        )
        return perf.compare(task, scores, version.get("metrics"), int(len(labelled)))

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
        frame = read_log(deployment["prediction_log"], last_n=size * count)
        if frame.empty:
            return []
        series = []
        n_windows = max(1, len(frame) // size)
        start_offset = len(frame) - n_windows * size
        chosen = resolve_methods(reference, methods)  # validate once
        del chosen
        for index in range(n_windows):
            chunk = frame.iloc[start_offset + index * size : start_offset + (index + 1) * size]
            report = compute_report(
                reference,
                feature_frame(chunk, list(reference.columns)),
                methods,
                columns=columns,
                all_statistics=False,
                progress=False,
                workers=1,
            )
            start, end = _window_bounds(chunk)
            series.append(
                {
                    "window_start": _iso(start),
                    "window_end": _iso(end),
                    "n_rows": int(len(chunk)),
                    "drift_share": report.drift_share,
                    "n_drifted": report.summary["n_drifted"],
                    "drifted": report.drift_share > DATASET_SHARE,
                    "threshold": DATASET_SHARE,
                }
            )
        return series

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
    ) -> DriftReport:
        """Ad-hoc drift of a deployment's recent predictions against its version's profile."""
        deployment = self.find_deployment(target)
        reference, version = self.reference(deployment["model_name"], deployment["version"])
        monitor = self._monitor_for(deployment["id"])
        config = monitor["config"] if monitor else normalise_config({})
        if last_n is None and since is None and until is None:
            window = config["window"]
        else:
            window = {"last_n": last_n} if last_n is not None else {}
            window.update({k: v for k, v in (("since", since), ("until", until)) if v is not None})
        if methods is None:
            methods = config.get("methods") or _version_methods(version)
        frame = read_log(deployment["prediction_log"], **_window_args(window))
        report = compute_report(
            reference,
            feature_frame(frame, list(reference.columns)),
            methods,
            rules=config["rules"],
            columns=config.get("columns"),
            progress=progress,
            title=f"Drift — {deployment['name']} ({deployment['model_name']} "
            f"v{deployment['version']})",
        )
        report.performance = self._performance(
            deployment, version, window, config.get("min_labelled", 20)
        )
        report.alerts = drift_rules.evaluate(
            report.summary, report.columns, config["rules"], report.performance
        )
        report.summary["window"] = window
        report.summary["deployment"] = {"id": deployment["id"], "name": deployment["name"]}
        if with_history:
            stored = self.results(monitor["id"], limit=100)["items"] if monitor else []
            if len(stored) >= 2:
                report.history = [{**r, "threshold": DATASET_SHARE} for r in stored]
            else:
                report.history = self.rolling(
                    deployment,
                    reference,
                    methods=methods,
                    columns=config.get("columns"),
                    **config["rolling"],
                )
        return report

    def _monitor_for(self, deployment_id: str) -> dict[str, Any] | None:
        with self.mlops.db.session() as session:
            row = session.scalars(
                select(m.Monitor)
                .where(m.Monitor.deployment_id == deployment_id)
                .order_by(m.Monitor.created_at.desc())
            ).first()
            return self._with_extras(session, row) if row else None

    # -- a check ------------------------------------------------------------------------------

    def check(self, monitor_id: str, *, user: str = "") -> dict[str, Any]:
        """Run one check now: store the result, open alerts, deliver them, maybe retrain."""
        with self._lock(monitor_id):
            try:
                return self._check(monitor_id, user=user)
            except MLOpsError as err:
                self._set_status(monitor_id, "error", reason=err.message)
                raise

    def _set_status(self, monitor_id: str, status: str, reason: str | None = None) -> None:
        with self.mlops.db.session() as session:
            row = session.get(m.Monitor, monitor_id)
            if row is not None:
                row.status = status
                row.last_checked_at = utcnow()
                if reason:
                    row.config = {**(row.config or {}), "last_error": reason}
                elif "last_error" in (row.config or {}):
                    row.config = {k: v for k, v in row.config.items() if k != "last_error"}

    def _check(self, monitor_id: str, *, user: str) -> dict[str, Any]:
        monitor = self.get(monitor_id)
        config = monitor["config"]
        deployment = self.find_deployment(monitor["deployment_id"])
        reference, version = self.reference(deployment["model_name"], deployment["version"])
        window = config["window"]
        frame = read_log(deployment["prediction_log"], **_window_args(window))
        if len(frame) < config["min_rows"]:
            self._set_status(monitor_id, "insufficient_data")
            return {
                "monitor_id": monitor_id,
                "status": "insufficient_data",
                "n_rows": int(len(frame)),
                "message": f"{len(frame)} predictions in the window; at least "
                f"{config['min_rows']} are needed (min_rows)",
                "result": None,
                "alerts": [],
            }
        methods = config.get("methods") or _version_methods(version)
        report = compute_report(
            reference,
            feature_frame(frame, list(reference.columns)),
            methods,
            rules=config["rules"],
            columns=config.get("columns"),
            progress=False,
            workers=1,
        )
        performance = self._performance(deployment, version, window, config["min_labelled"])
        fired = drift_rules.evaluate(report.summary, report.columns, config["rules"], performance)
        start, end = _window_bounds(frame)
        data = report.to_dict()
        with self.mlops.db.session() as session:
            result = m.DriftResult(
                monitor_id=monitor_id,
                deployment_id=deployment["id"],
                model_name=deployment["model_name"],
                model_version=deployment["version"],
                window_start=start,
                window_end=end,
                n_rows=int(len(frame)),
                drift_share=report.drift_share,
                drifted=bool(report.summary["dataset_drift"]),
                columns=data["columns"],
                performance=_safe(performance),
            )
            session.add(result)
            session.flush()
            result_id = result.id
            result_dict = self.result_dict(result)
        new_alerts, repeated = self._open_alerts(monitor, deployment, result_id, fired)
        status = (
            "alert" if (new_alerts or repeated) else ("drift" if report.drifted_columns else "ok")
        )
        self._set_status(monitor_id, status)
        context = {
            "monitor_id": monitor_id,
            "deployment_id": deployment["id"],
            "deployment_name": deployment["name"],
            "model_name": deployment["model_name"],
            "model_version": deployment["version"],
            "n_rows": int(len(frame)),
            "drift_share": report.drift_share,
        }
        if new_alerts:
            for alert in new_alerts:
                self.log.warning(
                    "drift alert on %s (%s v%s): %s",
                    deployment["name"],
                    deployment["model_name"],
                    deployment["version"],
                    alert["message"],
                )
            self._audit(
                deployment["model_name"],
                "drift_alert",
                reason="; ".join(a["message"] for a in new_alerts)[:2000],
                details={**context, "alert_ids": [a["id"] for a in new_alerts]},
                user=user or "drift-monitor",
                to_version=deployment["version"],
            )
            delivered = self._deliver(config.get("channels") or {}, context, new_alerts)
            retrain = None
            if config.get("retrain"):
                retrain = self._maybe_retrain(monitor, deployment, context, new_alerts, result_id)
            new_alerts = [self.get_alert(a["id"]) for a in new_alerts]
        else:
            delivered, retrain = {}, None
        return {
            "monitor_id": monitor_id,
            "status": status,
            "result": result_dict,
            "summary": _safe(report.summary),
            "performance": _safe(performance),
            "alerts": new_alerts,
            "repeated_alerts": repeated,
            "delivered": delivered,
            "retrain": retrain,
        }

    def _open_alerts(
        self, monitor: dict, deployment: dict, result_id: int, fired: list[dict]
    ) -> tuple[list[dict], int]:
        """New Alert rows for rules not already open; repeats are counted on the open one."""
        created, repeated = [], 0
        with self.mlops.db.session() as session:
            open_rows = session.scalars(
                select(m.Alert).where(
                    m.Alert.monitor_id == monitor["id"], m.Alert.acknowledged.is_(False)
                )
            ).all()
            open_keys = {(r.rule, (r.details or {}).get("column")): r for r in open_rows}
            for alert in fired:
                key = (alert["rule"], alert["details"].get("column"))
                existing = open_keys.get(key)
                if existing is not None:
                    details = dict(existing.details or {})
                    details["occurrences"] = int(details.get("occurrences", 1)) + 1
                    details["last_seen_at"] = utcnow().isoformat()
                    details["last_result_id"] = result_id
                    details["last_value"] = alert["details"].get("value")
                    existing.details = details
                    repeated += 1
                    continue
                row = m.Alert(
                    monitor_id=monitor["id"],
                    drift_result_id=result_id,
                    deployment_id=deployment["id"],
                    rule=alert["rule"],
                    severity=alert["severity"],
                    message=alert["message"],
                    details=_safe({**alert["details"], "occurrences": 1}),
                    delivered={"log": True, "panel": True},
                )
                session.add(row)
                session.flush()
                open_keys[key] = row
                created.append(self.alert_dict(row, deployment["name"]))
        return created, repeated

    def smtp_settings(self, override: Mapping[str, Any] | None = None) -> dict[str, Any]:
        mlops = self.mlops
        settings = {
            "host": mlops.smtp_host,
            "port": mlops.smtp_port,
            "sender": mlops.smtp_sender,
            "username": mlops.smtp_username,
            "password": mlops.smtp_password,
            "starttls": mlops.smtp_starttls,
            "ssl": mlops.smtp_ssl,
        }
        settings.update({k: v for k, v in (override or {}).items() if k in ("host", "port")})
        return settings

    def _deliver(self, configured: dict, context: dict, alerts: list[dict]) -> dict[str, Any]:
        delivered: dict[str, Any] = {}
        webhook_url = (configured.get("webhook") or {}).get("url") or self.mlops.alert_webhook_url
        if webhook_url:
            delivered["webhook"] = channels.send_webhook(
                webhook_url, channels.slack_payload(context, alerts)
            )
        email = configured.get("email")
        if email:
            subject, body = channels.alert_text(context, alerts)
            delivered["email"] = channels.send_email(
                self.smtp_settings(email), email["to"], subject, body
            )
        for channel, outcome in delivered.items():
            if not outcome.get("ok"):
                self.log.warning(
                    "drift alert delivery via %s failed: %s", channel, outcome.get("error")
                )
        if delivered:
            with self.mlops.db.session() as session:
                for alert in alerts:
                    row = session.get(m.Alert, alert["id"])
                    row.delivered = {**(row.delivered or {}), **delivered}
        return delivered

    # -- closed loop --------------------------------------------------------------------------

    def _audit(
        self,
        model_name: str,
        action: str,
        *,
        reason: str = "",
        details: dict | None = None,
        user: str = "drift-monitor",
        alias: str | None = None,
        from_version: int | None = None,
        to_version: int | None = None,
    ) -> None:
        with self.mlops.db.session() as session:
            session.add(
                m.AuditEntry(
                    model_name=model_name,
                    action=action,
                    alias=alias,
                    from_version=from_version,
                    to_version=to_version,
                    reason=reason,
                    details=_safe(details or {}),
                    user=user,
                )
            )

    def _step(self, alert_id: int, step: str, message: str, **fields: Any) -> dict[str, Any]:
        """Append a step to the alert's retrain record (``details.retrain``)."""
        with self.mlops.db.session() as session:
            row = session.get(m.Alert, alert_id)
            details = dict(row.details or {})
            retrain = dict(details.get("retrain") or {"steps": []})
            retrain["steps"] = [
                *retrain.get("steps", []),
                {"at": utcnow().isoformat(), "step": step, "message": message},
            ]
            retrain.update(_safe(fields))
            details["retrain"] = retrain
            row.details = details
            if fields.get("run_id"):
                row.retrain_run_id = fields["run_id"]
            return retrain

    def _maybe_retrain(
        self, monitor: dict, deployment: dict, context: dict, alerts: list[dict], result_id: int
    ) -> dict[str, Any]:
        config = monitor["config"]["retrain"]
        anchor = alerts[0]["id"]
        # One retraining at a time per monitor, and not again within the cooldown.
        with self.mlops.db.session() as session:
            previous = session.scalars(
                select(m.Alert)
                .where(m.Alert.monitor_id == monitor["id"], m.Alert.retrain_run_id.is_not(None))
                .order_by(m.Alert.id.desc())
                .limit(1)
            ).first()
            if previous is not None:
                state = ((previous.details or {}).get("retrain") or {}).get("state")
                age = (utcnow() - previous.created_at).total_seconds()
                if state in RETRAIN_ACTIVE or age < config["cooldown_seconds"]:
                    why = (
                        f"retraining run {previous.retrain_run_id} is still in progress"
                        if state in RETRAIN_ACTIVE
                        else f"last retraining {age:.0f} s ago (cooldown "
                        f"{config['cooldown_seconds']:.0f} s)"
                    )
                    return self._step(
                        anchor, "skipped", f"retraining not started: {why}", state="skipped"
                    )
        values = {
            "prediction_log": deployment["prediction_log"] or "",
            "deployment_id": deployment["id"],
            "deployment_name": deployment["name"],
            "model_name": deployment["model_name"],
            "model_version": str(deployment["version"]),
            "monitor_id": monitor["id"],
        }
        parameters = {
            key: string.Template(value).safe_substitute(values) if isinstance(value, str) else value
            for key, value in config["parameters"].items()
        }
        trigger_details = {
            "monitor_id": monitor["id"],
            "deployment_id": deployment["id"],
            "deployment_name": deployment["name"],
            "model_name": deployment["model_name"],
            "model_version": deployment["version"],
            "drift_result_id": result_id,
            "alert_ids": [a["id"] for a in alerts],
            "rules": sorted({a["rule"] for a in alerts}),
            "drift_share": context["drift_share"],
        }
        user = monitor.get("created_by") or "drift-monitor"
        try:
            run = self.mlops.runs.submit(
                config["notebook"],
                parameters,
                timeout=config.get("timeout"),
                tags=["drift-retrain"],
                user=user,
                trigger="drift",
                trigger_details=trigger_details,
            )
        except MLOpsError as err:
            self._audit(
                deployment["model_name"],
                "drift_retrain_failed",
                reason=f"could not submit {config['notebook']}: {err.message}",
                details=trigger_details,
            )
            return self._step(anchor, "submit_failed", err.message, state="failed")
        self._audit(
            deployment["model_name"],
            "drift_retrain_submitted",
            reason=f"drift alert(s) {trigger_details['alert_ids']} started run {run['id']} of "
            f"{config['notebook']}",
            details={**trigger_details, "run_id": run["id"], "parameters": parameters},
            user=user,
            from_version=deployment["version"],
        )
        return self._step(
            anchor,
            "submitted",
            f"run {run['id']} of {config['notebook']} submitted (trigger=drift)",
            state="submitted",
            run_id=run["id"],
            notebook=config["notebook"],
            alias=config.get("alias"),
            champion_version=deployment["version"],
        )

    def advance_retraining(self) -> list[dict[str, Any]]:
        """Move every submitted retraining whose run has finished to its gate decision."""
        with self.mlops.db.session() as session:
            rows = session.scalars(
                select(m.Alert)
                .where(m.Alert.retrain_run_id.is_not(None))
                .order_by(m.Alert.id.desc())
                .limit(200)
            ).all()
            pending = [
                r.id
                for r in rows
                if ((r.details or {}).get("retrain") or {}).get("state") in RETRAIN_ACTIVE
            ]
        return [self.advance_alert(alert_id) for alert_id in pending]

    def wait_retraining(self, alert_id: int, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the alert's retraining run, then take the gate decision; the alert dict."""
        alert = self.get_alert(alert_id)
        run_id = alert["retrain_run_id"]
        if not run_id:
            raise Conflict(f"alert {alert_id} started no retraining run")
        self.mlops.runs.wait(run_id, timeout=timeout)
        self.advance_alert(alert_id)
        return self.get_alert(alert_id)

    def advance_alert(self, alert_id: int) -> dict[str, Any]:
        alert = self.get_alert(alert_id)
        retrain = (alert["details"] or {}).get("retrain") or {}
        if retrain.get("state") not in RETRAIN_ACTIVE:
            return retrain
        run = self.mlops.runs.get(alert["retrain_run_id"])
        if run["status"] not in TERMINAL_STATES:
            return retrain
        monitor_id = alert["monitor_id"]
        deployment = self.find_deployment(alert["deployment_id"])
        model = deployment["model_name"]
        if run["status"] != "succeeded":
            message = f"retraining run {run['id']} ended {run['status']}"
            if run.get("error_evalue"):
                message += f": {run.get('error_ename')}: {run.get('error_evalue')}"
            self._audit(
                model,
                "drift_retrain_failed",
                reason=message,
                details={"run_id": run["id"], "alert_id": alert_id},
            )
            return self._step(alert_id, "run_failed", message, state="failed")
        with self.mlops.db.session() as session:
            challenger = session.scalars(
                select(m.ModelVersion)
                .join(m.RegisteredModel)
                .where(m.RegisteredModel.name == model, m.ModelVersion.run_id == run["id"])
                .order_by(m.ModelVersion.version.desc())
            ).first()
            challenger_version = challenger.version if challenger else None
        if challenger_version is None:
            message = f"run {run['id']} succeeded but registered no version of {model!r}"
            self._audit(
                model,
                "drift_retrain_failed",
                reason=message,
                details={"run_id": run["id"], "alert_id": alert_id},
            )
            return self._step(alert_id, "no_challenger", message, state="failed")
        self._step(
            alert_id,
            "registered",
            f"run {run['id']} registered {model} v{challenger_version} (challenger)",
            challenger_version=challenger_version,
        )
        monitor = self.get(monitor_id) if monitor_id else None
        config = ((monitor or {}).get("config") or {}).get("retrain") or {}
        return self._gate(alert_id, deployment, challenger_version, config)

    def _gate(
        self, alert_id: int, deployment: dict, challenger_version: int, config: dict
    ) -> dict[str, Any]:
        from ..refs import parse_ref
        from ..registry.gate import evaluate_gate

        model = deployment["model_name"]
        alias = config.get("alias") or parse_ref(deployment["model_ref"]).alias
        if alias is None:
            message = (
                f"{model} v{challenger_version} registered; not promoted: deployment "
                f"{deployment['name']} is pinned to {deployment['model_ref']} (no alias to move)"
            )
            self._audit(
                model,
                "drift_gate_refused",
                reason=message,
                to_version=challenger_version,
                details={"alert_id": alert_id},
            )
            return self._step(alert_id, "not_promoted", message, state="refused")
        try:
            champion = self.mlops.registry.resolve(f"{model}@{alias}")
        except NotFound:
            champion = None
        champion_version = champion["version"] if champion else None
        labelled = read_log(
            deployment["prediction_log"], labelled=True, last_n=config.get("gate_window", 1000)
        )
        min_labelled = config.get("min_labelled", 20)
        if len(labelled) < min_labelled:
            message = (
                f"not promoted: {len(labelled)} labelled predictions in the log, the gate needs "
                f"{min_labelled} (send labels to /feedback)"
            )
            self._audit(
                model,
                "drift_gate_refused",
                reason=message,
                alias=alias,
                from_version=champion_version,
                to_version=challenger_version,
                details={"alert_id": alert_id, "n_labelled": int(len(labelled))},
            )
            return self._step(alert_id, "gate", message, state="refused")
        challenger = self.mlops.registry.resolve((model, challenger_version))
        task = perf.task_of(challenger, labelled["label"].tolist())
        gate_config = self.mlops.registry.get_gate(model) or {}
        compare = dict(gate_config.get("compare") or {})
        default_metric = "accuracy" if task == "classification" else "rmse"
        if compare.get("metric") not in perf.TASK_METRICS[task]:
            compare = {
                "metric": default_metric,
                "mode": "max" if task == "classification" else "min",
                "min_delta": compare.get("min_delta", 0.0),
            }
        compare["alias"] = alias
        names = [i["name"] for i in (challenger.get("signature") or {}).get("inputs") or []]
        names = names or list((challenger.get("profile") or {}).get("columns") or {})
        X = feature_frame(labelled, names)
        y = labelled["label"].tolist()
        fresh: dict[int, dict[str, float]] = {}
        classes = ((challenger.get("signature") or {}).get("output") or {}).get("classes")
        for version in {challenger_version, champion_version} - {None}:
            estimator = self.mlops.registry.load_model((model, version))
            predictions = np.asarray(estimator.predict(X)).tolist()
            fresh[version] = perf.score(task, y, predictions, classes)
        holders = {alias: {"version": champion_version, "metrics": fresh[champion_version]}}
        if champion_version is None:
            holders = {alias: None}
        decision = evaluate_gate(
            {"compare": compare},
            alias,
            {"version": challenger_version, "metrics": fresh[challenger_version]},
            holders,
        )
        metric = compare["metric"]
        summary = (
            f"on {len(labelled)} fresh labelled predictions {metric}: challenger "
            f"v{challenger_version} {fresh[challenger_version].get(metric, math.nan):.4g}"
            + (
                f" vs champion v{champion_version} "
                f"{fresh[champion_version].get(metric, math.nan):.4g}"
                if champion_version is not None
                else ""
            )
        )
        gate_record = {
            "metric": metric,
            "mode": compare["mode"],
            "n_labelled": int(len(labelled)),
            "fresh_metrics": {str(k): v for k, v in fresh.items()},
            "decision": decision.to_dict(),
        }
        if not decision.passed:
            message = f"challenger refused: {summary}"
            self._audit(
                model,
                "drift_gate_refused",
                reason=message,
                alias=alias,
                from_version=champion_version,
                to_version=challenger_version,
                details={"alert_id": alert_id, **gate_record},
            )
            return self._step(alert_id, "gate", message, state="refused", gate=gate_record)
        self._audit(
            model,
            "drift_gate_passed",
            reason=f"challenger wins: {summary}",
            alias=alias,
            from_version=champion_version,
            to_version=challenger_version,
            details={"alert_id": alert_id, **gate_record},
        )
        self._step(alert_id, "gate", f"challenger wins: {summary}", gate=gate_record)
        try:
            self.mlops.registry.set_alias(
                model,
                alias,
                challenger_version,
                user="drift-monitor",
                reason=f"drift retraining (alert {alert_id}): {summary}",
            )
        except GateFailed as err:
            message = f"the model's registered quality gate refused the promotion: {err.message}"
            return self._step(alert_id, "promotion", message, state="refused")
        followed = []
        try:
            followed = self.mlops.deployments.sync_aliases(model)
        except MLOpsError as err:  # the background follower retries
            self.log.warning("deployments did not follow %s@%s yet: %s", model, alias, err.message)
        moved = ", ".join(f"{d['name']} → v{d['version']}" for d in followed) or "none yet"
        return self._step(
            alert_id,
            "promotion",
            f"{model}@{alias} → v{challenger_version} (was v{champion_version}); "
            f"deployments following: {moved}",
            state="promoted",
            promoted_version=challenger_version,
        )

    # -- scheduling -----------------------------------------------------------------------------

    def due(self, now: datetime | None = None) -> list[str]:
        now = now or utcnow()
        with self.mlops.db.session() as session:
            rows = session.scalars(select(m.Monitor).where(m.Monitor.enabled.is_(True))).all()
            return [
                r.id
                for r in rows
                if r.last_checked_at is None
                or r.last_checked_at + timedelta(seconds=r.interval_seconds) <= now
            ]

    def run_due(self) -> dict[str, Any]:
        """One scheduler tick (in a worker thread): due checks, then retraining follow-up."""
        outcome: dict[str, Any] = {"checked": [], "errors": {}, "advanced": 0}
        for monitor_id in self.due():
            try:
                self.check(monitor_id, user="scheduler")
                outcome["checked"].append(monitor_id)
            except MLOpsError as err:
                outcome["errors"][monitor_id] = err.message
            except Exception as err:  # noqa: BLE001 - one broken monitor must not stop the rest
                self.log.exception("drift check of monitor %s failed", monitor_id)
                self._set_status(monitor_id, "error", reason=f"{type(err).__name__}: {err}")
                outcome["errors"][monitor_id] = str(err)
        try:
            outcome["advanced"] = len(self.advance_retraining())
        except Exception:  # noqa: BLE001
            self.log.exception("drift retraining follow-up failed")
        return outcome

    def start(self) -> None:
        """In the server: check due monitors every ``monitor_interval`` seconds, off the loop."""
        interval = float(self.mlops.monitor_interval or 0)
        if interval <= 0 or self._callback is not None:
            return
        from tornado.ioloop import IOLoop, PeriodicCallback

        try:
            loop = IOLoop.current()
        except RuntimeError:  # no event loop in this thread (not inside a server): a thread
            self._stop_event = threading.Event()
            self._callback = threading.Thread(
                target=self._thread_loop, args=(interval,), name="mlops-drift", daemon=True
            )
            self._callback.start()
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlops-drift")

        async def tick() -> None:
            if not self._tick_running.acquire(blocking=False):
                return  # the previous tick is still checking
            try:
                await loop.run_in_executor(self._executor, self.run_due)
            finally:
                self._tick_running.release()

        self._callback = PeriodicCallback(tick, interval * 1000.0)
        self._callback.start()
        self.log.info("drift monitors checked every %.0f s", interval)

    def _thread_loop(self, interval: float) -> None:
        while not self._stop_event.wait(interval):
            self.run_due()

    def stop(self) -> None:
        if isinstance(self._callback, threading.Thread):
            self._stop_event.set()
            self._callback.join(timeout=30)
            self._callback = None
        elif self._callback is not None:
            self._callback.stop()
            self._callback = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def _window_args(window: Mapping[str, Any]) -> dict[str, Any]:
    if "seconds" in window:
        return {"since": time.time() - float(window["seconds"])}
    args = {}
    if window.get("last_n") is not None:
        args["last_n"] = int(window["last_n"])
    for key in ("since", "until"):
        if window.get(key) is not None:
            args[key] = float(window[key])
    return args


def _version_methods(version: Mapping[str, Any]) -> Any:
    return ((version or {}).get("tags") or {}).get("drift_methods")


def _safe(value: Any) -> Any:
    from .report import _json_safe

    return _json_safe(value)
