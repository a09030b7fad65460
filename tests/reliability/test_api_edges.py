"""The edges of ``/mlops/api`` HTTP itself, over every route of the OpenAPI document: a wrong
method is a 405 with an ``Allow`` header and a JSON body naming the method (RFC 9110); a query
value over its ``maxLength`` and a path parameter over 255 bytes are a 400 naming them; a URL
past the 64 KiB tornado reads is dropped at once and the server goes on answering."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
import tornado.httpclient
from tornado.httpclient import HTTPClientError

METHODS = ("get", "post", "put", "patch", "delete")


async def document(jp_fetch) -> dict:
    return json.loads((await jp_fetch("mlops", "api", "openapi.json")).body)


def concrete(path: str, operation: dict) -> list[str]:
    """``/mlops/api/models/{name}`` -> ``["models", "1"]``: a value for every path parameter
    that its documented pattern takes (so the route is found and nothing exists there)."""
    patterns = {
        p["name"]: p["schema"]["pattern"]
        for p in operation.get("parameters", [])
        if p["in"] == "path"
    }
    parts = path.removeprefix("/mlops/api/").split("/")
    return [
        next(v for v in ("1", "a1", "x") if re.fullmatch(patterns[part[1:-1]], v))
        if part.startswith("{")
        else part
        for part in parts
    ]


async def answer(jp_fetch, *parts: str, method: str = "GET", **kwargs):
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    try:
        response = await jp_fetch("mlops", "api", *parts, method=method, body=body, **kwargs)
    except HTTPClientError as err:
        response = err.response
    return response.code, response.headers, json.loads(response.body or b"null")


async def test_a_wrong_method_is_a_405_with_allow_on_every_route(jp_fetch):
    spec = await document(jp_fetch)
    checked = 0
    for path, item in spec["paths"].items():
        documented = {method.upper() for method in item}
        wrong = next(m.upper() for m in METHODS if m.upper() not in documented)
        parts = concrete(path, next(iter(item.values())))
        code, headers, body = await answer(jp_fetch, *parts, method=wrong)
        assert code == 405, (wrong, path, body)
        allowed = {m.strip() for m in headers["Allow"].split(",")}
        assert allowed - {"OPTIONS"} == documented, (path, headers["Allow"])
        assert body["error"]["code"] == "method_not_allowed"
        assert f"method {wrong} is not allowed" in body["error"]["message"], body
        assert body["error"]["details"]["method"] == wrong
        checked += 1
    assert checked == len(spec["paths"])


async def test_query_values_over_their_max_length_are_a_400_naming_them(jp_fetch):
    spec = await document(jp_fetch)
    probed = set()
    for path, item in spec["paths"].items():
        if "{" in path:
            continue  # a made-up id would be a 404 first
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                limit = next(
                    (
                        s["maxLength"]
                        for s in [schema, *schema.get("anyOf", [])]
                        if "maxLength" in s
                    ),
                    None,
                )
                if parameter["in"] != "query" or limit is None:
                    continue
                name = parameter["name"]
                code, _, body = await answer(
                    jp_fetch,
                    *concrete(path, operation),
                    method=method.upper(),
                    params={name: "a" * (limit + 1)},
                )
                assert code == 400, (method, path, name, body)
                assert body["error"]["details"]["field"] == name, body
                probed.add(f"{method.upper()} {path} {name}")
    # Every free-text filter of the lists carries a bound (the >64 KiB ?q= that went unanswered).
    assert "GET /mlops/api/models q" in probed
    assert "GET /mlops/api/audit model" in probed
    assert "GET /mlops/api/runs notebook" in probed
    assert "GET /mlops/api/deployments model" in probed


async def test_a_path_parameter_over_255_bytes_is_a_400_naming_it(jp_fetch):
    code, _, body = await answer(jp_fetch, "models", "m" * 256, "versions")
    assert code == 400 and body["error"]["details"]["field"] == "name", body
    assert "longer than 255 bytes" in body["error"]["message"]
    code, _, _ = await answer(jp_fetch, "models", "m" * 255)
    assert code == 404  # up to the limit it is looked up


@pytest.mark.parametrize("size", [70_000, 1_000_000])
async def test_a_url_past_64_kib_is_dropped_and_the_server_answers_on(
    jp_fetch, jp_http_port, jp_base_url, jp_auth_header, size
):
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}mlops/api/models?q={'a' * size}"
    client = tornado.httpclient.AsyncHTTPClient()
    # Closed without an answer (tornado's header limit), well inside the request timeout.
    with pytest.raises((tornado.httpclient.HTTPClientError, OSError)) as raised:
        await asyncio.wait_for(
            client.fetch(url, headers=jp_auth_header, request_timeout=30), timeout=60
        )
    if isinstance(raised.value, tornado.httpclient.HTTPClientError):
        assert raised.value.code == 599, raised.value  # the stream closed: no HTTP status
    code, _, health = await answer(jp_fetch, "health")
    assert code == 200 and health
