"""A deployment's numbers for the panel: predictions, requests, errors, error rate, p50/p99.

Counts and latencies come from the prediction log (:meth:`PredictionLog.stats`), request and
error counters from the running process's Prometheus ``/metrics`` (best effort, one second at
most): the panel shows what it can get and says where it came from (``source``). Which hosted
models of a multi-model deployment are loaded comes from its ``/health`` the same way.
"""

from __future__ import annotations

from typing import Any

import httpx

from .prediction_log import PredictionLog

METRICS_TIMEOUT = 1.0


def deployment_stats(deployment: dict[str, Any]) -> dict[str, Any]:
    """The ``stats`` object of a deployment record (see ``schemas.DeploymentStats``)."""
    result: dict[str, Any] = {
        "predictions": 0,
        "requests": None,
        "errors": None,
        "error_rate": None,
        "p50_ms": None,
        "p99_ms": None,
        "source": "prediction_log",
    }
    hosted = deployment.get("models") or []  # several models: their logs together
    path = [m["prediction_log"] for m in hosted] or deployment.get("prediction_log")
    if path:
        result.update(PredictionLog.stats(path))
    if deployment.get("status") == "running" and deployment.get("url"):
        metrics = metrics_counters(deployment["url"])
        if metrics:
            result.update(metrics)
            result["source"] = "metrics+prediction_log"
    if result["requests"] is not None and result["errors"] is not None:
        total = result["requests"]
        result["error_rate"] = (result["errors"] / total) if total else 0.0
    return result


def metrics_counters(url: str) -> dict[str, Any]:
    """Request and error counters from the deployment's Prometheus text (``{}`` if none)."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        response = httpx.get(f"{url}/metrics", timeout=METRICS_TIMEOUT, trust_env=False)
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


def mark_loaded(deployment: dict[str, Any]) -> None:
    """Set ``loaded`` on each hosted model of a running multi-model deployment, from its
    ``/health`` (left ``None`` when it cannot be asked)."""
    if not deployment.get("models") or deployment.get("status") != "running":
        return
    try:
        response = httpx.get(
            f"{deployment['url']}/health", timeout=METRICS_TIMEOUT, trust_env=False
        )
        response.raise_for_status()
        loaded = {m["name"]: bool(m["loaded"]) for m in response.json().get("models") or []}
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return
    for hosted in deployment["models"]:
        hosted["loaded"] = loaded.get(hosted["name"])
