"""JSON in and out of the serving process: orjson responses, the error shape, safe body parsing.

Every error the serving process answers is ``{"error": {"code", "message", "details"?}}``; bad
input is a 422 naming the field. Parsing never raises anything else: invalid JSON, nesting past
the parser's limit, numbers outside the double range and integers outside 64 bits are all a
:class:`~.validation.PayloadError`.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import orjson
from fastapi.responses import Response
from pydantic import BaseModel

from ..errors import InvalidInput
from ..schemas import INT64_MAX, INT64_MIN, loads, parse
from .validation import PayloadError, payload_error

JSON = "application/json"
_ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
M = TypeVar("M", bound=BaseModel)


def dumps(body: Any) -> bytes:
    return orjson.dumps(body, default=_default, option=_ORJSON_OPTIONS)


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(dumps(body), status_code=status, media_type=JSON)


def error_response(status: int, code: str, message: str, details: dict | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return json_response({"error": error}, status)


def _empty(body: bytes) -> bool:
    return not body or not body.strip()


def parse_json(body: bytes) -> Any:
    """A ``/predict`` body: orjson first (the hot path); the stdlib as a fallback so that
    NaN/Infinity literals reach the row validator, which names the field (NaN is a valid null
    in a nullable column)."""
    if _empty(body):
        raise payload_error("the request body is empty; send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as err:
        try:
            payload = json.loads(body)
        except RecursionError:
            raise payload_error("the request body nests too deeply") from None
        except (ValueError, UnicodeDecodeError):
            raise payload_error(f"the request body is not valid JSON: {err}") from None
    _check_integers(payload)
    return payload


def _check_integers(payload: Any) -> None:
    """Integers outside 64 bits (only the stdlib parser keeps them exact) are refused: no
    column, log or model takes them."""
    stack: list[tuple[Any, str]] = [(payload, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{path}.{i}" if path else str(i)) for i, v in enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            if not INT64_MIN <= value <= INT64_MAX:
                raise payload_error("is outside the 64-bit integer range", path or None)


def parse_body(model: type[M], body: bytes) -> M:
    """A small JSON body (``/feedback``, ``/admin/reload``) as ``model``: exact integers,
    non-finite numbers, nesting and every field checked; a 422 naming the field otherwise."""
    if _empty(body):
        raise payload_error("the request body is empty; send a JSON object")
    try:
        data = loads(body)
    except InvalidInput as err:
        raise payload_error(err.message) from None
    if not isinstance(data, dict):
        raise payload_error(f"the body must be a JSON object ({model.__name__})")
    try:
        return parse(model, data)
    except InvalidInput as err:
        raise _payload_error(err) from None


def _payload_error(err: InvalidInput) -> PayloadError:
    details = err.details or {}
    if details.get("errors"):  # pydantic's: one {field, message} per problem
        return PayloadError(
            [{"field": e["field"], "message": e["message"]} for e in details["errors"]]
        )
    field = details.get("field")
    message = err.message.removeprefix(f"{field!r} ") if field else err.message
    return PayloadError([{"field": field, "message": message}])
