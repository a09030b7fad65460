"""What the serving routes share: the routing (which model answers), batchers and metrics.

:class:`Routing` is swapped as one object on a hot reload, so a request that started on the old
models finishes on them and the next one sees the new ones — never a mix. :class:`ServingState`
is one per app (per worker process) and wires each served model to its micro-batcher and its
pre-bound Prometheus children.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from pathlib import Path
from typing import Any

from .batching import BatchStats, MicroBatcher
from .metrics import ServingMetrics
from .model import ServedModel
from .prediction_log import PredictionLog
from .validation import DEFAULT_MAX_STRING_LENGTH


def load_model(bundle: str, trust: bool, **validation: Any) -> ServedModel:
    return ServedModel.from_bundle(bundle, trust=trust, **validation)


class _Stats(BatchStats):
    """Feeds the batcher's observations into Prometheus for one model version."""

    def __init__(self, metrics: ServingMetrics, served: ServedModel, variant: str):
        labels = (served.name, served.version_label, variant)
        self.batch_rows = metrics.batch_rows.labels(*labels)
        self.batch_requests = metrics.batch_requests.labels(*labels)
        self.queue_wait = metrics.queue_wait.labels(*labels)

    def batch(self, n_requests: int, n_rows: int, queue_waits: list[float]) -> None:
        self.batch_rows.observe(n_rows)
        self.batch_requests.observe(n_requests)
        for wait in queue_waits:
            self.queue_wait.observe(wait)


class Instruments:
    """Pre-bound metric children for one (model version, variant): no label lookups per call."""

    def __init__(self, metrics: ServingMetrics, served: ServedModel, variant: str):
        labels = (served.name, served.version_label, variant)
        self.ok = metrics.requests.labels(*labels, "200")
        self.invalid = metrics.requests.labels(*labels, "422")
        self.rows = metrics.rows.labels(*labels)
        self.latency = metrics.latency.labels(*labels)
        self.model_call = metrics.predict_time.labels(*labels)
        self.errors = metrics.errors
        self.labels = labels

    def error(self, code: str) -> None:
        self.errors.labels(*self.labels, code).inc()


class Routing:
    """Which model answers: swapped as one object, so a request sees one consistent state."""

    def __init__(
        self,
        champion: ServedModel,
        challenger: ServedModel | None,
        canary_percent: float,
        shadow: bool,
        generation: int = 0,
    ):
        self.champion = champion
        self.challenger = challenger
        self.canary_percent = canary_percent if challenger is not None else 0.0
        self.shadow = shadow and challenger is not None
        self.generation = generation

    def models(self) -> list[ServedModel]:
        return [m for m in (self.champion, self.challenger) if m is not None]


class ServingState:
    """Everything the routes share; one per app (per worker process)."""

    def __init__(
        self,
        routing: Routing | None,
        log: PredictionLog | None,
        *,
        max_latency_ms: float,
        max_batch_rows: int,
        batching: bool,
        extra_columns: str,
        trust: bool,
        admin_token: str,
        unknown_categories: str | dict[str, str] = "accept",
        max_string_length: int = DEFAULT_MAX_STRING_LENGTH,
        workers: int,
        state_dir: str | None,
    ):
        self.routing: Routing = routing  # type: ignore[assignment] - set before ready
        self.ready = asyncio.Event()  # the model(s) are loaded: routes may use self.routing
        self.log = log
        self.metrics = ServingMetrics()
        self.max_latency_ms = max_latency_ms
        self.max_batch_rows = max_batch_rows
        self.batching = batching
        self.extra_columns = extra_columns
        self.unknown_categories = unknown_categories
        self.max_string_length = max_string_length
        self.trust = trust
        self.admin_token = admin_token
        self.workers = workers
        self.state_dir = Path(state_dir) if state_dir else None
        self.background: set[asyncio.Task] = set()
        self.reload_lock = asyncio.Lock()
        self.started = time.time()
        self._ids = itertools.count()
        self._id_prefix = os.urandom(6).hex()

    def is_ready(self) -> bool:
        return self.ready.is_set()

    async def wait_ready(self) -> None:
        """Requests that arrive while the bundle is still loading wait for it (a failed load
        ends the process)."""
        if not self.ready.is_set():
            await self.ready.wait()

    def new_ids(self, n: int) -> list[str]:
        prefix = self._id_prefix
        return [f"{prefix}-{next(self._ids):x}" for _ in range(n)]

    def load(self, bundle: str) -> ServedModel:
        """A bundle loaded with this app's policies (blocking: call it off the loop)."""
        return load_model(bundle, self.trust, **self.validation())

    def validation(self) -> dict[str, Any]:
        """The input policies every loaded model gets."""
        return {
            "extra_columns": self.extra_columns,
            "unknown_categories": self.unknown_categories,
            "max_string_length": self.max_string_length,
        }

    # -- model wiring -------------------------------------------------------------------------

    def attach(self, served: ServedModel, role: str) -> None:
        """Give a model its batcher and its metric children (``role``: champion | challenger)."""
        variants = ("champion",) if role == "champion" else ("challenger", "shadow")
        served.instruments = {v: Instruments(self.metrics, served, v) for v in variants}
        served.batcher = MicroBatcher(
            served.predict_batch,
            max_latency_ms=self.max_latency_ms,
            max_batch_rows=self.max_batch_rows,
            enabled=self.batching,
            stats=_Stats(self.metrics, served, variants[0]),
            name=f"{served.name}-{served.version_label}",
        )

    def start_models(self, routing: Routing) -> None:
        for served in routing.models():
            served.batcher.start()

    async def stop_models(self, routing: Routing, keep: tuple = ()) -> None:
        for served in routing.models():
            if served not in keep:
                await served.batcher.stop()

    def spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
