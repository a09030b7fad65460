"""The typed edges of serving: REST bodies, queries and responses, and the serving process's
request envelopes.

Two users, one set of definitions:

- the ``/mlops/api/deployments`` and ``/mlops/api/deploy/…`` handlers parse their bodies and
  query strings with the request models and describe their answers with the response models
  (the OpenAPI document and the frontend's types come from them);
- the serving process (FastAPI) documents ``/predict`` with :class:`PredictRequest` and parses
  ``/feedback`` and ``/admin/reload`` with :class:`FeedbackRequest` and :class:`ReloadRequest`.
  (The deployment config and the canary body live in ``config.py``, with their rules.)
  Rows of ``/predict`` are checked by the vectorised validator (``validation.py``), never twice.

Only pydantic and the core's base models are imported: the serving process loads this module.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, SkipValidation, WithJsonSchema

from ..schemas import NonNegativeInt, Page, QueryText, Schema
from .config import TARGETS, DeploymentConfig


def _known_target(value: str) -> str:
    if value not in TARGETS:
        raise ValueError(f"unknown target {value!r}: use one of {', '.join(TARGETS)}")
    return value


# A str with a helpful message for a typo (``'ec2'``), described as the enum it is.
Target = Annotated[
    str, AfterValidator(_known_target), WithJsonSchema({"type": "string", "enum": list(TARGETS)})
]
MAX_PAGE_SIZE = 500
MAX_LOG_LINES = 5000


class Query(Schema):
    """Query strings arrive as text (``strict=False``); other arguments (``token``) are not ours."""

    model_config = ConfigDict(strict=False, extra="ignore")


# -- REST requests ------------------------------------------------------------------------------


class CreateDeployment(Schema):
    """``POST /deployments``."""

    model: str | None = Field(
        None,
        description="A model reference: churn@production (follows) or churn/3 (absent when "
        "config.models lists several)",
    )
    target: Target | None = Field(None, description="Default: c.MLOps.default_deploy_target")
    name: str | None = Field(None, description="Default: the model name (and the alias)")
    config: DeploymentConfig | None = None


class DeployNotebook(Schema):
    """``POST /deploy/notebook``: run (if needed) → register → serve → healthy."""

    path: str = Field(description="Notebook path relative to the server root")
    parameters: dict[str, Any] | None = Field(
        None, description="Values for the notebook's parameters cell (forces a run)"
    )
    target: Target | None = Field(None, description="Default: c.MLOps.default_deploy_target")


class DeploymentsQuery(Query):
    status: QueryText | None = None
    model: QueryText | None = None
    target: QueryText | None = None
    offset: NonNegativeInt = 0
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE)
    stats: bool = Field(True, description="Ask running deployments for their /metrics")


class LogsQuery(Query):
    tail: int = Field(200, ge=1, le=MAX_LOG_LINES)


class PageQuery(Query):
    offset: NonNegativeInt = 0
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class PlanQuery(Query):
    path: QueryText = Field(description="Notebook path relative to the server root")


# -- REST responses -----------------------------------------------------------------------------


class DeploymentStats(Schema):
    """From the deployment's /metrics and its prediction log."""

    predictions: int
    requests: int | None
    errors: int | None
    error_rate: float | None
    p50_ms: float | None
    p99_ms: float | None
    source: str


class DeploymentModel(Schema):
    """One hosted model of a multi-model deployment (``/models/{name}/…``)."""

    name: str
    model_ref: str
    follows_alias: str | None
    version: int = Field(description="The version it serves")
    challenger_version: int | None
    bundle_dir: str
    challenger_bundle_dir: str | None
    prediction_log: str = Field(description="Its own prediction log (the first: the deployment's)")
    loaded: bool | None = Field(
        description="In memory now (max_loaded_models unloads the least recently used); null: "
        "not asked (not running, or without stats)"
    )


class Deployment(Schema):
    id: str
    name: str
    model: str
    model_ref: str
    follows_alias: str | None
    version: int
    target: str
    status: str
    status_reason: str | None
    url: str | None
    port: int | None
    pid: int | None
    host: str | None
    image: str | None
    container_id: str | None
    context_dir: str | None
    log_path: str | None
    prediction_log: str | None
    manifest_path: str | None
    bundle_dir: str
    challenger_version: int | None
    challenger_bundle_dir: str | None
    models: list[DeploymentModel] = Field(
        default_factory=list, description="The hosted models of a multi-model deployment"
    )
    config: DeploymentConfig
    restarts: int = Field(0, description="Restarts made by the restart policy")
    created_by: str | None
    created_at: str | None
    updated_at: str | None
    api_key: str | None = Field(
        None, description="The first API key, in the create answer only (kept as sha256)"
    )


class DeploymentWithStats(Deployment):
    stats: DeploymentStats


class DeploymentPage(Page):
    items: list[DeploymentWithStats | Deployment]


class DeploymentLogs(Schema):
    id: str
    tail: int
    text: str


class CreateKey(Schema):
    """``POST /deployments/{id}/keys``."""

    name: str = Field("", max_length=255, description="What the key is for")


class DeploymentKey(Schema):
    id: str
    deployment_id: str
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart")
    created_by: str
    created_at: str | None
    revoked_at: str | None
    active: bool


