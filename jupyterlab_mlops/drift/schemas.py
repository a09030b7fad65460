"""The drift API's typed edges: request bodies, query strings and responses of
``/mlops/api/drift/…``.

Requests are parsed with these models (a 400 naming the field on any mistake, nothing stored);
responses are described by them in the OpenAPI document (the frontend's types are generated from
it) and a test validates real responses against them. A monitor's config has its own model in
``config.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from ..schemas import FiniteFloat, NonNegativeInt, Page, PositiveInt, QueryText, Schema
from .config import (
    MAX_INTERVAL_SECONDS,
    MonitorConfig,
    StoredMonitorConfig,
    config_error,
    parse_methods,
)
from .config import Methods as MethodsSpec

MAX_PAGE_SIZE = 500  # as handlers/base.py's page_arguments

# -- requests -------------------------------------------------------------------------------------


class MonitorCreate(Schema):
    deployment_id: str = Field(min_length=1, description="deployment id or name")
    config: MonitorConfig | None = None
    interval_seconds: FiniteFloat | None = Field(
        None, gt=0, le=MAX_INTERVAL_SECONDS, description="default: c.MLOps.monitor_interval"
    )
    enabled: bool = True


class MonitorUpdate(Schema):
    """Only the fields sent change; ``config`` is replaced whole."""

    config: MonitorConfig | None = None
    interval_seconds: FiniteFloat | None = Field(None, gt=0, le=MAX_INTERVAL_SECONDS)
    enabled: bool | None = None


class EmptyBody(Schema):
    """A POST that takes no fields (``{}`` or no body)."""


class ReportWindow(Schema):
    """``{last_n?, since?, until?}`` (unix seconds or ISO-8601) or ``{seconds}``."""

    last_n: PositiveInt | None = None
    since: FiniteFloat | str | None = None
    until: FiniteFloat | str | None = None
    seconds: FiniteFloat | None = Field(None, gt=0)

    @field_validator("since", "until")
    @classmethod
    def _timestamp(cls, value: Any, info) -> Any:
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                raise config_error(
                    f"window.{info.field_name} must be unix seconds or an ISO-8601 time, "
                    f"got {value!r}"
                ) from None
        return value


class ReportRequest(Schema):
    model: str | None = Field(None, description="model ref (churn@production), name or id")
    deployment_id: str | None = None
    window: ReportWindow | None = None
    min_rows: PositiveInt | None = Field(
        None, description="Fewer current rows: verdict insufficient_data (default: the monitor's)"
    )
    methods: MethodsSpec = None
    history: bool = True

    @field_validator("methods", mode="before")
    @classmethod
    def _methods(cls, value: Any) -> Any:
        return parse_methods(value)


class _Query(Schema):
    model_config = ConfigDict(strict=False)

    offset: NonNegativeInt = 0


class MonitorsQuery(_Query):
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE)
    deployment_id: QueryText | None = None


class ResultsQuery(_Query):
    limit: int = Field(100, ge=1, le=MAX_PAGE_SIZE)


class AlertsQuery(_Query):
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE)
    monitor_id: QueryText | None = None
    acknowledged: bool | None = None


# -- responses ------------------------------------------------------------------------------------


class Monitor(Schema):
    id: str
    deployment_id: str
    deployment_name: str | None
    model_ref: str | None
    model_name: str | None
    model_version: int | None
    deployment_status: str | None
    status: str = Field(
        description="unknown, ok, drift, alert, insufficient_data, error, disabled (by a user) "
        "or paused (its deployment is stopped)"
    )
    enabled: bool
    interval_seconds: float | None
    last_checked_at: str | None
    drift_share: float | None
    drifted: bool | None
    latest_result_id: int | None
    open_alerts: int
    config: StoredMonitorConfig
    created_by: str
    created_at: str | None


class MonitorDeleted(Monitor):
    deleted: bool


class MonitorPage(Page):
    items: list[Monitor]


class MetricComparison(Schema):
    current: float | None = None
    registered: float | None = None
    drop: float | None = None


class EstimatedMetric(Schema):
    estimated: float | None = Field(None, description="CBPE estimate, from probabilities only")
    reference: float | None = Field(None, description="realised on the reference sample")
    drop: float | None = Field(None, description="(reference - estimated) / reference")
    realised: float | None = Field(None, description="from the labels arrived so far, if any")


class EstimatedPerformance(Schema):
    """Performance estimated without labels (CBPE), or why it is not available."""

    method: Literal["cbpe"] = "cbpe"
    available: bool
    reason: str | None = None
    n: int = Field(0, description="predictions with probabilities in the window")
    n_labelled: int = 0
    calibrated: bool | None = None
    metrics: dict[str, EstimatedMetric] = Field(default_factory=dict)


class Performance(Schema):
    """Quality on labelled predictions vs the registered metrics (empty below min_labelled),
    and, for classifiers, the same estimated without labels (``estimated``)."""

    task: str | None = None
    n_labelled: int = 0
    metrics: dict[str, MetricComparison] = Field(default_factory=dict)
    estimated: EstimatedPerformance | None = None


class Histogram(Schema):
    type: Literal["numeric", "categorical"]
    edges: list[float] | None = None
    categories: list[str] | None = None
    reference: list[int]
    current: list[int]
    current_below: int | None = None
    current_above: int | None = None


class ColumnDrift(Schema):
    """One column of a report (null where a statistic does not apply)."""

    column: str
    kind: str
    method: str
    statistic: float | None
    p_value: float | None
    threshold: float | None
    drifted: bool
    reference_missing_rate: float | None
    current_missing_rate: float | None
    missing_rate_change: float | None
    reference_mean: float | None
    current_mean: float | None
    mean_shift_pct: float | None
    new_categories: list[str]
    new_category_share: float | None
    n_reference: int | None
    n_current: int | None
    ks_statistic: float | None
    ks_p_value: float | None
    wasserstein: float | None
    psi: float | None
    chi2_statistic: float | None
    chi2_p_value: float | None
    jensenshannon: float | None
    approximate: bool
    note: str
    histogram: Histogram | None = None


class DriftResult(Schema):
    id: int
    monitor_id: str | None
    deployment_id: str | None
    model_name: str
    model_version: int | None
    window_start: str | None
    window_end: str | None
    n_rows: int
    drift_share: float | None
    drifted: bool
    n_drifted: int
    drifted_columns: list[str]
    performance: Performance
    created_at: str | None


class DriftResultDetail(DriftResult):
    columns: list[ColumnDrift]


class DriftResultPage(Page):
    items: list[DriftResult]


class Chart(Schema):
    """A Vega-Lite chart as a mime bundle: the one the notebook widget displays, for JupyterLab's
    renderer (``IRenderMimeRegistry``) to draw."""

    data: dict[str, Any] = Field(
        description="mime type → content: application/vnd.vegalite.v5+json (the spec, data "
        "inline) and text/plain"
    )
    metadata: dict[str, Any] = Field(description="per mime type: the renderer's embed_options")
    description: str = Field(description="what the chart shows, in words")
    points: int = Field(description="the points drawn (0: nothing to chart yet)")


class RetrainStep(Schema):
    at: str
    step: str
    message: str


class RetrainRecord(Schema):
    """The closed loop's progress on the alert that started it (``details.retrain``)."""

    model_config = ConfigDict(extra="allow")

    state: str = Field(
        description="submitted, skipped, failed, refused, awaiting_approval or promoted"
    )
    steps: list[RetrainStep]
    workflow_id: str | None = None
    run_id: str | None = None
    notebook: str | None = None
    pipeline: str | None = None
    pipeline_run_id: str | None = None
    alias: str | None = None
    champion_version: int | None = None
    challenger_version: int | None = None
    promoted_version: int | None = None
    gate: dict[str, Any] | None = None


