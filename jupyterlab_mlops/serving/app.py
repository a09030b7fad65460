"""The serving app (FastAPI): one model version, loaded once, answering ``/predict`` in batches.

Routes: ``POST /predict``, ``POST /feedback``, ``GET /health``, ``GET /metadata``, ``GET /metrics``
(Prometheus), ``POST /admin/reload`` (hot swap, loopback + token only), OpenAPI at ``/docs``.

The hot path: read the body, parse it with orjson, validate it against the signature (vectorised),
queue it for the micro-batcher (one model call for many concurrent requests, in a thread), answer
with orjson, and hand the rows to the prediction log's buffer (written by a background thread).
Bad input is always a 422 naming the fields; nothing a client sends can cause a 500.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import InvalidInput, MLOpsError
from .batching import DEFAULT_MAX_BATCH_ROWS, DEFAULT_MAX_LATENCY_MS, BatchStats, MicroBatcher
from .metrics import ServingMetrics
from .model import ModelInputError, ServedModel
from .prediction_log import PredictionLog
from .validation import PayloadError, payload_error

ADMIN_TOKEN_ENV = "MLOPS_SERVING_ADMIN_TOKEN"
STATE_DIR_ENV = "MLOPS_SERVING_STATE_DIR"
CONTROL_FILE = "reload.json"
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
_JSON = "application/json"
_ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY


def _dumps(body: Any) -> bytes:
    return orjson.dumps(body, default=_default, option=_ORJSON_OPTIONS)


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(_dumps(body), status_code=status, media_type=_JSON)


def error_response(status: int, code: str, message: str, details: dict | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return json_response({"error": error}, status)


def parse_json(body: bytes) -> Any:
    """orjson first; the stdlib as a fallback so NaN/Infinity literals reach validation."""
    if not body or not body.strip():
        raise payload_error("the request body is empty; send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as err:
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise payload_error(f"the request body is not valid JSON: {err}") from None


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


class _Instruments:
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
        routing: Routing,
        log: PredictionLog | None,
        *,
        max_latency_ms: float,
        max_batch_rows: int,
        batching: bool,
        extra_columns: str,
        trust: bool,
        admin_token: str,
        workers: int,
        state_dir: str | None,
    ):
        self.routing = routing
        self.log = log
        self.metrics = ServingMetrics()
        self.max_latency_ms = max_latency_ms
        self.max_batch_rows = max_batch_rows
        self.batching = batching
        self.extra_columns = extra_columns
        self.trust = trust
        self.admin_token = admin_token
        self.workers = workers
        self.state_dir = Path(state_dir) if state_dir else None
        self.background: set[asyncio.Task] = set()
        self.reload_lock = asyncio.Lock()
        self.started = time.time()
        self._ids = itertools.count()
        self._id_prefix = os.urandom(6).hex()

    def new_ids(self, n: int) -> list[str]:
        prefix = self._id_prefix
        return [f"{prefix}-{next(self._ids):x}" for _ in range(n)]

    # -- model wiring -------------------------------------------------------------------------

    def attach(self, served: ServedModel, role: str) -> None:
        """Give a model its batcher and its metric children (``role``: champion | challenger)."""
        variants = ("champion",) if role == "champion" else ("challenger", "shadow")
        served.instruments = {v: _Instruments(self.metrics, served, v) for v in variants}
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


def _load(bundle: str, extra_columns: str, trust: bool) -> ServedModel:
    return ServedModel.from_bundle(bundle, extra_columns=extra_columns, trust=trust)


def create_app(
    bundle_dir: str | os.PathLike,
    *,
    prediction_log: str | os.PathLike | PredictionLog | None,
    challenger_bundle: str | os.PathLike | None = None,
    canary_percent: float = 0,
    shadow: bool = False,
    max_latency_ms: float = DEFAULT_MAX_LATENCY_MS,
    max_batch_rows: int = DEFAULT_MAX_BATCH_ROWS,
    batching: bool = True,
    access_log: bool = False,
    extra_columns: str = "ignore",
    trust: bool = False,
    admin_token: str | None = None,
    workers: int = 1,
    state_dir: str | None = None,
    log_flush_interval: float = 0.2,
) -> FastAPI:
    """Build the app; the model(s) are loaded (sha256-verified) here, once.

    ``access_log`` is recorded for ``/metadata``; the uvicorn runner applies it.
    """
    if not 0 <= float(canary_percent) <= 100:
        raise ValueError("canary_percent must be between 0 and 100")
    if (canary_percent or shadow) and challenger_bundle is None:
        raise ValueError("canary_percent and shadow need a challenger bundle")
    if canary_percent and shadow:
        raise ValueError("choose canary_percent or shadow, not both")
    champion = _load(str(bundle_dir), extra_columns, trust)
    challenger = _load(str(challenger_bundle), extra_columns, trust) if challenger_bundle else None
    log = prediction_log
    if log is not None and not isinstance(log, PredictionLog):
        log = PredictionLog(log, flush_interval=log_flush_interval)
    state = ServingState(
        Routing(champion, challenger, float(canary_percent), shadow),
        log,
        max_latency_ms=max_latency_ms,
        max_batch_rows=max_batch_rows,
        batching=batching,
        extra_columns=extra_columns,
        trust=trust,
        admin_token=admin_token if admin_token is not None else os.environ.get(ADMIN_TOKEN_ENV, ""),
        workers=workers,
        state_dir=state_dir or os.environ.get(STATE_DIR_ENV) or None,
    )
    state.attach(champion, "champion")
    if challenger is not None:
        state.attach(challenger, "challenger")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state.start_models(state.routing)
        for served in state.routing.models():  # in the background: /health answers at once
            state.spawn(asyncio.to_thread(served.warm_up))
        if state.workers > 1 and state.state_dir is not None:
            state.spawn(_follow_control_file(state))
        try:
            yield
        finally:
            for task in list(state.background):
                if not task.get_name().startswith("control-"):
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(asyncio.shield(task), 30)
            for task in list(state.background):
                task.cancel()
            await state.stop_models(state.routing)
            if state.log is not None:
                await asyncio.to_thread(state.log.close)

    app = FastAPI(
        title=f"{champion.name} v{champion.version_label} — jupyterlab-mlops serving",
        description="Predictions from a registered model version. Bad input → 422 naming each "
        "field. Every prediction is logged with its id; send labels to /feedback.",
        lifespan=lifespan,
    )
    app.state.serving = state
    app.state.access_log = access_log
    _install_error_handlers(app)
    _add_routes(app, state)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields = [".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()]
        return error_response(422, "invalid_input", f"invalid request: {', '.join(fields)}")

    @app.exception_handler(PayloadError)
    async def payload_error_handler(request: Request, exc: PayloadError) -> Response:
        return json_response(exc.to_dict(), 422)

    @app.exception_handler(MLOpsError)
    async def mlops_error(request: Request, exc: MLOpsError) -> Response:
        return json_response(exc.to_dict(), exc.status)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        return error_response(500, "internal_error", f"internal error: {type(exc).__name__}")


_PREDICT_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            _JSON: {
                "schema": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["records"],
                            "properties": {
                                "records": {"type": "array", "items": {"type": "object"}}
                            },
                        },
                        {
                            "type": "object",
                            "required": ["columns"],
                            "properties": {
                                "columns": {
                                    "type": "object",
                                    "additionalProperties": {"type": "array"},
                                }
                            },
                        },
                    ]
                },
                "example": {"records": [{"feature": 1.0}]},
            }
        },
    },
    "responses": {
        "200": {"description": "predictions, probabilities (classifiers), prediction_ids"},
        "422": {"description": "invalid input; the message names each bad field"},
    },
}
_FEEDBACK_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            _JSON: {
                "schema": {
                    "type": "object",
                    "required": ["items"],
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["prediction_id", "label"],
                                "properties": {"prediction_id": {"type": "string"}, "label": {}},
                            },
                        }
                    },
                }
            }
        },
    }
}
_RELOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            _JSON: {
                "schema": {
                    "type": "object",
                    "required": ["bundle"],
                    "properties": {
                        "bundle": {"type": "string"},
                        "challenger_bundle": {"type": ["string", "null"]},
                        "canary_percent": {"type": "number"},
                        "shadow": {"type": "boolean"},
                    },
                }
            }
        },
    }
}


def _add_routes(app: FastAPI, state: ServingState) -> None:
    @app.post("/predict", openapi_extra=_PREDICT_SCHEMA, summary="Predict rows")
    async def predict(request: Request) -> Response:
        body = await request.body()
        start = time.perf_counter()
        routing = state.routing
        served, variant = routing.champion, "champion"
        if routing.canary_percent and random.random() * 100.0 < routing.canary_percent:
            served, variant = routing.challenger, "challenger"
        instruments = served.instruments[variant]
        try:
            payload = parse_json(body)
            prepared = served.validator.prepare(payload)
            output = await served.batcher.submit(prepared, prepared.n_rows)
        except PayloadError as err:
            instruments.invalid.inc()
            instruments.error("invalid_input")
            return json_response(err.to_dict(), 422)
        except ModelInputError as err:
            instruments.invalid.inc()
            instruments.error("model_rejected_input")
            return error_response(422, "model_rejected_input", str(err))
        ids = state.new_ids(prepared.n_rows)
        elapsed = time.perf_counter() - start
        instruments.ok.inc()
        instruments.rows.inc(prepared.n_rows)
        instruments.latency.observe(elapsed)
        instruments.model_call.observe(output.predict_seconds)
        if state.log is not None:
            state.log.append_batch(
                ids,
                ts=time.time(),
                model_version=served.version,
                variant=variant,
                inputs=prepared.records,
                predictions=output.predictions,
                probabilities=output.probabilities,
                latency_ms=elapsed * 1000.0,
            )
        if routing.shadow:
            state.spawn(_shadow(state, routing.challenger, payload))
        result: dict[str, Any] = {
            "model": served.name,
            "version": served.version,
            "variant": variant,
            "prediction_ids": ids,
            "predictions": output.predictions,
        }
        if output.probabilities is not None:
            result["probabilities"] = output.probabilities
            result["classes"] = served.classes
        return json_response(result)

    @app.post("/feedback", openapi_extra=_FEEDBACK_SCHEMA, summary="Ground-truth labels")
    async def feedback(request: Request) -> Response:
        payload = parse_json(await request.body())
        if not isinstance(payload, dict) or not isinstance(payload.get("items"), list):
            raise payload_error(
                'the body must be {"items": [{"prediction_id": …, "label": …}, …]}', "items"
            )
        if state.log is None:
            return error_response(409, "no_prediction_log", "this server keeps no prediction log")
        try:
            stored = await asyncio.to_thread(state.log.add_feedback, payload["items"])
        except InvalidInput as err:  # a payload problem: 422 like every other bad body here
            return error_response(422, "invalid_input", err.message)
        state.metrics.feedback.labels(state.routing.champion.name).inc(stored)
        return json_response({"stored": stored})

    @app.get("/health", summary="Liveness and readiness")
    async def health() -> Response:
        routing = state.routing
        challenger = routing.challenger
        return json_response(
            {
                "status": "ok",
                "model": routing.champion.name,
                "version": routing.champion.version,
                "challenger": None
                if challenger is None
                else {"name": challenger.name, "version": challenger.version},
                "canary_percent": routing.canary_percent,
                "shadow": routing.shadow,
                "generation": routing.generation,
                "pid": os.getpid(),
                "uptime_seconds": round(time.time() - state.started, 3),
            }
        )

    @app.get("/metadata", summary="Model name, version, signature and lineage")
    async def metadata() -> Response:
        routing = state.routing
        body = routing.champion.describe()
        body.update(
            {
                "challenger": None if routing.challenger is None else routing.challenger.describe(),
                "canary_percent": routing.canary_percent,
                "shadow": routing.shadow,
                "generation": routing.generation,
                "batching": {
                    "enabled": state.batching,
                    "max_latency_ms": state.max_latency_ms,
                    "max_batch_rows": state.max_batch_rows,
                },
                "extra_columns": state.extra_columns,
                "workers": state.workers,
                "prediction_log": None if state.log is None else str(state.log.path),
            }
        )
        return json_response(body)

    @app.get("/metrics", summary="Prometheus metrics")
    async def metrics() -> Response:
        data, content_type = state.metrics.render()
        return Response(data, media_type=content_type)

    @app.post(
        "/admin/reload",
        openapi_extra=_RELOAD_SCHEMA,
        summary="Hot-swap the served bundle (loopback + admin token only)",
    )
    async def reload(request: Request) -> Response:
        if not state.admin_token:
            return error_response(
                404, "not_found", f"the admin API is disabled (set {ADMIN_TOKEN_ENV} to enable it)"
            )
        client = request.client.host if request.client else ""
        if client not in _LOOPBACK:
            return error_response(403, "forbidden", "the admin API only answers 127.0.0.1")
        header = request.headers.get("authorization", "")
        token = (
            header[7:]
            if header.lower().startswith("bearer ")
            else request.headers.get("x-mlops-admin-token", "")
        )
        if not _same(token, state.admin_token):
            return error_response(401, "unauthorized", "missing or wrong admin token")
        spec = _reload_spec(parse_json(await request.body()))
        async with state.reload_lock:
            generation = max(state.routing.generation, _control_generation(state)) + 1
            await _apply(state, spec, generation)
            if state.workers > 1 and state.state_dir is not None:
                _write_control(state, {**spec, "generation": generation})
                switched = await _wait_for_workers(state, generation)
            else:
                switched = 1
        routing = state.routing
        return json_response(
            {
                "model": routing.champion.name,
                "version": routing.champion.version,
                "challenger": None if routing.challenger is None else routing.challenger.version,
                "canary_percent": routing.canary_percent,
                "shadow": routing.shadow,
                "generation": generation,
                "workers": state.workers,
                "workers_switched": switched,
            }
        )


def _same(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())


async def _shadow(state: ServingState, challenger: ServedModel, payload: Any) -> None:
    """Mirror a request to the challenger; its answer is only logged (variant "shadow")."""
    instruments = challenger.instruments["shadow"]
    start = time.perf_counter()
    try:
        prepared = challenger.validator.prepare(payload)
        output = await challenger.batcher.submit(prepared, prepared.n_rows)
    except (PayloadError, ModelInputError):
        instruments.invalid.inc()
        instruments.error("invalid_input")
        return
    elapsed = time.perf_counter() - start
    instruments.ok.inc()
    instruments.rows.inc(prepared.n_rows)
    instruments.latency.observe(elapsed)
    if state.log is not None:
        state.log.append_batch(
            state.new_ids(prepared.n_rows),
            ts=time.time(),
            model_version=challenger.version,
            variant="shadow",
            inputs=prepared.records,
            predictions=output.predictions,
            probabilities=output.probabilities,
            latency_ms=elapsed * 1000.0,
        )


# -- hot swap -------------------------------------------------------------------------------------

_KEEP = object()


def _reload_spec(payload: Any) -> dict:
    if not isinstance(payload, dict) or not isinstance(payload.get("bundle"), str):
        raise payload_error(
            'the body must be {"bundle": DIR, ["challenger_bundle": DIR|null,'
            ' "canary_percent": N, "shadow": bool]}',
            "bundle",
        )
    spec: dict[str, Any] = {"bundle": payload["bundle"]}
    if "challenger_bundle" in payload:
        value = payload["challenger_bundle"]
        if value is not None and not isinstance(value, str):
            raise payload_error("must be a directory or null", "challenger_bundle")
        spec["challenger_bundle"] = value
    if "canary_percent" in payload:
        value = payload["canary_percent"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
            raise payload_error("must be a number between 0 and 100", "canary_percent")
        spec["canary_percent"] = float(value)
    if "shadow" in payload:
        if not isinstance(payload["shadow"], bool):
            raise payload_error("must be true or false", "shadow")
        spec["shadow"] = payload["shadow"]
    return spec


async def _apply(state: ServingState, spec: dict, generation: int) -> None:
    """Load the new model(s) off the loop, then switch with one assignment: no request fails."""
    old = state.routing
    champion = await asyncio.to_thread(_load, spec["bundle"], state.extra_columns, state.trust)
    await asyncio.to_thread(champion.warm_up)  # the first request after the switch is not slow
    challenger = old.challenger
    if "challenger_bundle" in spec:
        challenger = None
        if spec["challenger_bundle"]:
            challenger = await asyncio.to_thread(
                _load, spec["challenger_bundle"], state.extra_columns, state.trust
            )
    canary = spec.get("canary_percent", old.canary_percent)
    shadow = spec.get("shadow", old.shadow)
    if challenger is None:
        canary, shadow = 0.0, False
    if canary and shadow:
        raise payload_error("choose canary_percent or shadow, not both", "shadow")
    state.attach(champion, "champion")
    if challenger is not None and challenger is not old.challenger:
        state.attach(challenger, "challenger")
    new = Routing(champion, challenger, canary, shadow, generation)
    state.start_models(new)
    state.routing = new  # the switch: requests that already hold `old` finish on it
    state.spawn(state.stop_models(old, keep=(challenger,)))
    _write_ack(state, generation)


def _control_path(state: ServingState) -> Path | None:
    return state.state_dir / CONTROL_FILE if state.state_dir is not None else None


def _control_generation(state: ServingState) -> int:
    path = _control_path(state)
    if path is None or not path.is_file():
        return 0
    try:
        return int(json.loads(path.read_text()).get("generation", 0))
    except (ValueError, OSError):
        return 0


def _write_control(state: ServingState, spec: dict) -> None:
    path = _control_path(state)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(spec))
    os.replace(tmp, path)


def _write_ack(state: ServingState, generation: int) -> None:
    if state.state_dir is None:
        return
    with contextlib.suppress(OSError):
        state.state_dir.mkdir(parents=True, exist_ok=True)
        (state.state_dir / f"ack-{os.getpid()}").write_text(str(generation))


async def _wait_for_workers(state: ServingState, generation: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        switched = 0
        for ack in state.state_dir.glob("ack-*"):
            with contextlib.suppress(ValueError, OSError):
                switched += int(ack.read_text() or 0) >= generation
        if switched >= state.workers or time.monotonic() > deadline:
            return switched
        await asyncio.sleep(0.05)


async def _follow_control_file(state: ServingState) -> None:
    """Other workers' reloads reach this worker through the control file."""
    asyncio.current_task().set_name("control-follower")
    path = _control_path(state)
    while True:
        await asyncio.sleep(0.1)
        generation = _control_generation(state)
        if generation <= state.routing.generation:
            continue
        async with state.reload_lock:
            if generation <= state.routing.generation:
                continue
            try:
                spec = json.loads(path.read_text())
                await _apply(state, spec, generation)
            except Exception as err:  # noqa: BLE001 - keep serving the current model
                state.routing.generation = generation  # do not retry a broken bundle forever
                print(f"mlops serving: reload to generation {generation} failed: {err}", flush=True)


CONFIG_ENV = "MLOPS_SERVING_CONFIG"


def create_app_from_env() -> FastAPI:
    """uvicorn factory for ``workers > 1``: each worker process builds its app from the JSON
    settings the CLI put in ``MLOPS_SERVING_CONFIG`` (each opens its own prediction-log
    connection)."""
    settings = json.loads(os.environ[CONFIG_ENV])
    bundle = settings.pop("bundle")
    return create_app(bundle, **settings)
