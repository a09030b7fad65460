"""Typed edges of the runs domain: REST request bodies, query strings and responses.

Request models refuse what the service would refuse later (and more: unknown fields, non-finite
numbers, integers outside 64 bits, deep nesting — see ``schemas.py``), so bad input is a 400
naming the field before anything is stored. The service still checks its own rules, because the
CLI, the magics and the notebook API call it directly. Response models describe exactly what
``records.run_to_dict`` / ``group_to_dict`` and ``parameters.describe_notebook`` return; the
OpenAPI document (and the frontend's types) are generated from them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from ..schemas import NonNegativeInt, Page, PositiveInt, QueryText, Schema
from . import ALL_STATES

RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled", "timed_out"]
assert get_args(RunStatus) == ALL_STATES
RunKind = Literal["batch", "interactive"]
SweepMode = Literal["max", "min"]
MAX_PAGE_SIZE = 500


def _string(value: Any) -> Any:
    if not isinstance(value, str):
        raise PydanticCustomError(
            "string_type", "must be a string, got {kind}", {"kind": type(value).__name__}
        )
    return value


def _parameters(value: Any) -> Any:
    if value is not None and not isinstance(value, dict):
        raise PydanticCustomError(
            "dict_type", "parameters must be an object mapping names to values"
        )
    return value


#: a string, or a 400 saying "must be a string"
Text = Annotated[str, BeforeValidator(_string)]
NonEmptyText = Annotated[str, BeforeValidator(_string), Field(min_length=1)]
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Parameters = Annotated[dict[str, Any] | None, BeforeValidator(_parameters)]
PageLimit = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)]
#: "2GiB", "512MB" or a number of bytes (checked by ``runs/limits.parse_memory``)
MemorySize = str | PositiveInt
CpuCount = Annotated[float, Field(gt=0, allow_inf_nan=False)]


# -- request bodies ---------------------------------------------------------------------------


class SubmitRun(Schema):
    """``POST /runs``: run a notebook headlessly with these parameters."""

    notebook_path: NonEmptyText = Field(description="Notebook path relative to the server root")
    parameters: Parameters = Field(
        None, description="Values for the notebook's parameters cell, by name"
    )
    kernel_name: NonEmptyText | None = Field(None, description="Default: the notebook's kernel")
    timeout: Seconds | None = Field(None, description="Seconds; default: the server's default")
    tags: list[Text] | None = None
    input_files: list[Text] | None = Field(
        None, description="Files under the root whose sha256 is recorded in the provenance"
    )
    memory: MemorySize | None = Field(
        None, description="The kernel's memory limit, e.g. '2GiB' (c.MLOps.run_memory_limit)"
    )
    cpus: CpuCount | None = Field(None, description="CPUs of the kernel; default c.MLOps.run_cpus")


class SweepRequest(Schema):
    """``POST /runs/sweeps``: one run per combination of ``grid``."""

    notebook_path: NonEmptyText
    grid: Annotated[dict[str, Annotated[list[Any], Field(min_length=1)]], Field(min_length=1)] = (
        Field(description="Parameter name → the values to try")
    )
    metric: NonEmptyText | None = Field(None, description="Metric that picks the best run")
    mode: SweepMode | None = Field(None, description="'max' (default) or 'min'")
    name: Text | None = None
    kernel_name: NonEmptyText | None = None
    timeout: Seconds | None = None
    tags: list[Text] | None = None
    input_files: list[Text] | None = None


# -- query strings ----------------------------------------------------------------------------


class QueryModel(Schema):
    model_config = ConfigDict(strict=False)


class PageQuery(QueryModel):
    offset: NonNegativeInt = 0
    limit: PageLimit = 50


class RunListQuery(PageQuery):
    """``GET /runs`` filters."""

    notebook: QueryText | None = Field(None, description="Substring of the notebook path")
    status: QueryText | None = Field(None, description="One state, or several separated by commas")
    group_id: QueryText | None = Field(None, description="Runs of this sweep")
    kind: RunKind | None = None
    tag: QueryText | None = None
    schedule_id: str | None = Field(None, max_length=32, description="A schedule's history")

    @field_validator("status")
    @classmethod
    def _known_states(cls, value: str | None) -> str | None:
        for state in (value or "").split(","):
            if state.strip() and state.strip() not in ALL_STATES:
                raise PydanticCustomError(
                    "unknown_status",
                    "unknown status {state!r} (one of: {known})",
                    {"state": state.strip(), "known": ", ".join(ALL_STATES)},
                )
        return value


class LiveQuery(QueryModel):
    after: NonNegativeInt = Field(0, description="The last seq seen: only cells written since")


class NotebookQuery(QueryModel):
    path: QueryText = Field(description="Notebook path relative to the server root")


class OutputQuery(QueryModel):
    download: bool = Field(False, description="Send as an attachment (a file download)")


# -- responses --------------------------------------------------------------------------------


class RunProgress(Schema):
    cells_done: int
    cells_total: int
    current_cell: int | None


class RunError(Schema):
    cell_index: int | None
    ename: str | None
    evalue: str | None


class Run(Schema):
    """A run as listed (``GET /runs``)."""

    id: str
    kind: RunKind
    notebook_path: str
    status: RunStatus
    status_reason: str | None
    parameters: dict[str, Any] = Field(
        description="In lists, long values are cut (marked '…[N more …]'); whole in the detail"
    )
    parameters_truncated: bool = Field(
        description="Some parameter value is cut here: GET /runs/{run_id} has it whole"
    )
    kernel_name: str | None
    timeout_seconds: float | None
    tags: list[str]
    input_files: list[str]
    trigger: str = Field(description="user, reproduce, sweep, drift, deploy or interactive")
    trigger_details: dict[str, Any]
    schedule_id: str | None = Field(description="The schedule whose fire started this run")
    reproduces_run_id: str | None
    group_id: str | None
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    duration_seconds: float | None
    executor: str
    host: str | None
    pid: int | None
    progress: RunProgress
    error: RunError | None
    input_notebook_sha256: str | None
    output_notebook_sha256: str | None
    output_notebook_path: str | None
    metrics: dict[str, float] = Field(description="The last logged value of each metric")
    memory_limit_bytes: int | None = Field(description="The kernel's memory limit")
    cpus: float | None = Field(description="CPUs the kernel may use")
    peak_memory_bytes: int | None = Field(description="Peak resident memory of the kernel")
    cpu_seconds: float | None = Field(description="CPU time the kernel used")


class MetricPoint(Schema):
    key: str
    value: float
    step: int
    logged_at: str


class RunArtifact(Schema):
    name: str
    sha256: str
    size: int
    kind: str
    created_at: str


class RunDetail(Run):
    """A run with everything recorded about it (``GET /runs/{run_id}``)."""

    provenance: dict[str, Any] = Field(
        description="Notebook sha256, parameters, kernel, python, packages, platform, git, inputs"
    )
    comparison: dict[str, Any] | None = Field(
        description="A reproduction's comparison with the original run"
    )
    metric_history: list[MetricPoint]
    logged_params: dict[str, str]
    outputs: dict[str, Any] = Field(
        description="Values declared with mlops.log_output (read by later pipeline steps)"
    )
    artifacts: list[RunArtifact]


class RunPage(Page):
    items: list[Run]


class NotebookParameter(Schema):
    name: str
    type: str
    declared_type: str | None
    default: Any = Field(description="The default as JSON when it is a literal, else its source")
    default_source: str
    help: str


class NotebookParameters(Schema):
    """``GET /notebooks/parameters``: what the run dialog builds its form from."""

    path: str
    has_parameters_cell: bool
    parameters_cell_index: int | None
    parameters: list[NotebookParameter]
    kernel_name: str | None
    kernel_display_name: str | None
    language: str | None
    hint: str | None


class SweepBest(Schema):
    run_id: str
    value: float
    parameters: dict[str, Any]


class SweepSummary(Schema):
    id: str
    name: str
    notebook_path: str
    grid: dict[str, list[Any]]
    metric: str | None
    mode: SweepMode
    created_by: str
    created_at: str
    status: Literal["running", "finished"]
    counts: dict[str, int]
    total: int
    best: SweepBest | None


class Sweep(SweepSummary):
    runs: list[Run]


class SweepPage(Page):
    items: list[SweepSummary]


class OutputLocation(Schema):
    run_id: str
    output_notebook_path: str


class LiveCell(Schema):
    index: int = Field(description="Position in the executed notebook (with injected cells)")
    cell_type: str
    source: str
    execution_count: int | None
    status: Literal["running", "completed", "failed"]
    injected: bool = Field(description="papermill's injected-parameters cell")
    outputs: list[dict[str, Any]] = Field(description="nbformat outputs: stream, error, data")
    seq: int = Field(description="The write that last changed this cell")


class LiveOutput(Schema):
    """``GET /runs/{run_id}/live``: the cells executed so far (changed after ``after``)."""

    run_id: str
    status: RunStatus
    cells_total: int
    seq: int = Field(description="Pass as ``after`` to get only what changes next")
    cells: list[LiveCell]
