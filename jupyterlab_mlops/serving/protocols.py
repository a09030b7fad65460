"""The standard protocols' routes: Open Inference Protocol (``/v2/…``) and MLflow's
``/invocations``.

Each route only translates (``oip.py``, ``mlflow_scoring.py``) and answers in its protocol's
shape; the prediction itself is :func:`.routes.score`, the path ``/predict`` takes, so the
validation, micro-batching, prediction log and metrics are shared, never forked.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from . import mlflow_scoring, oip
from .hosted import HostedModel, Unavailable
from .jsonio import JSON, json_response
from .model import ModelInputError, ServedModel
from .routes import pick, score
from .state import ServingState
from .validation import PayloadError

SERVER_NAME = "jupyterlab-mlops"


def oip_error(status: int, message: str) -> Response:
    return Response(oip.error_body(message), status_code=status, media_type=JSON)


def mlflow_error(status: int, message: str, code: str = "BAD_REQUEST") -> Response:
    return Response(mlflow_scoring.error_body(message, code), status_code=status, media_type=JSON)


def add_protocol_routes(app: FastAPI, state: ServingState) -> None:
    from ..version import __version__

    async def model_named(
        name: str, version: str | None = None
    ) -> tuple[HostedModel, tuple[ServedModel, str]]:
        """The hosted model ``name`` (loaded if it was not) and the version that answers."""
        hosted = state.named(name)
        routing = await state.use(hosted)
        return hosted, pick(routing, version) if version is not None else (
            routing.champion,
            "champion",
        )

    def check_version(hosted: HostedModel, version: str | None) -> None:
        if version is not None and version not in hosted.versions():
            raise Unavailable(f"model {hosted.name!r} has no version {version!r} here")

    # -- Open Inference Protocol (KServe V2) -------------------------------------------------

    @app.get("/v2/health/live", summary="OIP: the server is live")
    async def oip_live() -> Response:
        return json_response({"live": True})

    @app.get("/v2/health/ready", summary="OIP: the model is loaded and answering")
    async def oip_ready() -> Response:
        if not state.is_ready():
            return oip_error(400, "the model is still loading")
        return json_response({"ready": True})

    @app.get("/v2", summary="OIP: server metadata")
    async def oip_server() -> Response:
        return json_response(
            {"name": SERVER_NAME, "version": __version__, "extensions": ["binary_tensor_data"]}
        )

    async def metadata(name: str, version: str | None) -> Response:
        await state.wait_ready()
        try:
            hosted, (served, _) = await model_named(name, version)
        except Unavailable as err:
            return oip_error(404, str(err))
        return json_response(oip.model_metadata(served, hosted.versions()))

    @app.get("/v2/models/{name}", summary="OIP: model metadata")
    async def oip_model(name: str) -> Response:
        return await metadata(name, None)

    @app.get("/v2/models/{name}/versions/{version}", summary="OIP: model version metadata")
    async def oip_model_version(name: str, version: str) -> Response:
        return await metadata(name, version)

    def ready(name: str, version: str | None) -> Response:
        """Ready: loaded, or loadable on demand (an unloaded hosted model answers its next
        request after loading it; ``/health`` tells which are loaded)."""
        if not state.is_ready():
            return oip_error(400, "the model is still loading")
        try:
            check_version(state.named(name), version)
        except Unavailable as err:
            return oip_error(404, str(err))
        return json_response({"name": name, "ready": True})

    @app.get("/v2/models/{name}/ready", summary="OIP: model readiness")
    async def oip_model_ready(name: str) -> Response:
        return ready(name, None)

    @app.get("/v2/models/{name}/versions/{version}/ready", summary="OIP: model version readiness")
    async def oip_model_version_ready(name: str, version: str) -> Response:
        return ready(name, version)

    async def infer(request: Request, name: str, version: str | None) -> Response:
        body = await request.body()
        await state.wait_ready()
        try:
            hosted, chosen = await model_named(name, version)
        except Unavailable as err:
            return oip_error(404, str(err))
        if version is None:
            chosen = None  # the canary split decides
        header_length = request.headers.get(oip.HEADER_LENGTH)
        names: list[str] = []
        decoded: list[oip.InferRequest] = []

        def decode(model: ServedModel) -> dict:
            request = oip.decode_request(body, header_length, model.validator.names)
            names.extend(oip.check_outputs(model, request))
            decoded.append(request)
            return request.payload

        try:
            scored = await score(state, decode, chosen, hosted)
        except (PayloadError, ModelInputError) as err:
            return oip_error(400, err.message if isinstance(err, PayloadError) else str(err))
        output = scored.output
        content, json_length = oip.encode_response(
            scored.served,
            decoded[0],
            names,
            output.predictions,
            output.probabilities,
            scored.ids,
            scored.variant,
        )
        if json_length is None:
            return Response(content, media_type=JSON)
        return Response(
            content,
            media_type="application/octet-stream",
            headers={"Inference-Header-Content-Length": str(json_length)},
        )

    @app.post("/v2/models/{name}/infer", summary="OIP: inference")
    async def oip_infer(request: Request, name: str) -> Response:
        return await infer(request, name, None)

    @app.post("/v2/models/{name}/versions/{version}/infer", summary="OIP: inference on a version")
    async def oip_infer_version(request: Request, name: str, version: str) -> Response:
        return await infer(request, name, version)

    # -- MLflow scoring protocol -------------------------------------------------------------

    async def invoke(request: Request, name: str | None) -> Response:
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        await state.wait_ready()
        try:
            hosted = state.asked_for(name)
        except Unavailable as err:
            return mlflow_error(404, str(err), "RESOURCE_DOES_NOT_EXIST")
        try:
            scored = await score(
                state,
                lambda served: mlflow_scoring.decode(body, content_type, served.validator),
                hosted=hosted,
            )
        except (PayloadError, ModelInputError) as err:
            return mlflow_error(400, err.message if isinstance(err, PayloadError) else str(err))
        return Response(mlflow_scoring.predictions_body(scored.output.predictions), media_type=JSON)

    @app.post("/invocations", summary="MLflow scoring protocol")
    async def invocations(request: Request) -> Response:
        return await invoke(request, None)

    @app.post("/models/{name}/invocations", summary="MLflow scoring protocol, one hosted model")
    async def invocations_model(request: Request, name: str) -> Response:
        return await invoke(request, name)

    @app.get("/ping", summary="MLflow scoring protocol: health")
    async def ping() -> Response:
        if not state.is_ready():
            return mlflow_error(503, "the model is still loading", "TEMPORARILY_UNAVAILABLE")
        return json_response({"status": "ok"})  # MLflow answers a bare newline; only 200 counts
