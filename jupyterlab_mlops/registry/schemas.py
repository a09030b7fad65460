"""The registry's typed edges: request bodies, query strings, the gate config and responses.

Handlers parse every body and query string with these models (bad input is a 400 whose message
and ``details.field`` name the field; nothing is stored), and the OpenAPI document of
``/mlops/api/models`` is generated from them. The response models describe exactly the dicts
:mod:`.records`, :mod:`.lineage`, :mod:`.gate` and ``store/audit.py`` build; they are not
applied at run time, and the tests validate real responses against them.

Fields whose messages users already know (``'force' must be true or false``, ``tags must be an
object``, ``unknown operator``, …) run the registry's own checks as validators, which raise the
same :class:`~jupyterlab_mlops.errors.InvalidInput` the Python API raises.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, ValidationInfo, model_validator

from ..errors import InvalidInput
from ..refs import check_alias
from ..schemas import INT64_MAX, FiniteFloat, NonNegativeInt, Page, QueryText, Schema
from .values import check_metrics, check_params, check_tags

# Same bound as the REST layer's page size (handlers/base.py MAX_PAGE_SIZE).
MAX_PAGE_SIZE = 500
OPERATOR_NAMES = (">=", ">", "<=", "<", "==")
Operator = Literal[">=", ">", "<=", "<", "=="]


def _named(error: InvalidInput, field: str) -> InvalidInput:
    if "field" not in error.details:
        error.details["field"] = field
    return error


def _checked(check: Callable[[Any], Any]) -> BeforeValidator:
    """A registry check as a validator: its ``InvalidInput``, with the field named."""

    def validate(value: Any, info: ValidationInfo) -> Any:
        try:
            return check(value)
        except InvalidInput as err:
            raise _named(err, info.field_name or "body") from None

    return BeforeValidator(validate)


def _version_number(value: Any, info: ValidationInfo) -> int:
    field = info.field_name or "version"
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{field!r} must be an integer, got {value!r}", details={"field": field})
    if not 1 <= value <= INT64_MAX:
        raise InvalidInput(
            f"{field!r} must be a positive integer (at most {INT64_MAX}), got {value}",
            details={"field": field},
        )
    return value


def _flag(value: Any, info: ValidationInfo) -> bool:
    if not isinstance(value, bool):
        field = info.field_name or "body"
        raise InvalidInput(
            f"{field!r} must be true or false, got {value!r}", details={"field": field}
        )
    return value


def _text(value: Any, info: ValidationInfo) -> str | None:
    if value is not None and not isinstance(value, str):
        field = info.field_name or "body"
        raise InvalidInput(
            f"{field!r} must be a string, got {type(value).__name__}", details={"field": field}
        )
    return value


def _required_text(value: Any, info: ValidationInfo) -> str:
    if value is None:
        field = info.field_name or "body"
        raise InvalidInput(f"{field!r} is required", details={"field": field})
    return _text(value, info)


def _text_or_empty(value: Any, info: ValidationInfo) -> str:
    return _text(value, info) or ""


VersionNumber = Annotated[int, Field(ge=1, le=INT64_MAX), BeforeValidator(_version_number)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Text = Annotated[str, BeforeValidator(_text)]
RequiredText = Annotated[str, BeforeValidator(_required_text)]
TextOrEmpty = Annotated[str, BeforeValidator(_text_or_empty)]
Reason = Annotated[TextOrEmpty, Field(description="Why (kept in the audit log)")]
AliasName = Annotated[str, _checked(check_alias)]
Metrics = Annotated[dict[str, float], _checked(check_metrics)]
Params = Annotated[dict[str, Any], _checked(check_params)]
Tags = Annotated[dict[str, str], _checked(check_tags)]


# -- the quality gate -------------------------------------------------------------------------


class GateCompare(Schema):
    """Champion/challenger: the candidate must be at least as good as the holder of ``alias``
    (default: the alias being set) on ``metric``, by ``min_delta``."""

    metric: str
    mode: Literal["max", "min"] = "max"
    alias: AliasName | None = None
    min_delta: FiniteFloat = 0.0


class GateConfig(Schema):
    """A model's quality gate (``{}``: none). A threshold given as a bare number means ``>=``;
    ``aliases`` limits the gate to promotions to those aliases (absent: every alias)."""

    thresholds: dict[str, dict[Operator, FiniteFloat]] = Field(default_factory=dict)
    compare: GateCompare | None = None
    aliases: list[AliasName] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: Any) -> Any:
        if data is None:
            return {}
        if isinstance(data, GateConfig):
            return data
        if not isinstance(data, dict):
            raise InvalidInput("the gate must be a JSON object", details={"field": "gate"})
        unknown = sorted(set(data) - set(cls.model_fields))
        if unknown:
            raise InvalidInput(
                f"unknown gate key(s): {', '.join(unknown)}; expected {sorted(cls.model_fields)}",
                details={"field": f"gate.{unknown[0]}"},
            )
        data = dict(data)
        thresholds = data.get("thresholds") or {}
        if not isinstance(thresholds, dict):
            raise InvalidInput(
                "gate.thresholds must be an object {metric: {op: value}}",
                details={"field": "gate.thresholds"},
            )
        rules: dict[str, Any] = {}
        for metric, rule in thresholds.items():
            field = f"gate.thresholds.{metric}"
            if not isinstance(metric, str) or not metric:
                raise InvalidInput(
                    "gate.thresholds keys must be metric names", details={"field": field}
                )
            if not isinstance(rule, dict):  # a bare number means "at least"
                rule = {">=": rule}
            if not rule:
                raise InvalidInput(f"{field} is empty", details={"field": field})
            for op in rule:
                if op not in OPERATOR_NAMES:
                    raise InvalidInput(
                        f"{field}: unknown operator {op!r}; use one of {', '.join(OPERATOR_NAMES)}",
                        details={"field": field},
                    )
            rules[metric] = rule
        data["thresholds"] = rules
        if not data.get("compare"):  # {} or null: no comparison
            data["compare"] = None
        return data

    def stored(self) -> dict[str, Any]:
        """The canonical JSON kept on the model (what ``evaluate_gate`` reads)."""
        result: dict[str, Any] = {}
        if self.thresholds:
            result["thresholds"] = {
                metric: {op: float(value) for op, value in rule.items()}
                for metric, rule in self.thresholds.items()
            }
        if self.compare is not None:
            entry: dict[str, Any] = {"metric": self.compare.metric, "mode": self.compare.mode}
            if self.compare.alias is not None:
                entry["alias"] = self.compare.alias
            entry["min_delta"] = float(self.compare.min_delta)
            result["compare"] = entry
        if self.aliases is not None:
            result["aliases"] = list(self.aliases)
        return result


# -- request bodies ---------------------------------------------------------------------------


class SetAliasRequest(Schema):
    """Point an alias at a version (a promotion, subject to the quality gate)."""

    version: VersionNumber
    reason: Reason = ""
    force: Flag = Field(
        False, description="Promote past a failing gate (needs a reason; audited as forced)"
    )


class ApprovalDecisionRequest(Schema):
    """Approve or reject a pending promotion."""

    reason: Reason = ""
    override: Flag = Field(
        False, description="Approve although the gate failed (needs a reason; audited)"
    )


class ReasonRequest(Schema):
    """Rollback, archive and unarchive take only a reason."""

    reason: Reason = ""


class RegisterVersionRequest(Schema):
    """Register a model file a run produced as the next version."""

    run_id: RequiredText
    artifact: RequiredText = Field(description="Name or sha256 of one of the run's artifacts")
    sample_artifact: Text | None = Field(
        None, description="A CSV/Parquet/JSON artifact of the run: signature and profile"
    )
    target: Text | None = Field(None, description="The label column of the sample")
    metrics: Metrics | None = Field(None, description="Override the run's logged metrics")
    params: Params | None = Field(None, description="Override the run's parameters")
    tags: Tags | None = None
    description: TextOrEmpty = ""
    trust: Flag = Field(False, description="Allow pickles and skops types outside the allow-list")


class ModelUpdateRequest(Schema):
    description: Text | None = None
    tags: Tags | None = Field(None, description="Replaces the model's tags")


class GateUpdateRequest(Schema):
    """``{"gate": {...}, "reason"?: str}``; a bare gate object is accepted too."""

    gate: GateConfig | None = None
    reason: Reason = ""

    @model_validator(mode="before")
    @classmethod
    def _bare_gate(cls, data: Any) -> Any:
        if isinstance(data, dict) and "gate" not in data:
            return {"gate": data}
        return data


# -- query strings ----------------------------------------------------------------------------


class Query(Schema):
    model_config = ConfigDict(strict=False)


class PageQuery(Query):
    offset: NonNegativeInt = 0
    limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class ModelListQuery(PageQuery):
    q: QueryText | None = Field(None, description="Substring of the name or description")
    tag: QueryText | None = Field(None, description="key or key=value, on the model or any version")
    alias: QueryText | None = Field(None, description="Only models that have this alias set")


class VersionListQuery(PageQuery):
    archived: bool | None = None
    order: Literal["asc", "desc"] = "desc"


class AuditQuery(PageQuery):
    alias: QueryText | None = None
    action: QueryText | None = None


class ApprovalListQuery(PageQuery):
    status: Literal["pending", "approved", "rejected", "stale"] | None = None
    model: QueryText | None = Field(None, description="Only this model's requests")


class AuditLogQuery(PageQuery):
    since: datetime | None = Field(
        None, description="ISO date or time (UTC unless it says): entries from then on"
    )
    model: QueryText | None = Field(None, description="Only this model's entries")


class DeleteAliasQuery(Query):
    reason: QueryText = ""


# -- responses --------------------------------------------------------------------------------


class SignatureColumn(Schema):
    name: str
    dtype: str
    kind: str
    nullable: bool
    categories: list[Any] | None = None


class SignatureOutput(Schema):
    task: str
    dtype: str | None = None
    n_outputs: int | None = None
    classes: list[Any] | None = None


class Signature(Schema):
    """Input columns and output type (``{}`` when nothing is known)."""

    input_type: Literal["dataframe", "ndarray"] | None = None
    inputs: list[SignatureColumn] = Field(default_factory=list)
    output: SignatureOutput | None = None
    inferred_from: str | None = None


class Environment(Schema):
    """Where the model was serialised (or, in lineage, where its run executed)."""

    python: dict[str, Any] | None = None
    packages: dict[str, str] | None = None
    platform: dict[str, Any] | None = None
    kernel: dict[str, Any] | None = None


class ModelVersion(Schema):
    """A version summary (lists): no signature, profile or environment."""

    name: str
    version: int
    artifact_sha256: str
    artifact_size: int | None
    serialization: str
    flavour: str | None
    model_class: str | None
    metrics: dict[str, float]
    params: dict[str, Any]
    tags: dict[str, str]
    description: str | None
    run_id: str | None
    archived: bool
    aliases: list[str]
    created_by: str | None
    created_at: str | None


class ModelVersionDetail(ModelVersion):
    trusted_types: list[str]
    signature: Signature
    profile: dict[str, Any] = Field(description="The drift engine's reference profile")
    environment: Environment


class Model(Schema):
    name: str
    description: str | None
    tags: dict[str, str]
    gate: GateConfig
    last_version: int
    version_count: int
    latest_version: int | None
    latest: ModelVersion | None
    aliases: dict[str, int]
    created_by: str | None
    created_at: str | None
    updated_at: str | None


class ModelPage(Page):
    items: list[Model]


class VersionPage(Page):
    items: list[ModelVersion]


class Alias(Schema):
    alias: str
    version: int
    updated_at: str | None


class AliasList(Schema):
    items: list[Alias]


class GateCheck(Schema):
    kind: Literal["threshold", "compare"]
    metric: str
    value: float | None
    passed: bool
    message: str
    op: Operator | None = None
    threshold: float | None = None
    mode: Literal["max", "min"] | None = None
    alias: str | None = None
    min_delta: float | None = None
    holder_version: int | None = None
    holder_value: float | None = None


class GateDecision(Schema):
    applies: bool
    passed: bool
    checks: list[GateCheck]


class AliasMove(Schema):
    """A rollback or deletion: where the alias points now (None: deleted) and before."""

    name: str
    alias: str
    version: int | None
    previous_version: int | None


class Promotion(AliasMove):
    changed: bool
    forced: bool
    gate: GateDecision | None


class Gate(Schema):
    gate: GateConfig


class VersionMetrics(Schema):
    version: int
    metrics: dict[str, Any]


class MetricComparison(Schema):
    candidate: VersionMetrics | None
    current: VersionMetrics | None


class Approval(Schema):
    """A promotion to a protected alias waiting for (or decided by) an approver."""

    id: str
    model: str
    alias: str
    version: int
    from_version: int | None
    status: Literal["pending", "approved", "rejected", "stale"]
    requested_by: str
    reason: str
    gate: GateDecision | None
    comparison: MetricComparison | None
    decided_by: str | None
    decision_reason: str
    overridden: bool
    created_at: str | None
    decided_at: str | None


class ApprovalResponse(Schema):
    """202: the promotion waits for an approver."""

    approval: Approval


class ApprovalPage(Page):
    items: list[Approval]


class AuditEntry(Schema):
    id: int
    model_name: str
    action: str
    alias: str | None
    from_version: int | None
    to_version: int | None
    reason: str | None
    forced: bool
    details: dict[str, Any]
    user: str | None
    created_at: str | None


class AuditPage(Page):
    items: list[AuditEntry]


class LineageModel(Schema):
    name: str
    version: int
    aliases: list[str]
    artifact_sha256: str
    serialization: str
    flavour: str | None
    model_class: str | None
    created_by: str | None
    created_at: str | None


class LineageRun(Schema):
    id: str
    kind: str | None
    status: str | None
    trigger: str | None
    created_by: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    output_notebook_path: str | None
    output_notebook_sha256: str | None
    user: str | None


class LineageNotebook(Schema):
    path: str | None
    sha256: str | None


class GitInfo(Schema):
    root: str | None = None
    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None


class Lineage(Schema):
    """version → run → notebook → parameters → inputs → git → environment."""

    model: LineageModel
    run: LineageRun | None
    notebook: LineageNotebook | None
    parameters: dict[str, Any]
    inputs: dict[str, str | None] = Field(description="Input file → its sha256")
    git: GitInfo | None
    environment: Environment
    missing: list[str] = Field(description="Links of the chain that are not known")