class Alert(Schema):
    id: int
    monitor_id: str | None
    deployment_id: str | None
    deployment_name: str | None
    drift_result_id: int | None
    rule: str
    severity: str
    message: str
    details: dict[str, Any] = Field(
        description="the rule's values (column, value, threshold, occurrences, …), "
        "acknowledged_by/at, and retrain (a RetrainRecord) when the alert started retraining"
    )
    acknowledged: bool
    retrain_run_id: str | None
    delivered: dict[str, Any]
    created_at: str | None


class AlertPage(Page):
    items: list[Alert]


class RuleAlert(Schema):
    rule: str
    severity: str
    message: str
    details: dict[str, Any]


class ReportSummary(Schema):
    n_columns: int
    n_drifted: int
    drift_share: float | None = Field(description="null when the verdict is insufficient_data")
    dataset_drift: bool
    verdict: Literal["ok", "drift", "insufficient_data"] = Field(
        description="insufficient_data: fewer current rows than min_rows (nothing computed)"
    )
    min_rows: int | None = None
    drifted_columns: list[str]
    n_reference_rows: int
    n_current_rows: int
    reference_source: str
    model: dict[str, Any] | None
    ignored_columns: list[str]
    seconds: float | None
    window: dict[str, float | None] | None = None
    deployment: dict[str, str] | None = None


class HistoryPoint(Schema):
    """One window of the drift-share series (a stored result, or a rolling window)."""

    window_start: str | None
    window_end: str | None
    n_rows: int
    drift_share: float | None
    n_drifted: int
    drifted: bool
    threshold: float
    id: int | None = None
    monitor_id: str | None = None
    deployment_id: str | None = None
    model_name: str | None = None
    model_version: int | None = None
    drifted_columns: list[str] | None = None
    performance: Performance | None = None
    created_at: str | None = None


class Report(Schema):
    title: str
    summary: ReportSummary
    columns: list[ColumnDrift]
    alerts: list[RuleAlert]
    history: list[HistoryPoint]
    performance: Performance


class CheckOutcome(Schema):
    """What one check did: its stored result, the alerts it opened, the retraining started."""

    monitor_id: str
    status: str
    result: DriftResult | None
    alerts: list[Alert]
    n_rows: int | None = None
    message: str | None = None
    summary: ReportSummary | None = None
    performance: Performance | None = None
    repeated_alerts: int = 0
    delivered: dict[str, Any] = Field(default_factory=dict)
    retrain: RetrainRecord | None = None


__all__ = [
    "Alert",
    "AlertPage",
    "AlertsQuery",
    "Chart",
    "CheckOutcome",
    "DriftResult",
    "DriftResultDetail",
    "DriftResultPage",
    "EmptyBody",
    "Monitor",
    "MonitorCreate",
    "MonitorDeleted",
    "MonitorPage",
    "MonitorUpdate",
    "MonitorsQuery",
    "Report",
    "ReportRequest",
    "ResultsQuery",
]
