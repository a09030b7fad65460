"""A monitor's configuration, as one pydantic model: what it watches and how it reacts.

``window`` (the last N predictions or the last S seconds), ``rolling`` (the drift-share series
the panel charts), ``methods`` (one drift method for every column or one per column — unknown
method names are refused here, at creation, instead of failing every later check), ``columns``,
``rules`` (``rules.py``), ``channels`` (webhook, e-mail), ``retrain`` (the notebook the closed
loop runs, its parameters, the alias it may move and the gate's window), ``min_rows`` and
``min_labelled``. Every number must be finite (a monitor stored with ``Infinity`` used to break
``GET /drift/monitors``); a mistake is a 400 whose message and ``details.field`` name the field.

:func:`normalise_config` turns what a caller sent (a dict, or an already parsed
:class:`MonitorConfig`) into the dict stored on the monitor row, defaults filled in.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from ..errors import InvalidInput
from ..refs import check_alias
from ..schemas import INT64_MAX, FiniteFloat, Schema, check_values, validation_error
from . import channels
from . import rules as drift_rules
from .methods import METHODS, method_named

DEFAULT_WINDOW = {"last_n": 1000}
DEFAULT_ROLLING = {"size": 500, "count": 12}
MAX_ROLLING_WINDOWS = 200
MAX_ROLLING_SIZE = 1_000_000
# A check interval beyond ten years is a typo; larger values overflow date arithmetic.
MAX_INTERVAL_SECONDS = 10 * 365 * 86400.0


def config_error(message: str) -> PydanticCustomError:
    """A validation error whose message is ``message`` as written (braces included)."""
    return PydanticCustomError("drift_config", "{message}", {"message": message})


def _integer(value: Any, what: str, minimum: int = 1, maximum: int = INT64_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise config_error(f"{what} must be an integer >= {minimum}, got {value!r}")
    if value > maximum:
        raise config_error(f"{what} must be at most {maximum}, got {value!r}")
    return value


def _positive_number(value: Any, what: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not value > 0
    ):
        raise config_error(f"{what} must be a finite positive number, got {value!r}")
    return float(value)


def _unknown_keys(value: Any, allowed: set[str], message: str) -> None:
    if not isinstance(value, Mapping) or set(value) - allowed:
        raise config_error(message)


class Window(Schema):
    """The predictions one check looks at: ``{"last_n": N}`` or ``{"seconds": S}``."""

    last_n: int | None = Field(None, ge=1, le=INT64_MAX)
    seconds: FiniteFloat | None = Field(None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _one_of(cls, value: Any) -> Any:
        if (
            not isinstance(value, Mapping)
            or len(value) != 1
            or not ({"last_n", "seconds"} & set(value))
        ):
            raise config_error("window must be {'last_n': N} or {'seconds': S}")
        return value

    @field_validator("last_n", mode="before")
    @classmethod
    def _last_n(cls, value: Any) -> Any:
        return None if value is None else _integer(value, "window.last_n")

    @field_validator("seconds", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        return None if value is None else _positive_number(value, "window.seconds")

    def stored(self) -> dict[str, Any]:
        return {"last_n": self.last_n} if self.last_n is not None else {"seconds": self.seconds}


class Rolling(Schema):
    """The drift-share series: the last ``count`` windows of ``size`` predictions."""

    size: int = Field(DEFAULT_ROLLING["size"], ge=2, le=MAX_ROLLING_SIZE)
    count: int = Field(DEFAULT_ROLLING["count"], ge=1, le=MAX_ROLLING_WINDOWS)

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, value: Any) -> Any:
        _unknown_keys(
            value, {"size", "count"}, "rolling must be {'size': rows per window, 'count': windows}"
        )
        return value

    @field_validator("size", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        return _integer(value, "rolling.size", 2, MAX_ROLLING_SIZE)

    @field_validator("count", mode="before")
    @classmethod
    def _count(cls, value: Any) -> Any:
        value = _integer(value, "rolling.count")
        if value > MAX_ROLLING_WINDOWS:
            raise config_error(f"rolling.count must be at most {MAX_ROLLING_WINDOWS}")
        return value


class MethodChoice(Schema):
    """One column's method and, optionally, its own threshold."""

    method: str | None = None
    threshold: FiniteFloat | None = None

    @field_validator("method")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        return None if value is None else _method_name(value)


