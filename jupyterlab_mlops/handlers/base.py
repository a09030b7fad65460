"""The base of every REST handler: authentication, authorisation, JSON in/out, errors.

Handlers stay thin: parse the request, call a service, write the result. Errors raised anywhere
below become ``{"error": {"code", "message"}}`` with the status the error class declares; an
unexpected exception becomes a 500 with a generic message (the traceback goes to the server log,
never to the client).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from pydantic import BaseModel
from tornado import web

from ..app import MLOps
from ..errors import InvalidInput, MLOpsError, NotFound, PayloadTooLarge
from ..identity import Identity, server_user_identity
from ..schemas import INT64_MAX, loads, parse, parse_json

MAX_PAGE_SIZE = 500
# A path parameter (a model name, an id, an alias) is one file-name-sized component at most.
MAX_PATH_VALUE = 255
ALLOWABLE_METHODS = ("get", "head", "post", "put", "patch", "delete", "options")
# Query arguments jupyter-server itself reads (token auth in the URL): not ours to refuse.
SERVER_ARGUMENTS = frozenset({"token"})
M = TypeVar("M", bound=BaseModel)


def string_field(body: dict[str, Any], field: str, *, required: bool = False) -> str | None:
    """``body[field]`` as a string: a clear 400 when it is missing (if required) or not a string."""
    value = body.get(field)
    if value is None:
        if required:
            raise InvalidInput(f"{field!r} is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field!r} must be a string, got {type(value).__name__}")
    return value


def check_fields(body: dict[str, Any], allowed: set[str]) -> None:
    """Refuse unknown fields, so a typo is a 400 instead of being silently ignored."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidInput(
            f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})",
            details={"field": unknown[0]},
        )


async def in_thread(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run blocking service work (process start-up, HTTP calls, big queries) off the loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(func, *args, **kwargs))