class CreatedKey(DeploymentKey):
    key: str = Field(description="The API key: shown this once, only its sha256 is stored")
    revoked: list[str] | None = Field(None, description="Keys revoked by a rotation")


class DeploymentKeyList(Schema):
    items: list[DeploymentKey]


class DeletedDeployment(Schema):
    id: str
    deleted: bool


class DeployStep(Schema):
    name: str
    status: Literal["pending", "running", "done", "skipped", "failed"]
    detail: str
    started_at: str | None
    finished_at: str | None


class DeployJob(Schema):
    """One one-click deploy (a persisted workflow), as the dialog polls it."""

    id: str
    notebook_path: str
    parameters: dict[str, Any]
    target: str
    status: Literal["running", "succeeded", "failed"]
    steps: list[DeployStep]
    run_id: str | None
    model: str | None
    version: int | None
    deployment_id: str | None
    url: str | None
    curl: str | None
    error: str | None
    created_by: str
    created_at: str | None
    finished_at: str | None


class DeployJobPage(Page):
    items: list[DeployJob]


class DeployPlan(Schema):
    """What a click would do: deploy what the latest successful run registered, or run first."""

    notebook_path: str
    needs_run: bool
    run_id: str | None
    model: str | None
    version: int | None


# -- the serving process ------------------------------------------------------------------------


def _scalar(value: Any) -> Any:
    if isinstance(value, dict | list):
        raise ValueError("must be a scalar: a string, a number, true/false or null")
    return value


# One plain check (not a union of types, whose errors would be named after each member).
JSONScalar = Annotated[
    Any,
    AfterValidator(_scalar),
    WithJsonSchema({"type": ["string", "number", "boolean", "null"]}),
]


class PredictRequest(Schema):
    """Exactly one of ``records`` (rows) or ``columns`` (equal-length lists). The rows are
    checked against the model's signature by the vectorised validator, not here."""

    model_config = ConfigDict(extra="ignore")

    records: SkipValidation[list[dict[str, Any]]] | None = Field(
        None, description="One object per row", examples=[[{"feature": 1.0}]]
    )
    columns: SkipValidation[dict[str, list[Any]]] | None = Field(
        None, description="One list per input column"
    )


class PredictResponse(Schema):
    model: str
    version: int
    variant: Literal["champion", "challenger"]
    prediction_ids: list[str]
    predictions: list[Any]
    probabilities: list[list[float]] | None = None
    classes: list[Any] | None = None


class FeedbackItem(Schema):
    model_config = ConfigDict(extra="ignore")

    prediction_id: str = Field(min_length=1, max_length=200)
    label: JSONScalar = Field(description="The ground truth (a scalar)")
    ts: float | None = Field(None, description="When it was observed (unix seconds)")


class FeedbackRequest(Schema):
    """Ground-truth labels for earlier predictions, by prediction id."""

    model_config = ConfigDict(extra="ignore")

    items: list[FeedbackItem] = Field(min_length=1)


class FeedbackResponse(Schema):
    stored: int


class ReloadRequest(Schema):
    """Hot swap: the new champion bundle, and optionally a new challenger split. A field that
    is left out keeps its current value."""

    bundle: str = Field(min_length=1, description="Bundle directory of the new champion")
    model: str | None = Field(
        None, min_length=1, description="The hosted model to swap (default: the first one)"
    )
    challenger_bundle: str | None = Field(None, description="Bundle of a challenger, or null")
    canary_percent: float = Field(0.0, ge=0, le=100)
    shadow: bool = False

    def spec(self) -> dict[str, Any]:
        """The fields the caller gave (``{"bundle": …, "shadow": …}``) for the swap."""
        return self.model_dump(include=self.model_fields_set | {"bundle"})


class ReloadResponse(Schema):
    model: str
    version: int | None
    challenger: int | None
    canary_percent: float
    shadow: bool
    generation: int
    workers: int
    workers_switched: int


class ChallengerInfo(Schema):
    name: str
    version: int


class HostedHealth(Schema):
    """One hosted model of a multi-model process."""

    name: str
    ref: str | None
    version: int | None
    challenger: int | None
    canary_percent: float
    shadow: bool
    loaded: bool
    loads: int = Field(description="Times it was loaded (at start and after each unload)")


class HealthResponse(Schema):
    """One model: ``model``, ``version``, its challenger and split; several: ``models`` and
    ``max_loaded_models`` instead."""

    status: Literal["ok"]
    model: str | None = None
    version: int | None = None
    challenger: ChallengerInfo | None = None
    canary_percent: float | None = None
    shadow: bool | None = None
    models: list[HostedHealth] | None = None
    max_loaded_models: int | None = None
    generation: int
    pid: int
    uptime_seconds: float


class ErrorDetail(Schema):
    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorResponse(Schema):
    """Every error the serving process answers."""

    error: ErrorDetail


class OipError(Schema):
    """An Open Inference Protocol error (``/v2/…``)."""

    error: str


class MlflowError(Schema):
    """An error of MLflow's scoring protocol (``/invocations``, ``/ping``)."""

    error_code: str
    message: str


SERVING_MODELS = (
    ErrorResponse,
    OipError,
    MlflowError,
    PredictRequest,
    PredictResponse,
    FeedbackRequest,
    FeedbackResponse,
    ReloadRequest,
    ReloadResponse,
    HealthResponse,
)
