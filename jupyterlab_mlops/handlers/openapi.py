"""The REST API's OpenAPI document, generated from the pydantic models the handlers parse with.

A handler method declares what it takes and answers with :func:`operation`; the document is
built from the route table (``handlers.all_routes()``), so a route cannot exist without being
described, and the frontend's TypeScript types are generated from the same document
(``scripts/openapi.py`` writes it). Served at ``GET /mlops/api/openapi.json``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ..schemas import ErrorResponse
from ..version import __version__

METHODS = ("get", "post", "put", "patch", "delete")
BODY_METHODS = ("post", "put", "patch")
ERROR_DESCRIPTIONS = {
    400: "Invalid input: the message and `details.field` name the offending field",
    401: "Not authenticated",
    403: "Forbidden: not authorised, or a path outside the server root",
    404: "No such resource",
    409: "Conflicts with the current state",
    413: "Request body too large",
    422: "Stored bytes failed verification, or an untrusted artifact",
    503: "A backing engine or the store is unavailable; retry later",
}
DEFAULT_ERRORS = (400, 401, 403, 404)
MAX_PATH_VALUE = 255  # handlers/base.py refuses longer path parameters with a 400


@dataclass(frozen=True)
class Operation:
    summary: str
    request: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = DEFAULT_ERRORS
    path_params: tuple[str, ...] = ()
    content_type: str = "application/json"
    tags: tuple[str, ...] = field(default_factory=tuple)
    also: tuple[tuple[int, type[BaseModel]], ...] = ()


def operation(
    summary: str,
    *,
    request: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = DEFAULT_ERRORS,
    path_params: tuple[str, ...] = (),
    content_type: str = "application/json",
    also: dict[int, type[BaseModel]] | None = None,
):
    """Describe a handler method for the OpenAPI document (outermost decorator).

    ``path_params`` names the route's unnamed regex groups, in order; ``also`` documents other
    successful answers (``{202: ApprovalResponse}``).
    """
    spec = Operation(
        summary=summary,
        request=request,
        response=response,
        query=query,
        status=status,
        errors=tuple(sorted(set(errors) | {401})),
        path_params=path_params,
        content_type=content_type,
        also=tuple(sorted((also or {}).items())),
    )

    def decorate(method):
        method.__openapi__ = spec
        return method

    return decorate


# -- route patterns -> OpenAPI paths --------------------------------------------------------------

_GROUP = re.compile(r"\((\?P<(?P<name>\w+)>)?(?P<body>[^()]*)\)")
_LITERALS = re.compile(r"^[\w-]+(\|[\w-]+)+$")


def expand_pattern(pattern: str, names: tuple[str, ...]) -> list[tuple[str, dict[str, str]]]:
    """``/runs/([0-9a-z]+)/(stop|restart)`` -> ``[("/runs/{run_id}/stop", …), …]``.

    Named groups and unnamed non-literal groups become ``{name}`` parameters (unnamed ones take
    ``names`` in order); a group of literal alternatives becomes one path per literal.
    """
    pattern = pattern.rstrip("$").removesuffix("/?")
    results: list[tuple[str, dict[str, str]]] = [("", {})]
    position = 0
    unnamed = iter(names)
    for match in _GROUP.finditer(pattern):
        text = pattern[position : match.start()].replace("/?", "")
        results = [(path + text, params) for path, params in results]
        body = match.group("body")
        if _LITERALS.match(body):
            results = [
                (path + literal, params) for path, params in results for literal in body.split("|")
            ]
        else:
            name = match.group("name") or next(unnamed, f"p{len(results[0][1]) + 1}")
            results = [
                (path + "{" + name + "}", {**params, name: body}) for path, params in results
            ]
        position = match.end()
    tail = pattern[position:].replace("/?", "")
    return [(path + tail, params) for path, params in results]


def _collect(routes: list[tuple]) -> list[tuple[str, str, dict[str, str], Operation]]:
    found = []
    for route in routes:
        pattern, handler = route[0], route[1]
        for method in METHODS:
            spec = getattr(getattr(handler, method, None), "__openapi__", None)
            if spec is None:
                continue
            for path, params in expand_pattern(pattern, spec.path_params):
                found.append((path, method, params, spec))
    return found


def _query_parameters(model: type[BaseModel], schema_of) -> list[dict[str, Any]]:
    parameters = []
    for name, info in model.model_fields.items():
        parameters.append(
            {
                "name": info.alias or name,
                "in": "query",
                "required": info.is_required(),
                "description": info.description or "",
                "schema": schema_of(model)["properties"][info.alias or name],
            }
        )
    return parameters


def build_openapi(routes: list[tuple] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every described route."""
    if routes is None:
        from . import all_routes

        routes = all_routes()
    operations = _collect(routes)
    models: set[type[BaseModel]] = {ErrorResponse}
    for _path, _method, _params, spec in operations:
        models.update(m for m in (spec.request, spec.response, spec.query) if m is not None)
        models.update(model for _status, model in spec.also)
    ordered = sorted(models, key=lambda m: m.__name__)
    keyed, definitions = models_json_schema(
        [(m, "validation" if m is not None else "serialization") for m in ordered],
        ref_template="#/components/schemas/{model}",
    )
    schemas = definitions.get("$defs", {})

    def ref(model: type[BaseModel]) -> dict[str, Any]:
        return keyed[(model, "validation")]

    def schema_of(model: type[BaseModel]) -> dict[str, Any]:
        target = ref(model)
        if "$ref" in target:
            return schemas[target["$ref"].rsplit("/", 1)[-1]]
        return target

    paths: dict[str, dict[str, Any]] = {}
    for path, method, params, spec in operations:
        entry: dict[str, Any] = {
            "summary": spec.summary,
            "operationId": _operation_id(method, path),
            "tags": [path.split("/")[3]] if path.count("/") >= 3 else [],
            "parameters": [
                {
                    "name": name,
                    "in": "path",
                    "required": True,
                    "schema": {
                        "type": "string",
                        "pattern": f"^(?:{pattern})$",
                        "minLength": 1,
                        "maxLength": MAX_PATH_VALUE,
                    },
                }
                for name, pattern in params.items()
            ],
            "responses": {},
        }
        if spec.query is not None:
            entry["parameters"].extend(_query_parameters(spec.query, schema_of))
        if spec.request is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(spec.request)}},
            }
        success: dict[str, Any] = {"description": "OK" if spec.status < 300 else "Accepted"}
        if spec.response is not None:
            success["content"] = {spec.content_type: {"schema": ref(spec.response)}}
        elif spec.content_type != "application/json":
            success["content"] = {spec.content_type: {"schema": {"type": "string"}}}
        entry["responses"][str(spec.status)] = success
        for status, model in spec.also:
            entry["responses"][str(status)] = {
                "description": "Accepted" if status == 202 else "OK",
                "content": {"application/json": {"schema": ref(model)}},
            }
        # Answered by the base handler on every route (handlers/base.py): a path parameter over
        # MAX_PATH_VALUE bytes is a 400, a body over c.MLOps.max_request_bytes a 413.
        implied = ({400} if params else set()) | ({413} if method in BODY_METHODS else set())
        for status in sorted(set(spec.errors) | implied):
            entry["responses"][str(status)] = {
                "description": ERROR_DESCRIPTIONS.get(status, "Error"),
                "content": {"application/json": {"schema": ref(ErrorResponse)}},
            }
        paths.setdefault(path, {})[method] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "jupyterlab-mlops REST API",
            "version": __version__,
            "description": "Served by the Jupyter server extension under /mlops/api; every route "
            "is authenticated and authorised by jupyter-server (token or identity provider).",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "Authorization"}
            },
        },
        "security": [{"token": []}],
    }


def _operation_id(method: str, path: str) -> str:
    words = re.split(r"[^0-9A-Za-z]+", path.removeprefix("/mlops/api/"))
    return method + "".join(w[:1].upper() + w[1:] for w in words if w)
