"""The serving app (FastAPI): one model (or several, by name), answering ``/predict`` in batches.

:func:`create_app` loads the bundle(s) (sha256-verified), builds the shared state
(:mod:`.state`), installs the routes (:mod:`.routes`) and the error handlers, and runs the
lifespan: batchers started, models warmed up in the background, the control file followed when
there are several workers (:mod:`.control`), and on shutdown pending work finished and the
prediction log flushed. OpenAPI at ``/docs``; the request and response bodies it describes are
the pydantic models of :mod:`.schemas`.

Nothing a client sends can cause a 500: bad input is a 422 naming the fields.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from concurrent.futures import Future
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic.json_schema import models_json_schema
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import MLOpsError
from . import control
from .batching import DEFAULT_MAX_BATCH_ROWS, DEFAULT_MAX_LATENCY_MS
from .bundle import read_metadata
from .hosted import HostedModel
from .jsonio import JSON, error_response, json_response
from .prediction_log import PredictionLog
from .protocols import add_protocol_routes
from .routes import ADMIN_TOKEN_ENV, add_routes
from .schemas import (
    SERVING_MODELS,
    ErrorResponse,
    FeedbackRequest,
    FeedbackResponse,
    HealthResponse,
    MlflowError,
    OipError,
    PredictRequest,
    PredictResponse,
    ReloadRequest,
    ReloadResponse,
)
from .security import PolicySource, SecurityMiddleware, error_body
from .state import Routing, ServingState, load_model
from .validation import DEFAULT_MAX_STRING_LENGTH, PayloadError

STATE_DIR_ENV = "MLOPS_SERVING_STATE_DIR"
CONFIG_ENV = "MLOPS_SERVING_CONFIG"
# route -> (request model, response model) in the OpenAPI document
DOCUMENTED = {
    ("/predict", "post"): (PredictRequest, PredictResponse),
    ("/models/{name}/predict", "post"): (PredictRequest, PredictResponse),
    ("/models/{name}/metadata", "get"): (None, None),
    ("/models/{name}/invocations", "post"): (None, None),
    ("/feedback", "post"): (FeedbackRequest, FeedbackResponse),
    ("/admin/reload", "post"): (ReloadRequest, ReloadResponse),
    ("/health", "get"): (None, HealthResponse),
    ("/metadata", "get"): (None, None),
    ("/metrics", "get"): (None, None),
    ("/invocations", "post"): (None, None),
    ("/ping", "get"): (None, None),
    ("/v2/health/live", "get"): (None, None),
    ("/v2/health/ready", "get"): (None, None),
    ("/v2", "get"): (None, None),
    ("/v2/models/{name}", "get"): (None, None),
    ("/v2/models/{name}/versions/{version}", "get"): (None, None),
    ("/v2/models/{name}/ready", "get"): (None, None),
    ("/v2/models/{name}/versions/{version}/ready", "get"): (None, None),
    ("/v2/models/{name}/infer", "post"): (None, None),
    ("/v2/models/{name}/versions/{version}/infer", "post"): (None, None),
}
# Every status each route can answer besides 200 (the security checks come first: 421, 403,
# 415, 401), as the OpenAPI document lists them.
STATUSES = {
    "400": "A non-finite label / protocol routes: invalid input, or not ready yet",
    "401": "Missing or unknown API key (or admin token)",
    "403": "Cross-origin request from an origin not in allowed_origins (or admin not on loopback)",
    "404": "Unknown prediction id or model / several models hosted (use /models/{name}/…) / the "
    "admin API is disabled / a bundle that does not exist",
    "409": "This server keeps no prediction log / a bundle that cannot be loaded",
    "415": "The body is not of a Content-Type the route takes (application/json)",
    "421": "The Host header names neither this server nor one of allowed_hosts",
    "422": "Invalid input; the message names each bad field",
    "503": "The model is still loading",
}
ROUTE_STATUSES = {
    ("/predict", "post"): ("401", "403", "404", "415", "421", "422"),
    ("/models/{name}/predict", "post"): ("401", "403", "404", "415", "421", "422"),
    ("/models/{name}/metadata", "get"): ("401", "403", "404", "421"),
    ("/models/{name}/invocations", "post"): ("400", "401", "403", "404", "415", "421"),
    ("/feedback", "post"): ("400", "401", "403", "404", "409", "415", "421", "422"),
    ("/admin/reload", "post"): ("401", "403", "404", "409", "415", "421", "422"),
    ("/health", "get"): ("403", "421"),
    ("/metadata", "get"): ("401", "403", "404", "421"),
    ("/metrics", "get"): ("403", "421"),
    ("/invocations", "post"): ("400", "401", "403", "404", "415", "421"),
    ("/ping", "get"): ("403", "421", "503"),
    ("/v2/health/live", "get"): ("403", "421"),
    ("/v2/health/ready", "get"): ("400", "403", "421"),
    ("/v2", "get"): ("403", "421"),
    ("/v2/models/{name}", "get"): ("401", "403", "404", "421"),
    ("/v2/models/{name}/versions/{version}", "get"): ("401", "403", "404", "421"),
    ("/v2/models/{name}/ready", "get"): ("400", "403", "404", "421"),
    ("/v2/models/{name}/versions/{version}/ready", "get"): ("400", "403", "404", "421"),
    ("/v2/models/{name}/infer", "post"): ("400", "401", "403", "404", "415", "421"),
    ("/v2/models/{name}/versions/{version}/infer", "post"): (
        "400",
        "401",
        "403",
        "404",
        "415",
        "421",
    ),
}
# the request bodies the protocol routes read themselves (OpenAPI only)
PROTOCOL_BODIES = {
    "/invocations": {
        JSON: {"schema": {"type": "object"}},
        "text/csv": {"schema": {"type": "string"}},
    },
    "/v2/models/{name}/infer": {
        JSON: {"schema": {"type": "object", "required": ["inputs"]}},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    },
}
PROTOCOL_BODIES["/v2/models/{name}/versions/{version}/infer"] = PROTOCOL_BODIES[
    "/v2/models/{name}/infer"
]
PROTOCOL_BODIES["/models/{name}/invocations"] = PROTOCOL_BODIES["/invocations"]


def create_app(
    bundle_dir: str | os.PathLike | None,
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
    unknown_categories: str | dict[str, str] = "accept",
    max_string_length: int = DEFAULT_MAX_STRING_LENGTH,
    security_file: str | os.PathLike | None = None,
    bind_host: str = "127.0.0.1",
    loading: Future | None = None,
    models: list[dict[str, Any]] | None = None,
    max_loaded_models: int | None = None,
) -> FastAPI:
    """Build the app; the model(s) are loaded (sha256-verified) here, once, or — ``loading``,
    from :meth:`ServedModel.start_loading` — in a thread while the server starts (ready when
    they are loaded).

    ``models``: several hosted models instead of ``bundle_dir`` (and its challenger), each
    ``{"bundle", "challenger_bundle", "canary_percent", "shadow", "batching",
    "prediction_log", "ref"}``; the first ``max_loaded_models`` (default: all) are loaded at
    start, the others on their first request.

    ``access_log`` is recorded for ``/metadata``; the uvicorn runner applies it.
    ``security_file``/``bind_host``: the Host/Origin/API-key policy (:mod:`.security`).
    """
    if not 0 <= float(canary_percent) <= 100:
        raise ValueError("canary_percent must be between 0 and 100")
    if (canary_percent or shadow) and challenger_bundle is None:
        raise ValueError("canary_percent and shadow need a challenger bundle")
    if canary_percent and shadow:
        raise ValueError("choose canary_percent or shadow, not both")
    policies = PolicySource(security_file, bind_host)  # a bad policy file stops the start-up
    validation = {
        "extra_columns": extra_columns,
        "unknown_categories": unknown_categories,
        "max_string_length": max_string_length,
    }
    if models is not None:
        if not models:
            raise ValueError("models needs at least one entry")
        bundle_dir = models[0]["bundle"]
    elif bundle_dir is None:
        raise ValueError("give bundle_dir or models")
    if loading is None and models is None:  # loaded here, at once
        loading = Future()
        loading.set_result(
            [
                load_model(str(bundle), trust, **validation)
                for bundle in (bundle_dir, challenger_bundle)
                if bundle
            ]
        )
    log = prediction_log
    if log is not None and not isinstance(log, PredictionLog):
        log = PredictionLog(log, flush_interval=log_flush_interval)
    state = ServingState(
        log,
        max_latency_ms=max_latency_ms,
        max_batch_rows=max_batch_rows,
        batching=batching,
        extra_columns=extra_columns,
        unknown_categories=unknown_categories,
        max_string_length=max_string_length,
        trust=trust,
        admin_token=admin_token if admin_token is not None else os.environ.get(ADMIN_TOKEN_ENV, ""),
        workers=workers,
        state_dir=state_dir or os.environ.get(STATE_DIR_ENV) or None,
    )
    if models is None:
        state.host(
            HostedModel(
                str(bundle_dir),
                challenger_bundle=str(challenger_bundle) if challenger_bundle else None,
                canary_percent=float(canary_percent),
                shadow=shadow,
                log=log,
            )
        )
    else:
        _host_models(state, models, log, log_flush_interval)
        state.max_loaded = max_loaded_models

    async def load_single() -> None:
        served = await asyncio.wrap_future(loading)
        champion, challenger = served[0], (served[1] if len(served) > 1 else None)
        state.attach(champion, "champion")
        if challenger is not None:
            state.attach(challenger, "challenger")
        state.routing = Routing(champion, challenger, float(canary_percent), shadow)
        state.start_models(state.routing)
        state.count_load(state.default())

    async def load_several() -> None:
        for hosted in list(state.hosted.values())[: state.max_loaded]:
            await state.load_hosted(hosted)

    async def become_ready() -> None:
        try:
            await (load_single() if models is None else load_several())
        except Exception as err:  # noqa: BLE001 - verified, yet it would not deserialise
            message = err.message if isinstance(err, MLOpsError) else f"{type(err).__name__}: {err}"
            print(f"error: {message}", file=sys.stderr, flush=True)
            os._exit(2)  # nothing was served or logged yet; the deployer sees status 2
        state.ready.set()
        for hosted in state.hosted.values():  # the first requests do not pay for lazy imports
            for served in hosted.routing.models() if hosted.routing is not None else ():
                state.spawn(asyncio.to_thread(served.warm_up))
        if state.workers > 1 and state.state_dir is not None:
            state.spawn(control.follow_control_file(state))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if loading is not None and loading.done():
            await become_ready()
        else:  # the server answers (/health: loading) while the bundle deserialises
            state.spawn(become_ready())
        try:
            yield
        finally:
            for task in list(state.background):
                if not task.get_name().startswith("control-"):
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(asyncio.shield(task), 30)
            for task in list(state.background):
                task.cancel()
            if state.is_ready():
                for hosted in state.hosted.values():
                    if hosted.routing is not None:
                        await state.stop_models(hosted.routing)
            for _, hosted_log in state.logs():
                await asyncio.to_thread(hosted_log.close)

    described = read_metadata(bundle_dir)
    app = FastAPI(
        title=f"{described.get('name', 'model')} v{described.get('version')} — jupyterlab-mlops "
        "serving",
        description="Predictions from a registered model version. Bad input → 422 naming each "
        "field. Every prediction is logged with its id; send labels to /feedback.",
        lifespan=lifespan,
    )
    app.state.serving = state
    app.state.access_log = access_log
    app.state.policies = policies
    app.add_middleware(SecurityMiddleware, source=policies)
    _install_error_handlers(app)
    add_routes(app, state)
    add_protocol_routes(app, state)
    _document_bodies(app)
    return app


def _host_models(
    state: ServingState,
    models: list[dict[str, Any]],
    first_log: PredictionLog | None,
    flush_interval: float,
) -> None:
    """Each entry a hosted model with its own prediction log (the first one's is the
    process's ``prediction_log``: the deployment's stream, which its drift monitor reads)."""
    for index, spec in enumerate(models):
        log = first_log if index == 0 else None
        if index and first_log is not None and spec.get("prediction_log"):
            log = PredictionLog(spec["prediction_log"], flush_interval=flush_interval)
        hosted = HostedModel(
            spec["bundle"],
            challenger_bundle=spec.get("challenger_bundle"),
            canary_percent=float(spec.get("canary_percent") or 0),
            shadow=bool(spec.get("shadow")),
            batching=spec.get("batching"),
            log=log,
            ref=spec.get("ref"),
        )
        if hosted.name in state.hosted:
            raise ValueError(f"models[{index}]: model {hosted.name!r} is hosted twice")
        state.host(hosted)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        body = error_body(request.url.path, code, str(exc.detail))
        response = Response(body, status_code=exc.status_code, media_type=JSON)
        response.headers.update(exc.headers or {})  # Allow on a 405
        return response

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
        body = error_body(
            request.url.path, "internal_error", f"internal error: {type(exc).__name__}"
        )
        return Response(body, status_code=500, media_type=JSON)


def _document_bodies(app: FastAPI) -> None:
    """The routes read their bodies themselves (no double validation on the hot path); the
    OpenAPI document still describes them, with the models of ``schemas.py``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        document = get_openapi(title=app.title, version=app.version, routes=app.routes)
        document["info"]["description"] = app.description
        keyed, definitions = models_json_schema(
            [(model, "validation") for model in SERVING_MODELS],
            ref_template="#/components/schemas/{model}",
        )
        document.setdefault("components", {}).setdefault("schemas", {}).update(
            definitions.get("$defs", {})
        )
        errors = {
            "oip": keyed[(OipError, "validation")],
            "mlflow": keyed[(MlflowError, "validation")],
            "ours": keyed[(ErrorResponse, "validation")],
        }
        for (path, method), (request_model, response_model) in DOCUMENTED.items():
            operation = document["paths"][path][method]
            family = "oip" if path.startswith("/v2") else "ours"
            if path in ("/invocations", "/ping") or path.endswith("/invocations"):
                family = "mlflow"
            error = errors[family]
            if path in PROTOCOL_BODIES:
                operation["requestBody"] = {"required": True, "content": PROTOCOL_BODIES[path]}
            if request_model is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {JSON: {"schema": keyed[(request_model, "validation")]}},
                }
            if response_model is not None:
                ok = {JSON: {"schema": keyed[(response_model, "validation")]}}
            elif path == "/metrics":
                ok = {"text/plain": {"schema": {"type": "string"}}}
            elif path.endswith("/infer"):  # JSON, or JSON + binary tensors
                ok = {
                    JSON: {"schema": {"type": "object"}},
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                }
            else:
                ok = {JSON: {"schema": {"type": "object"}}}
            operation["responses"] = {"200": {"description": "OK", "content": ok}}
            for status in ROUTE_STATUSES[(path, method)]:
                operation["responses"][status] = {
                    "description": STATUSES[status],
                    "content": {JSON: {"schema": error}},
                }
            if path in ("/predict", "/feedback", "/metadata", "/invocations") or (
                path.startswith(("/v2/models/", "/models/")) and not path.endswith("/ready")
            ):
                operation["security"] = [{"apiKey": []}, {}]
        document["components"]["securitySchemes"] = {
            "apiKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "A deployment API key (when the deployment requires one)",
            }
        }
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def create_app_from_env() -> FastAPI:
    """uvicorn factory for ``workers > 1``: each worker process builds its app from the JSON
    settings the CLI put in ``MLOPS_SERVING_CONFIG`` (each opens its own prediction-log
    connection)."""
    settings = json.loads(os.environ[CONFIG_ENV])
    bundle = settings.pop("bundle")
    return create_app(bundle, **settings)
