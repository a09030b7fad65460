"""Prometheus metrics of a serving process, labelled by model, version and variant (and the
loads, unloads and reloads of each hosted model, by model).

With several uvicorn workers the CLI sets ``PROMETHEUS_MULTIPROC_DIR`` before the workers start,
so every worker writes its samples there and ``/metrics`` (answered by any worker) aggregates all
of them.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

disable_created_metrics()  # the *_created series only double the size of every scrape

LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.02,
    0.03,
    0.05,
    0.075,
    0.1,
    0.15,
    0.25,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
    10.0,
)
WAIT_BUCKETS = (0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192)
LABELS = ("model", "version", "variant")


class ServingMetrics:
    """All metric families of one process (a private registry: tests may build several apps)."""

    def __init__(self) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        # in multiprocess mode samples go to files, and collection reads them (see render())
        self.registry = None if self.multiprocess else CollectorRegistry()
        kwargs = {"registry": self.registry}
        self.requests = Counter(
            "mlops_requests",
            "Prediction requests answered, by HTTP status.",
            (*LABELS, "status"),
            **kwargs,
        )
        self.rows = Counter("mlops_predicted_rows", "Rows predicted.", LABELS, **kwargs)
        self.errors = Counter(
            "mlops_errors",
            "Prediction requests that failed, by error code.",
            (*LABELS, "code"),
            **kwargs,
        )
        self.latency = Histogram(
            "mlops_request_latency_seconds",
            "Time from request body to response, per request.",
            LABELS,
            buckets=LATENCY_BUCKETS,
            **kwargs,
        )
        self.predict_time = Histogram(
            "mlops_model_call_seconds",
            "Duration of one model call (one batch).",
            LABELS,
            buckets=LATENCY_BUCKETS,
            **kwargs,
        )
        self.batch_rows = Histogram(
            "mlops_batch_rows",
            "Rows per model call (micro-batch size).",
            LABELS,
            buckets=ROW_BUCKETS,
            **kwargs,
        )
        self.batch_requests = Histogram(
            "mlops_batch_requests",
            "Requests merged into one model call.",
            LABELS,
            buckets=ROW_BUCKETS,
            **kwargs,
        )
        self.queue_wait = Histogram(
            "mlops_queue_wait_seconds",
            "Time a request waited for its batch to start.",
            LABELS,
            buckets=WAIT_BUCKETS,
            **kwargs,
        )
        self.feedback = Counter(
            "mlops_feedback_labels", "Ground-truth labels received.", ("model",), **kwargs
        )
        self.unknown_categories = Counter(
            "mlops_unknown_categories",
            "Input values of a category the model's signature does not list, by column.",
            ("model", "column"),
            **kwargs,
        )

        # hosted models loaded (at start or on demand), unloaded (least recently used beyond
        # max_loaded_models) and loaded again after an unload
        self.model_loads = Counter(
            "mlops_model_loads", "Times a hosted model was loaded.", ("model",), **kwargs
        )
        self.model_unloads = Counter(
            "mlops_model_unloads",
            "Times a hosted model was unloaded (max_loaded_models).",
            ("model",),
            **kwargs,
        )
        self.model_reloads = Counter(
            "mlops_model_reloads",
            "Times a hosted model was loaded again after an unload.",
            ("model",),
            **kwargs,
        )

    def render(self) -> tuple[bytes, str]:
        if self.multiprocess:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
