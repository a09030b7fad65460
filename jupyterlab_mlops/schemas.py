"""Typed edges: the pydantic base every request, config and response model derives from.

Every domain keeps its own models in ``<domain>/schemas.py``; this module holds what they share:
the strict base class, 64-bit integers and finite floats, and :func:`parse` / :func:`loads`,
which turn any malformed input into an :class:`~jupyterlab_mlops.errors.InvalidInput` (a 400)
whose message and ``details.field`` name the offending field. Nothing here knows about HTTP.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import InvalidInput

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Deeper than this is no config or payload we take: refuse it before walking it further.
MAX_DEPTH = 64

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
NonNegativeInt = Annotated[int, Field(ge=0, le=INT64_MAX)]
PositiveInt = Annotated[int, Field(ge=1, le=INT64_MAX)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
# A query-string value (a name, a path, a filter) is at most this long: longer is a 400 naming
# the parameter, and a URL of every documented parameter stays far below the 64 KiB of request
# line and headers tornado reads before it drops the connection.
MAX_QUERY_VALUE = 1024
QueryText = Annotated[str, Field(max_length=MAX_QUERY_VALUE)]

M = TypeVar("M", bound=BaseModel)


class Schema(BaseModel):
    """Base of every model at an edge: unknown fields, non-finite numbers and values of the
    wrong JSON type (``"yes"`` for a bool, ``"5"`` for an int) are refused. A model fed from
    query strings sets ``strict=False`` in its own ``model_config``."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        populate_by_name=True,
        str_max_length=1_000_000,
    )


class Page(Schema):
    """The envelope of every paginated list (``items`` is typed by each list's model)."""

    items: list[Any]
    total: int
    offset: int
    limit: int


class ErrorBody(Schema):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorResponse(Schema):
    """What every route answers on failure: ``{"error": {"code", "message", "details"?}}``."""

    error: ErrorBody


def _field_name(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) if loc else "body"


def _message(error: dict[str, Any], allowed: list[str]) -> str:
    field = _field_name(tuple(error.get("loc") or ()))
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        name = field.rsplit(".", 1)[-1]
        return f"unknown field {name!r}" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
    if kind == "missing":
        return f"{field!r} is required"
    if kind in {"finite_number"}:
        return f"{field!r} must be a finite number"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if not error.get("loc"):
        return message
    return f"{field!r}: {message}"


def validation_error(err: ValidationError, model: type[BaseModel] | None = None) -> InvalidInput:
    """One :class:`InvalidInput` for a pydantic error: the first problem, every problem in
    ``details.errors``."""
    errors = err.errors(include_url=False, include_context=False, include_input=False)
    allowed = sorted(model.model_fields) if model is not None else []
    first = errors[0] if errors else {"loc": (), "msg": "invalid input", "type": ""}
    details = {
        "field": _field_name(tuple(first.get("loc") or ())),
        "errors": [
            {"field": _field_name(tuple(e.get("loc") or ())), "message": e.get("msg", "")}
            for e in errors
        ],
    }
    return InvalidInput(_message(first, allowed), details=details)


def parse(model: type[M], data: Any) -> M:
    """``data`` (already decoded JSON) as ``model``, or a 400 naming the first bad field."""
    check_values(data)
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise validation_error(err, model) from None


def check_values(data: Any, root: str = "") -> None:
    """Refuse what JSON allows but no field of ours takes: NaN/Infinity, integers outside 64
    bits and nesting deeper than :data:`MAX_DEPTH` — anywhere, free-form dicts included."""
    stack: list[tuple[Any, str, int]] = [(data, root, 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidInput(
                f"{path or 'body'!r} nests deeper than {MAX_DEPTH} levels",
                details={"field": path or "body"},
            )
        if isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        if isinstance(value, float):
            if not math.isfinite(value):
                raise InvalidInput(
                    f"{path or 'body'!r} must be a finite number, got {value!r}",
                    details={"field": path or "body"},
                )
        elif isinstance(value, int):
            if not INT64_MIN <= value <= INT64_MAX:
                raise InvalidInput(
                    f"{path or 'body'!r} is outside the 64-bit integer range",
                    details={"field": path or "body"},
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                stack.append((item, f"{path}.{key}" if path else str(key), depth + 1))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                stack.append((item, f"{path}.{index}" if path else str(index), depth + 1))


def _constant(name: str) -> float:
    # json.loads calls this for NaN, Infinity and -Infinity: keep them so that the walk in
    # check_values can say which field held one.
    return float(name.replace("Infinity", "inf"))


def loads(raw: bytes | str, *, what: str = "request body") -> Any:
    """Decode JSON text, turning every decoding failure into a 400 (never a 500)."""
    try:
        return json.loads(raw, parse_constant=_constant)
    except RecursionError:
        raise InvalidInput(f"{what} nests deeper than {MAX_DEPTH} levels") from None
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as err:
        raise InvalidInput(f"{what} is not valid JSON: {err}") from None


def parse_json(model: type[M], raw: bytes | str, *, what: str = "request body") -> M:
    """JSON text as ``model``; an empty body is an empty object."""
    data = loads(raw, what=what) if raw else {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{what} must be a JSON object")
    return parse(model, data)
