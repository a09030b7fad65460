"""What the serving routes share: the hosted models, their routing, batchers and metrics.

:class:`Routing` is swapped as one object on a hot reload, so a request that started on the old
models finishes on them and the next one sees the new ones — never a mix. :class:`ServingState`
is one per app (per worker process): it holds the hosted models (:mod:`.hosted`) by name, loads
one on demand and unloads the least recently used beyond ``max_loaded_models``
(:meth:`ServingState.use`), and wires each served model to its micro-batcher and its pre-bound
Prometheus children.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from pathlib import Path
from typing import Any

from .batching import BatchStats, MicroBatcher
from .hosted import HostedModel, ModelRequired, Unavailable
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
        self.hosted: dict[str, HostedModel] = {}  # by model name, in the configured order
        self.max_loaded: int | None = None  # None: every hosted model stays loaded
        self.generation_floor = 0  # a generation that failed to apply is not retried
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
        self.load_lock = asyncio.Lock()  # loads (on demand, hot swaps) one at a time
        self.started = time.time()
        self._ids = itertools.count()
        self._id_prefix = os.urandom(6).hex()
        self._uses = itertools.count(1)

    # -- hosted models ------------------------------------------------------------------------

    def host(self, hosted: HostedModel) -> None:
        self.hosted[hosted.name] = hosted

    def default(self) -> HostedModel:
        """The first hosted model (the only one of a single-model process)."""
        return next(iter(self.hosted.values()))

    @property
    def routing(self) -> Routing:
        """The first hosted model's routing (what a single-model process serves)."""
        return self.default().routing  # type: ignore[return-value] - set before ready

    @routing.setter
    def routing(self, routing: Routing) -> None:
        self.default().routing = routing

    def only(self) -> HostedModel:
        """The model an unscoped route (``/predict``) answers with: the one hosted model."""
        if len(self.hosted) == 1:
            return self.default()
        names = ", ".join(self.hosted)
        raise ModelRequired(
            f"this server hosts several models ({names}): use /models/{{name}}/predict "
            "(or /v2/models/{name}/infer)"
        )

    def asked_for(self, name: str | None) -> HostedModel:
        """The model a request names (``/models/{name}/…``), or the only one (unscoped)."""
        return self.only() if name is None else self.named(name)

    def named(self, name: str) -> HostedModel:
        hosted = self.hosted.get(name)
        if hosted is None:
            served = ", ".join(repr(n) for n in self.hosted)
            raise Unavailable(f"unknown model {name!r}; this server serves {served}")
        return hosted

    def logs(self) -> list[tuple[str, PredictionLog]]:
        """(model name, its prediction log) of every hosted model that logs."""
        return [(h.name, h.log) for h in self.hosted.values() if h.log is not None]

    def generation(self) -> int:
        """The newest reload generation applied here (any hosted model)."""
        return max([self.generation_floor, *(h.generation for h in self.hosted.values())])

    async def use(self, hosted: HostedModel) -> Routing:
        """``hosted``'s routing for one request: loaded first if it is not (off the loop, one
        load at a time, the least recently used others unloaded first to make room under
        ``max_loaded_models``)."""
        hosted.last_used = next(self._uses)
        routing = hosted.routing
        if routing is not None:
            return routing
        async with self.load_lock:
            if hosted.routing is None:
                self.make_room(hosted)
                await self.load_hosted(hosted)
            return hosted.routing

    async def load_hosted(self, hosted: HostedModel) -> None:
        """Load ``hosted``'s bundle(s) in a thread and wire them; counted in ``/metrics``."""
        champion = await asyncio.to_thread(self.load, hosted.bundle)
        challenger = None
        if hosted.challenger_bundle:
            challenger = await asyncio.to_thread(self.load, hosted.challenger_bundle)
        routing = Routing(
            champion, challenger, hosted.canary_percent, hosted.shadow, hosted.generation
        )
        self.attach(champion, "champion", hosted.batching)
        if challenger is not None:
            self.attach(challenger, "challenger", hosted.batching)
        self.start_models(routing)
        self.count_load(hosted)
        hosted.routing = routing

    def count_load(self, hosted: HostedModel) -> None:
        self.metrics.model_loads.labels(hosted.name).inc()
        if hosted.loads:
            self.metrics.model_reloads.labels(hosted.name).inc()
        hosted.loads += 1

    def make_room(self, coming: HostedModel) -> None:
        """Unload the least recently used models so that ``coming`` fits under
        ``max_loaded_models``; requests that hold one finish on it."""
        if self.max_loaded is None:
            return
        loaded = [h for h in self.hosted.values() if h.routing is not None and h is not coming]
        excess = len(loaded) + 1 - self.max_loaded
        for victim in sorted(loaded, key=lambda h: h.last_used)[: max(excess, 0)]:
            routing, victim.routing = victim.routing, None
            self.metrics.model_unloads.labels(victim.name).inc()
            self.spawn(self.stop_models(routing))

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

    def attach(
        self, served: ServedModel, role: str, batching: dict[str, Any] | None = None
    ) -> None:
        """Give a model its batcher and its metric children (``role``: champion | challenger;
        ``batching``: its hosted model's own settings, else the app's)."""
        variants = ("champion",) if role == "champion" else ("challenger", "shadow")
        served.instruments = {v: Instruments(self.metrics, served, v) for v in variants}
        batching = {**self.batching_settings(), **(batching or {})}
        served.batcher = MicroBatcher(
            served.predict_batch,
            max_latency_ms=batching["max_latency_ms"],
            max_batch_rows=batching["max_batch_rows"],
            enabled=batching["enabled"],
            stats=_Stats(self.metrics, served, variants[0]),
            name=f"{served.name}-{served.version_label}",
        )

    def batching_settings(self) -> dict[str, Any]:
        return {
            "enabled": self.batching,
            "max_latency_ms": self.max_latency_ms,
            "max_batch_rows": self.max_batch_rows,
        }

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