def _method_name(name: Any) -> str:
    try:
        return method_named(name).name
    except InvalidInput as err:
        raise config_error(err.message) from None


Methods = str | dict[str, str | MethodChoice] | None


def parse_methods(value: Any) -> Any:
    """``methods`` as given, with a JSON object in a string decoded and every name checked."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise config_error(f"drift methods are not valid JSON: {err}") from None
    if value is None:
        return None
    if isinstance(value, str):
        _method_name(value)
        return value
    if not isinstance(value, Mapping):
        raise config_error("methods must be null, a method name or {column: method}")
    for column, spec in value.items():
        if isinstance(spec, str):
            _method_name(spec)
        elif isinstance(spec, Mapping):
            if spec.get("method") is not None:
                _method_name(spec["method"])
        else:
            raise config_error(
                f"methods[{column!r}] must be a method name or {{'method', 'threshold'}}"
            )
    return dict(value)


def plain_methods(methods: Any) -> Any:
    """Parsed ``methods`` back to plain JSON values (what ``resolve_methods`` reads)."""
    if isinstance(methods, dict):
        return {
            column: spec.model_dump(exclude_none=True) if isinstance(spec, MethodChoice) else spec
            for column, spec in methods.items()
        }
    return methods


class Rules(Schema):
    """Alert thresholds (``rules.py``); ``null`` switches a rule off."""

    drift_share: FiniteFloat | None = Field(drift_rules.DEFAULT_RULES["drift_share"], ge=0)
    mean_shift_pct: FiniteFloat | None = Field(drift_rules.DEFAULT_RULES["mean_shift_pct"], ge=0)
    missing_rate: FiniteFloat | None = Field(drift_rules.DEFAULT_RULES["missing_rate"], ge=0)
    performance_drop: FiniteFloat | None = Field(
        drift_rules.DEFAULT_RULES["performance_drop"], ge=0
    )
    estimated_performance_drop: FiniteFloat | None = Field(
        drift_rules.DEFAULT_RULES["estimated_performance_drop"],
        ge=0,
        description="relative drop of a CBPE-estimated metric (no labels) vs the reference",
    )
    features: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _known(cls, value: Any) -> Any:
        try:
            return drift_rules.normalise_rules(value)
        except InvalidInput as err:
            raise config_error(err.message) from None


class Webhook(Schema):
    url: str

    @field_validator("url", mode="before")
    @classmethod
    def _http(cls, value: Any) -> str:
        try:
            return channels.check_webhook_url(value)
        except InvalidInput as err:
            raise config_error(err.message) from None


class Email(Schema):
    to: list[str]
    host: str | None = Field(None, min_length=1)
    port: int | None = Field(None, ge=1, le=65535)

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, value: Any) -> Any:
        _unknown_keys(
            value,
            {"to", "host", "port"},
            "channels.email must be {'to': [...], 'host'?: …, 'port'?: …}",
        )
        return value

    @field_validator("to", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> list[str]:
        try:
            return channels.check_addresses(value)
        except InvalidInput as err:
            raise config_error(err.message) from None

    @field_validator("port", mode="before")
    @classmethod
    def _port(cls, value: Any) -> Any:
        return None if value is None else _integer(value, "channels.email.port", 1, 65535)


class Channels(Schema):
    """Where alerts go besides the log and the panel (and ``c.MLOps.alert_webhook_url``)."""

    webhook: Webhook | None = None
    email: Email | None = None

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, value: Any) -> Any:
        if value is None:
            return {}
        _unknown_keys(
            value,
            {"webhook", "email"},
            "channels must be {'webhook': {'url': …}, 'email': {'to': […]}}",
        )
        value = {k: v for k, v in value.items() if v}
        if isinstance(value.get("webhook"), str):
            value["webhook"] = {"url": value["webhook"]}
        return value

    def stored(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if self.webhook is not None:
            result["webhook"] = {"url": self.webhook.url}
        if self.email is not None:
            result["email"] = self.email.model_dump(exclude_none=True)
        return result


class Retrain(Schema):
    """The closed loop: the notebook (or pipeline) run on a new alert, and how its challenger
    is judged."""

    notebook: str | None = Field(
        None, description="path of the training notebook, relative to the root"
    )
    pipeline: str | None = Field(
        None,
        description="path of a *.pipeline.yaml to run instead of a notebook; the challenger is "
        "the version one of its steps registered",
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="papermill parameters; ${prediction_log}, ${deployment_id}, "
        "${deployment_name}, ${model_name}, ${model_version} and ${monitor_id} are substituted",
    )
    alias: str | None = Field(None, description="alias to move (default: the deployment's)")
    min_labelled: int = Field(20, ge=1, le=INT64_MAX)
    gate_window: int = Field(1000, ge=1, le=INT64_MAX)
    cooldown_seconds: FiniteFloat = Field(3600.0, ge=0)
    timeout: FiniteFloat | None = Field(None, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise config_error("retrain must be an object {'notebook': path, 'parameters': {...}}")
        unknown = set(value) - set(cls.model_fields)
        if unknown:
            raise config_error(f"unknown retrain key(s): {sorted(unknown)}")
        if (value.get("notebook") is None) == (value.get("pipeline") is None):
            raise config_error("retrain needs exactly one of 'notebook' and 'pipeline'")
        value = dict(value)
        if value.get("parameters") is None:
            value.pop("parameters", None)
        return value

    @field_validator("notebook", mode="before")
    @classmethod
    def _notebook(cls, value: Any) -> Any:
        if value is not None and (not isinstance(value, str) or not value.endswith(".ipynb")):
            raise config_error("retrain.notebook must be the path of a .ipynb notebook")
        return value

    @field_validator("pipeline", mode="before")
    @classmethod
    def _pipeline(cls, value: Any) -> Any:
        if value is not None and (
            not isinstance(value, str) or not value.endswith(".pipeline.yaml")
        ):
            raise config_error("retrain.pipeline must be the path of a .pipeline.yaml file")
        return value

    @field_validator("alias", mode="before")
    @classmethod
    def _alias(cls, value: Any) -> Any:
        if value is None:
            return None
        try:
            return check_alias(value)
        except InvalidInput as err:
            raise config_error(err.message) from None

    @field_validator("min_labelled", "gate_window", mode="before")
    @classmethod
    def _counts(cls, value: Any, info) -> Any:
        return _integer(value, f"retrain.{info.field_name}")

    @field_validator("cooldown_seconds", mode="before")
    @classmethod
    def _cooldown(cls, value: Any) -> Any:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            raise config_error(
                f"retrain.cooldown_seconds must be a finite number >= 0, got {value!r}"
            )
        return float(value)

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> Any:
        return None if value is None else _positive_number(value, "retrain.timeout")


class MonitorConfig(Schema):
    """Everything about a monitor but its deployment, interval and on/off switch."""

    window: Window = Field(default_factory=lambda: Window(**DEFAULT_WINDOW))
    rolling: Rolling = Field(default_factory=Rolling)
    methods: Methods = Field(
        None,
        description="null (the defaults), one method for every column, or {column: method | "
        f"{{method, threshold}}}}; methods: {', '.join(sorted(METHODS))}",
    )
    columns: list[str] | None = None
    rules: Rules = Field(default_factory=lambda: Rules.model_validate({}))
    channels: Channels = Field(default_factory=Channels)
    retrain: Retrain | None = None
    min_rows: int = Field(30, ge=1, le=INT64_MAX)
    min_labelled: int = Field(20, ge=1, le=INT64_MAX)

    @model_validator(mode="before")
    @classmethod
    def _shape(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise config_error("monitor config must be a JSON object")
        allowed = set(cls.model_fields)
        unknown = set(value) - allowed
        if unknown:
            expected = sorted(allowed - {"last_error"})
            raise config_error(
                f"unknown monitor config key(s): {sorted(unknown)}; expected {expected}"
            )
        value = dict(value)
        for key in ("window", "rolling", "retrain"):  # empty means "the default"
            if not value.get(key):
                value.pop(key, None)
        if value.get("rules") is None:
            value.pop("rules", None)
        return value

    @field_validator("methods", mode="before")
    @classmethod
    def _methods(cls, value: Any) -> Any:
        return parse_methods(value)

    @field_validator("min_rows", "min_labelled", mode="before")
    @classmethod
    def _minimums(cls, value: Any, info) -> Any:
        return _integer(value, info.field_name)

    def stored(self) -> dict[str, Any]:
        """The dict kept on the monitor row (and returned as ``config``)."""
        return {
            "window": self.window.stored(),
            "rolling": self.rolling.model_dump(),
            "methods": plain_methods(self.methods),
            "columns": self.columns,
            "rules": self.rules.model_dump(),
            "channels": self.channels.stored(),
            "retrain": self.retrain.model_dump() if self.retrain is not None else None,
            "min_rows": self.min_rows,
            "min_labelled": self.min_labelled,
        }


class StoredMonitorConfig(MonitorConfig):
    """A monitor's config as the API returns it: the last check's error, if any, included."""

    last_error: str | None = None


def parse_config(config: Any, *, field: str = "config") -> MonitorConfig:
    """``config`` as a :class:`MonitorConfig`, or a 400 whose ``details.field`` is the path of
    the bad value under ``field`` (``config.window.last_n``)."""
    if isinstance(config, MonitorConfig):
        return config
    data = {} if config is None else config
    check_values(data, field)
    try:
        return MonitorConfig.model_validate(data)
    except ValidationError as err:
        invalid = validation_error(err, MonitorConfig)
        first = err.errors(include_url=False)[0]
        path = ".".join([field, *(str(part) for part in first.get("loc") or ())])
        message = first["msg"] if first["type"] == "drift_config" else invalid.message
        raise InvalidInput(message, details={**invalid.details, "field": path}) from None


def normalise_config(config: Any) -> dict[str, Any]:
    """Validate a monitor config (a 400 naming the field) and fill in the defaults."""
    return parse_config(config).stored()


def check_interval(value: Any) -> float:
    """``interval_seconds``: a finite number of seconds, > 0 (and at most ten years)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 < value <= MAX_INTERVAL_SECONDS
    ):
        raise InvalidInput(
            f"interval_seconds must be a finite number of seconds > 0 and <= "
            f"{MAX_INTERVAL_SECONDS:.0f}, got {value!r}",
            details={"field": "interval_seconds"},
        )
    return float(value)


def retrain_parameters(
    parameters: Mapping[str, Any], deployment: Mapping[str, Any], monitor_id: str
) -> dict[str, Any]:
    """A retrain notebook's parameters with ``${prediction_log}``, ``${deployment_id}``,
    ``${deployment_name}``, ``${model_name}``, ``${model_version}`` and ``${monitor_id}``
    substituted in string values (what the run is submitted with)."""
    values = {
        "prediction_log": deployment.get("prediction_log") or "",
        "deployment_id": deployment["id"],
        "deployment_name": deployment["name"],
        "model_name": deployment["model"],
        "model_version": str(deployment["version"]),
        "monitor_id": monitor_id,
    }
    return {
        key: string.Template(value).safe_substitute(values) if isinstance(value, str) else value
        for key, value in parameters.items()
    }
