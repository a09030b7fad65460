"""A deployment's configuration and its challenger split, as pydantic models.

``DeploymentConfig`` is what ``POST /deployments`` takes under ``config`` and what the
``deployments.config`` column holds (always the cleaned form :func:`clean_config` returns:
defaults filled in, nothing unknown). ``CanaryUpdate`` is the body of
``PUT /deployments/{id}/canary``. Bad input is an ``InvalidInput`` (400) naming the field —
``config.workers``, ``percent`` — and is never stored.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from ..errors import InvalidInput
from ..refs import parse_ref
from ..schemas import Schema, check_values

TARGETS = ("local", "docker", "kubernetes")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,62}$"
NAME_RE = re.compile(NAME_PATTERN)
MAX_VERSION = 10**9
MAX_MODELS = 100

Version = Annotated[int, Field(ge=1, le=MAX_VERSION, description="A registered version number")]
HOST_PATTERN = r"^(\*|\.?[A-Za-z0-9_]([A-Za-z0-9_.\-]{0,252})?)$"
ORIGIN_PATTERN = r"^(\*|https?://[A-Za-z0-9_.\-\[\]:]{1,260})$"
CategoryPolicy = Literal["accept", "reject"]
# Targets whose process listens on every interface of its container: API keys on by default.
KEYS_BY_DEFAULT = ("docker", "kubernetes")
Percent = Annotated[int, Field(ge=0, le=100, description="Share of requests, 0-100")]


class BatchingConfig(Schema):
    """Micro-batching of concurrent requests into one model call."""

    enabled: bool = Field(True, description="false: one model call per request")
    max_latency_ms: int = Field(5, ge=0, le=10_000, description="Longest wait for a batch")
    max_batch_rows: int = Field(256, ge=1, le=10**6, description="Rows per model call at most")


def _or_boolean(schema: dict[str, Any]) -> None:
    schema.setdefault("anyOf", []).insert(0, {"type": "boolean"})


class RestartPolicy(Schema):
    """What liveness does when the serving process dies: ``never`` (the deployment is
    ``failed``) or ``on-failure`` (restart it, at most ``max_restarts`` times, waiting
    ``backoff_seconds`` × 2^n before restart n+1)."""

    policy: Literal["never", "on-failure"] = "never"
    max_restarts: int = Field(3, ge=1, le=100)
    backoff_seconds: float = Field(1.0, ge=0, le=3600)


class CanarySplit(Schema):
    """``percent`` of the requests are answered by ``version`` (the challenger)."""

    version: Version
    percent: Percent = 10


class ShadowSplit(Schema):
    """Every request is mirrored to ``version``; its answers are only logged."""

    version: Version


class _SplitAndBatching(Schema):
    """How ``canary``, ``shadow`` and ``batching`` are read, for a deployment and for each model
    it hosts (the fields are declared by each, with their own descriptions)."""

    @field_validator("canary", "shadow", "batching", mode="before", check_fields=False)
    @classmethod
    def _empty_is_absent(cls, value: Any) -> Any:
        # ``{}`` has always meant "not set" here (the panel sends it to clear a split).
        return None if value == {} else value

    @field_validator("batching", mode="before", check_fields=False)
    @classmethod
    def _batching_flag(cls, value: Any) -> Any:
        return {"enabled": value} if isinstance(value, bool) else value


def _clean_batching(batching: BatchingConfig) -> dict[str, Any] | bool:
    return batching.model_dump(exclude={"enabled"}) if batching.enabled else False


class ModelEntry(_SplitAndBatching):
    """One model a multi-model deployment hosts, routed by its registered name
    (``/models/{name}/predict``), with its own challenger and batching."""

    model: str = Field(
        min_length=1,
        max_length=512,
        description="A model reference: churn@production (follows the alias) or churn/3",
    )
    canary: CanarySplit | None = None
    shadow: ShadowSplit | None = None
    batching: BatchingConfig | None = Field(
        None,
        description="This model's batching (default: the deployment's)",
        json_schema_extra=_or_boolean,
    )

    @field_validator("model")
    @classmethod
    def _a_reference(cls, value: str) -> str:
        try:
            return str(parse_ref(value))
        except InvalidInput as err:
            raise ValueError(err.message) from None

    @model_validator(mode="after")
    def _one_challenger(self) -> ModelEntry:
        if self.canary is not None and self.shadow is not None:
            raise ValueError("canary and shadow are exclusive: choose one")
        return self

    @property
    def name(self) -> str:
        """The registered model's name: the entry's route."""
        return parse_ref(self.model).name

    def clean(self) -> dict[str, Any]:
        clean = self.model_dump(exclude_none=True)
        if self.batching is not None:
            clean["batching"] = _clean_batching(self.batching)
        return clean


class DeploymentConfig(_SplitAndBatching):
    """How a deployment serves: batching, workers, challenger, extra columns, cluster sizing."""

    models: list[ModelEntry] | None = Field(
        None,
        min_length=1,
        max_length=MAX_MODELS,
        description='Several models in one process: ["churn@production", "fraud/3", '
        '{"model": ..., "canary"|"shadow"|"batching": ...}], each routed by its name '
        "(/models/{name}/predict); instead of the request's model",
    )
    max_loaded_models: int | None = Field(
        None,
        ge=1,
        le=MAX_MODELS,
        description="With models: how many stay loaded at most (least recently used unloaded, "
        "reloaded on demand; default: all)",
    )

    batching: BatchingConfig | None = Field(
        None,
        description="An object, or true (the defaults) / false (one model call per request)",
        json_schema_extra=_or_boolean,
    )
    workers: int | None = Field(None, ge=1, le=64, description="uvicorn worker processes")
    canary: CanarySplit | None = None
    shadow: ShadowSplit | None = None
    extra_columns: Literal["reject", "ignore"] | None = Field(
        None, description="What to do with input columns the signature does not know"
    )
    namespace: str | None = Field(
        None, pattern=NAME_PATTERN, description="Kubernetes namespace (kubernetes target)"
    )
    replicas: int | None = Field(None, ge=1, le=100, description="Pods (kubernetes target)")
    resources: dict[str, Any] | None = Field(
        None, description="Kubernetes resources object (requests/limits)"
    )
    restart_policy: RestartPolicy | None = Field(
        None,
        description='"never" (default), "on-failure", or {"policy", "max_restarts", '
        '"backoff_seconds"}',
    )
    api_keys: bool | None = Field(
        None,
        description="Require Authorization: Bearer <key> on /predict, /feedback, /metadata "
        "(default: on for docker/kubernetes, off for local)",
    )
    allowed_hosts: list[Annotated[str, Field(pattern=HOST_PATTERN)]] | None = Field(
        None, max_length=100, description="Host names the endpoint answers besides loopback/IPs"
    )
    allowed_origins: list[Annotated[str, Field(pattern=ORIGIN_PATTERN)]] | None = Field(
        None, max_length=100, description="Browser origins allowed to call it (CORS), or '*'"
    )
    unknown_categories: CategoryPolicy | dict[str, CategoryPolicy] | None = Field(
        None,
        description="A category the signature does not list: accept (counted, flagged in the "
        'log; default) or reject (422) — for every column or per column {"city": "reject"}',
    )
    max_string_length: int | None = Field(
        None, ge=1, le=10**7, description="Longest string value in a request (default 65536)"
    )
    monitor: bool | None = Field(
        None,
        description="false: no drift monitor is created with the deployment (default: one with "
        "the default rules, against the served version's reference profile)",
    )

    @field_validator("models", mode="before")
    @classmethod
    def _references(cls, value: Any) -> Any:
        if isinstance(value, list):  # "churn@production" is {"model": "churn@production"}
            return [{"model": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator("models")
    @classmethod
    def _one_entry_per_model(cls, value: list[ModelEntry] | None) -> list[ModelEntry] | None:
        seen: dict[str, int] = {}
        for index, entry in enumerate(value or ()):
            if entry.name in seen:
                raise ValueError(
                    f"models[{index}]: model {entry.name!r} is already models[{seen[entry.name]}] "
                    "(one entry per model: a second version is a canary or shadow)"
                )
            seen[entry.name] = index
        return value

    @field_validator("restart_policy", mode="before")
    @classmethod
    def _policy_name(cls, value: Any) -> Any:
        return {"policy": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_challenger(self) -> DeploymentConfig:
        if self.canary is not None and self.shadow is not None:
            raise ValueError("config.canary and config.shadow are exclusive: choose one")
        return self

    def clean(self) -> dict[str, Any]:
        """The stored form: unset parts left out, ``batching`` either ``false`` or both limits."""
        clean = self.model_dump(exclude_none=True)
        if self.batching is not None:
            clean["batching"] = _clean_batching(self.batching)
        if self.models is not None:
            clean["models"] = [entry.clean() for entry in self.models]
        return clean

    def check_models(self) -> None:
        """What a multi-model config cannot also hold; a 400 naming the field."""
        if self.models is None:
            if self.max_loaded_models is not None:
                raise InvalidInput(
                    "config.max_loaded_models needs config.models (several models)",
                    details={"field": "config.max_loaded_models"},
                )
            return
        for key in ("canary", "shadow"):
            if getattr(self, key) is not None:
                raise InvalidInput(
                    f"config.{key} names no model in a multi-model deployment: give it per "
                    f"entry, config.models[i].{key}",
                    details={"field": f"config.{key}"},
                )


class CanaryUpdate(Schema):
    """``{"version": N, "percent": P}`` (canary), ``{"version": N, "shadow": true}`` (mirror),
    ``{}`` or ``"percent": 0`` (remove the challenger)."""

    version: Version | None = None
    percent: Percent | None = None
    shadow: bool = False

    @model_validator(mode="after")
    def _complete(self) -> CanaryUpdate:
        if self.shadow and self.percent:
            raise ValueError("choose 'percent' (a canary) or 'shadow': true, not both")
        splits = self.shadow or bool(self.percent)
        if splits and self.version is None:
            raise ValueError("'version' (the challenger) is required")
        if self.version is not None and not self.shadow and self.percent is None:
            raise ValueError(
                "give 'percent' (1-100) or 'shadow': true with 'version'; send {} to remove "
                "the challenger"
            )
        return self

    def apply(self, config: dict[str, Any]) -> dict[str, Any]:
        """``config`` (a stored deployment config) with this split instead of its own."""
        out = {k: v for k, v in config.items() if k not in ("canary", "shadow")}
        if self.shadow:
            out["shadow"] = {"version": self.version}
        elif self.percent:
            out["canary"] = {"version": self.version, "percent": self.percent}
        return out


def parse_nested(model: type[Schema], data: Any, at: str) -> Any:
    """``data`` as ``model``, every error named from ``at`` (``config.workers``); an unknown
    key is listed against the keys of the object it was found in."""
    check_values(data, at)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise _named_error(err, model, at) from None


def _named_error(err: ValidationError, model: type[Schema], at: str) -> InvalidInput:
    errors = err.errors(include_url=False, include_context=False, include_input=False)
    first = errors[0] if errors else {"loc": (), "msg": "invalid value", "type": ""}
    loc = tuple(str(part) for part in first.get("loc") or ())
    field = ".".join((at, *loc))
    kind = first.get("type", "")
    details = {
        "field": field,
        "errors": [
            {"field": ".".join((at, *(str(p) for p in e.get("loc") or ()))), "message": e["msg"]}
            for e in errors
        ],
    }
    if kind == "extra_forbidden":
        owner = ".".join((at, *loc[:-1]))
        known = ", ".join(_known_keys(model, loc[:-1]))
        return InvalidInput(
            f"unknown {owner} key {loc[-1]!r}" + (f" (known: {known})" if known else ""),
            details=details,
        )
    if kind == "missing":
        return InvalidInput(f"{field!r} is required", details=details)
    if kind in ("model_type", "dict_type"):
        return InvalidInput(f"{field} must be a JSON object", details=details)
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return InvalidInput(f"{field!r}: {message}", details=details)


def _known_keys(model: type[Schema], path: tuple[str, ...]) -> list[str]:
    """The fields of the (nested) model at ``path``, for "unknown key" messages."""
    current: Any = model
    for part in path:
        info = current.model_fields.get(part)
        candidates = getattr(info.annotation, "__args__", (info.annotation,)) if info else ()
        current = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, Schema)), None
        )
        if current is None:
            return []
    return sorted(current.model_fields)


def clean_config(config: Any) -> dict[str, Any]:
    """A create/canary ``config`` object checked and in its stored form; 400 naming the field."""
    if config is None:
        return {}
    if not isinstance(config, DeploymentConfig):
        config = parse_nested(DeploymentConfig, config, "config")
    config.check_models()
    return config.clean()


def parse_canary(canary: Any) -> CanaryUpdate:
    """The body of a canary change (``None``: remove the challenger); 400 naming the field."""
    if canary is None:
        return CanaryUpdate()
    if isinstance(canary, CanaryUpdate):
        return canary
    if not isinstance(canary, dict):
        raise InvalidInput(
            'canary must be {"version": N, "percent": P}', details={"field": "canary"}
        )
    return parse_nested(CanaryUpdate, canary, "canary")
