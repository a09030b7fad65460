"""The serving routes: ``/predict``, ``/feedback``, ``/health``, ``/metadata``, ``/metrics`` and
``/admin/reload``; ``/models/{name}/predict`` and ``/models/{name}/metadata`` for each hosted
model.

The hot path (``/predict``): read the body, parse it with orjson, validate it against the
signature (vectorised), queue it for the micro-batcher (one model call for many concurrent
requests, in a thread), answer with orjson, and hand the rows to the prediction log's buffer
(written by a background thread). The small bodies (``/feedback``, ``/admin/reload``) are parsed
with their pydantic models (``schemas.py``). Bad input is always a 422 naming the fields. The
unscoped routes answer a process that hosts one model; with several they are a 404 that names
``/models/{name}/predict``.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from ..errors import InvalidInput
from . import control
from .hosted import HostedModel, ModelRequired, Unavailable
from .jsonio import error_response, json_response, parse_body, parse_json
from .model import ModelInputError, Output, ServedModel
from .prediction_log import PredictionLog
from .schemas import FeedbackRequest, ReloadRequest
from .state import Routing, ServingState
from .validation import PayloadError

ADMIN_TOKEN_ENV = "MLOPS_SERVING_ADMIN_TOKEN"
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@dataclass
class Scored:
    """One request answered: the model that answered it and what it said."""

    served: ServedModel
    variant: str
    ids: list[str]
    output: Output


Decode = Callable[[ServedModel], Any]


def pick(routing: Routing, version: str | None = None) -> tuple[ServedModel, str]:
    """The model that answers: the canary split, or exactly ``version`` when one is named."""
    if version is not None:
        if version == routing.champion.version_label:
            return routing.champion, "champion"
        if routing.challenger is not None and version == routing.challenger.version_label:
            return routing.challenger, "challenger"
        raise Unavailable(f"model {routing.champion.name!r} has no version {version!r} here")
    if routing.canary_percent and random.random() * 100.0 < routing.canary_percent:
        return routing.challenger, "challenger"
    return routing.champion, "champion"


async def score(
    state: ServingState,
    decode: Decode,
    chosen: tuple[ServedModel, str] | None = None,
    hosted: HostedModel | None = None,
) -> Scored:
    """The one prediction path of every protocol: decode the body into a ``/predict`` payload
    (``decode``), validate it, predict in the micro-batch, count, log, mirror to a shadow.

    ``hosted``: the model asked for by name (default: the only one, or :class:`ModelRequired`);
    it is loaded first when it is not. Raises :class:`PayloadError` / :class:`ModelInputError`
    (counted as invalid) for the caller to answer in its protocol's error shape."""
    start = time.perf_counter()
    await state.wait_ready()
    hosted = hosted or state.only()
    routing = await state.use(hosted)
    served, variant = chosen or pick(routing)
    instruments = served.instruments[variant]
    try:
        payload = decode(served)
        prepared = served.validator.prepare(payload)
        output = await served.batcher.submit(prepared, prepared.n_rows)
    except PayloadError:
        instruments.invalid.inc()
        instruments.error("invalid_input")
        raise
    except ModelInputError:
        instruments.invalid.inc()
        instruments.error("model_rejected_input")
        raise
    ids = state.new_ids(prepared.n_rows)
    flags = None
    if prepared.unknown:
        counter = state.metrics.unknown_categories
        for column, rows in prepared.unknown.items():
            counter.labels(served.name, column).inc(len(rows))
        flags = prepared.row_flags()
    elapsed = time.perf_counter() - start
    instruments.ok.inc()
    instruments.rows.inc(prepared.n_rows)
    instruments.latency.observe(elapsed)
    instruments.model_call.observe(output.predict_seconds)
    if hosted.log is not None:
        hosted.log.append_batch(
            ids,
            ts=time.time(),
            model_version=served.version,
            variant=variant,
            inputs=prepared.records,
            predictions=output.predictions,
            probabilities=output.probabilities,
            latency_ms=elapsed * 1000.0,
            unknown_categories=flags,
        )
    if routing.shadow and variant == "champion":
        state.spawn(_shadow(state, hosted.log, routing.challenger, payload))
    return Scored(served, variant, ids, output)