def json_default(value: Any) -> Any:
    """Serialise the few non-JSON types services return (datetimes, numpy scalars)."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class MLOpsHandler(APIHandler):
    """Base class: every route is under the ``mlops`` authorisation resource."""

    auth_resource = "mlops"

    @property
    def mlops(self) -> MLOps:
        return self.settings["mlops"]

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()  # authentication first: strangers get 403, not 413
        self._check_path_values()
        # Refuse an oversized body before anything parses or stores it: a 413 naming the
        # limit, which c.MLOps.max_request_bytes sets.
        limit = self.mlops.max_request_bytes
        size = len(self.request.body or b"")
        if limit and size > limit:
            raise PayloadTooLarge(
                f"request body of {size} bytes is over the limit of {limit} bytes "
                "(c.MLOps.max_request_bytes)",
                details={"limit": limit, "size": size},
            )

    def _check_path_values(self) -> None:
        """A path parameter longer than :data:`MAX_PATH_VALUE` is a 400 naming it, before any
        service looks it up (the OpenAPI document says ``maxLength`` too)."""
        if self.max_path_value is None:
            return
        spec = getattr(getattr(self, self.request.method.lower(), None), "__openapi__", None)
        names = list(spec.path_params) if spec is not None else []
        values = [*zip(names, self.path_args, strict=False), *self.path_kwargs.items()]
        values += [(None, value) for value in self.path_args[len(names) :]]
        for index, (name, value) in enumerate(values):
            if value is not None and len(value.encode()) > self.max_path_value:
                field = name or f"path segment {index + 1}"
                raise InvalidInput(
                    f"path parameter {field!r} is longer than {self.max_path_value} bytes",
                    details={"field": field},
                )

    max_path_value: int | None = MAX_PATH_VALUE

    @property
    def username(self) -> Identity:
        """Who this request acts as: jupyter-server's authenticated user, with its groups
        (``identity.server_user_identity``: a shared token's anonymous user is the account the
        server runs as)."""
        return server_user_identity(self.current_user)

    # -- input --------------------------------------------------------------------------------

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object, or a clear 400."""
        if not self.request.body:
            return {}
        body = loads(self.request.body)
        if not isinstance(body, dict):
            raise InvalidInput("request body must be a JSON object")
        return body

    def body_as(self, model: type[M]) -> M:
        """The request body parsed as ``model``: a 400 naming the field on any mistake."""
        return parse_json(model, self.request.body or b"")

    def query_as(self, model: type[M]) -> M:
        """The query string as ``model`` (whose config says ``strict=False``): empty values
        are absent, unknown names a 400; jupyter-server's own ``token`` is not ours."""
        arguments = {
            name: self.get_query_argument(name)
            for name in self.request.query_arguments
            if name not in SERVER_ARGUMENTS and self.get_query_argument(name) != ""
        }
        return parse(model, arguments)

    def int_argument(
        self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None
    ) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise InvalidInput(f"query argument {name!r} must be an integer, got {raw!r}") from None
        maximum = INT64_MAX if maximum is None else maximum
        if value < minimum or value > maximum:
            bounds = f">= {minimum} and <= {maximum}"
            raise InvalidInput(f"query argument {name!r} must be {bounds}, got {value}")
        return value

    def page_arguments(self, default_limit: int = 50) -> tuple[int, int]:
        """``offset`` and ``limit`` for server-side pagination."""
        offset = self.int_argument("offset", 0)
        limit = self.int_argument("limit", default_limit, minimum=1, maximum=MAX_PAGE_SIZE)
        return offset, limit

    # -- output -------------------------------------------------------------------------------

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data, default=json_default))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        if isinstance(error, MLOpsError):
            self.set_status(error.status)
            body = error.to_dict()
            retry_after = getattr(error, "retry_after", None)
            if retry_after is not None:
                self.set_header("Retry-After", str(int(retry_after)))
        elif status_code == 405:
            # RFC 9110: a 405 says which methods the resource has.
            allowed = self.allowed_methods()
            self.set_header("Allow", ", ".join(allowed))
            message = (
                f"method {self.request.method} is not allowed on {self.request.path} "
                f"(allowed: {', '.join(allowed)})"
            )
            details = {"method": self.request.method, "allowed": allowed}
            body = {"error": {"code": _http_code(405), "message": message, "details": details}}
        elif isinstance(error, web.HTTPError):
            message = error.log_message or self._reason
            if error.args and len(error.args) > 2:
                message = message % error.args[2:]
            body = {"error": {"code": _http_code(status_code), "message": message}}
        else:
            body = {
                "error": {
                    "code": "internal_error",
                    "message": "internal server error; see the Jupyter server log",
                }
            }
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def allowed_methods(self) -> list[str]:
        """The methods this route's handler defines (OPTIONS is jupyter-server's CORS answer)."""
        return [
            method.upper()
            for method in ALLOWABLE_METHODS
            if getattr(type(self), method) is not getattr(web.RequestHandler, method)
        ]

    def log_exception(self, typ, value, tb) -> None:  # type: ignore[override]
        # Expected domain errors are not server faults: log them briefly, without a traceback.
        if isinstance(value, MLOpsError):
            self.log.info(
                "mlops %s %s: %s (%s)",
                self.request.method,
                self.request.path,
                value.message,
                value.code,
            )
            return
        super().log_exception(typ, value, tb)


def _http_code(status: int) -> str:
    return {
        400: "invalid_input",
        401: "unauthenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "payload_too_large",
    }.get(status, "http_error")


class NotFoundHandler(MLOpsHandler):
    """Any unknown route under ``/mlops/api/``: a JSON 404 instead of an HTML page."""

    max_path_value = None  # the rest of an unknown URL is no parameter

    def _not_found(self, path: str) -> None:
        raise NotFound(f"no such API route: /mlops/api/{path}")

    @web.authenticated
    def get(self, path: str) -> None:
        self._not_found(path)

    @web.authenticated
    def post(self, path: str) -> None:
        self._not_found(path)

    @web.authenticated
    def put(self, path: str) -> None:
        self._not_found(path)

    @web.authenticated
    def patch(self, path: str) -> None:
        self._not_found(path)

    @web.authenticated
    def delete(self, path: str) -> None:
        self._not_found(path)