def not_hosted(err: Unavailable) -> Response:
    code = "model_required" if isinstance(err, ModelRequired) else "not_found"
    return error_response(404, code, str(err))


def predict_body(scored: Scored) -> dict[str, Any]:
    served, output = scored.served, scored.output
    result: dict[str, Any] = {
        "model": served.name,
        "version": served.version,
        "variant": scored.variant,
        "prediction_ids": scored.ids,
        "predictions": output.predictions,
    }
    if output.probabilities is not None:
        result["probabilities"] = output.probabilities
        result["classes"] = served.classes
    return result


def store_feedback(logs: list[tuple[str, PredictionLog]], items: list[dict]) -> dict | list[str]:
    """Each label into the log of the model that made the prediction (blocking): stored per
    model name, or the ids no log knows (nothing stored then)."""
    remaining = [item["prediction_id"] for item in items]
    owners: dict[str, list[dict]] = {}
    for name, log in logs:
        if not remaining:
            break
        unknown = set(log.unknown_ids(remaining))
        known = set(remaining) - unknown
        owners[name] = [i for i in items if i["prediction_id"] in known]
        remaining = [i for i in remaining if i in unknown]
    if remaining:
        return remaining
    by_name = dict(logs)
    return {name: by_name[name].add_feedback(mine) for name, mine in owners.items() if mine}


def add_routes(app: FastAPI, state: ServingState) -> None:
    async def predict_with(request: Request, name: str | None) -> Response:
        body = await request.body()
        await state.wait_ready()
        try:
            hosted = state.asked_for(name)
        except Unavailable as err:
            return not_hosted(err)
        try:
            scored = await score(state, lambda served: parse_json(body), hosted=hosted)
        except PayloadError as err:
            return json_response(err.to_dict(), 422)
        except ModelInputError as err:
            return error_response(422, "model_rejected_input", str(err))
        return json_response(predict_body(scored))

    @app.post("/predict", summary="Predict rows")
    async def predict(request: Request) -> Response:
        return await predict_with(request, None)

    @app.post("/models/{name}/predict", summary="Predict rows with one hosted model")
    async def predict_model(request: Request, name: str) -> Response:
        return await predict_with(request, name)

    @app.post("/feedback", summary="Ground-truth labels")
    async def feedback(request: Request) -> Response:
        raw = await request.body()
        try:
            body = parse_body(FeedbackRequest, raw)
        except PayloadError as err:
            non_finite = [
                e
                for e in err.errors
                if str(e.get("field") or "").endswith(".label")
                and "finite" in str(e.get("message", ""))
            ]
            if non_finite:  # NaN/Infinity labels would poison the quality metrics: a 400
                return json_response(
                    {
                        "error": {
                            "code": "invalid_input",
                            "message": err.message,
                            "details": {"errors": non_finite},
                        }
                    },
                    400,
                )
            raise
        if state.log is None:
            return error_response(409, "no_prediction_log", "this server keeps no prediction log")
        await state.wait_ready()
        items = [item.model_dump() for item in body.items]
        try:
            stored = await asyncio.to_thread(store_feedback, state.logs(), items)
        except InvalidInput as err:  # a payload problem: 422 like every other bad body here
            return error_response(422, "invalid_input", err.message)
        if isinstance(stored, list):
            shown = ", ".join(repr(i) for i in stored[:5])
            return error_response(
                404,
                "unknown_prediction",
                f"no prediction with id {shown}"
                + (f" and {len(stored) - 5} more" if len(stored) > 5 else ""),
                {"prediction_ids": stored[:100]},
            )
        for name, count in stored.items():
            state.metrics.feedback.labels(name).inc(count)
        return json_response({"stored": sum(stored.values())})

    @app.get("/health", summary="Liveness and readiness")
    async def health() -> Response:
        if not state.is_ready():  # alive, not ready: probes and deployers wait for the 200
            return json_response(
                {
                    "status": "loading",
                    "pid": os.getpid(),
                    "uptime_seconds": round(time.time() - state.started, 3),
                },
                503,
            )
        if len(state.hosted) > 1:
            return json_response(
                {
                    "status": "ok",
                    "models": [hosted.describe() for hosted in state.hosted.values()],
                    "max_loaded_models": state.max_loaded,
                    "generation": state.generation(),
                    "pid": os.getpid(),
                    "uptime_seconds": round(time.time() - state.started, 3),
                }
            )
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

    async def metadata_of(name: str | None) -> Response:
        await state.wait_ready()
        try:
            hosted = state.asked_for(name)
        except Unavailable as err:
            return not_hosted(err)
        routing = await state.use(hosted)
        body = routing.champion.describe()
        batching = {**state.batching_settings(), **(hosted.batching or {})}
        body.update(
            {
                "challenger": None if routing.challenger is None else routing.challenger.describe(),
                "canary_percent": routing.canary_percent,
                "shadow": routing.shadow,
                "generation": routing.generation,
                "batching": batching,
                "extra_columns": state.extra_columns,
                "unknown_categories": state.unknown_categories,
                "max_string_length": state.max_string_length,
                "workers": state.workers,
                "prediction_log": hosted.log is not None,
            }
        )
        return json_response(body)

    @app.get("/metadata", summary="Model name, version, signature and lineage")
    async def metadata() -> Response:
        return await metadata_of(None)

    @app.get("/models/{name}/metadata", summary="One hosted model's metadata")
    async def metadata_model(name: str) -> Response:
        return await metadata_of(name)

    @app.get("/metrics", summary="Prometheus metrics")
    async def metrics() -> Response:
        data, content_type = state.metrics.render()
        return Response(data, media_type=content_type)

    @app.post("/admin/reload", summary="Hot-swap the served bundle (loopback + admin token only)")
    async def reload(request: Request) -> Response:
        if not state.admin_token:
            return error_response(
                404, "not_found", f"the admin API is disabled (set {ADMIN_TOKEN_ENV} to enable it)"
            )
        client = request.client.host if request.client else ""
        if client not in LOOPBACK:
            return error_response(403, "forbidden", "the admin API only answers 127.0.0.1")
        header = request.headers.get("authorization", "")
        token = (
            header[7:]
            if header.lower().startswith("bearer ")
            else request.headers.get("x-mlops-admin-token", "")
        )
        if not hmac.compare_digest(token.encode(), state.admin_token.encode()):
            return error_response(401, "unauthorized", "missing or wrong admin token")
        spec = parse_body(ReloadRequest, await request.body()).spec()
        await state.wait_ready()
        try:
            hosted = state.default() if spec.get("model") is None else state.named(spec["model"])
        except Unavailable as err:
            return not_hosted(err)
        generation, switched = await control.reload(state, spec)
        described = hosted.describe()
        return json_response(
            {
                **{k: described[k] for k in ("version", "challenger", "canary_percent", "shadow")},
                "model": hosted.name,
                "generation": generation,
                "workers": state.workers,
                "workers_switched": switched,
            }
        )


async def _shadow(
    state: ServingState, log: PredictionLog | None, challenger: ServedModel, payload: Any
) -> None:
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
    if log is not None:
        log.append_batch(
            state.new_ids(prepared.n_rows),
            ts=time.time(),
            model_version=challenger.version,
            variant="shadow",
            inputs=prepared.records,
            predictions=output.predictions,
            probabilities=output.probabilities,
            latency_ms=elapsed * 1000.0,
        )
