"""The runs REST API in a real Jupyter server: a real run end to end, and every error path."""

from __future__ import annotations

import json

import pytest
from _runs_support import error_of, fetch_json, ok_notebook, wait_finished, write_notebook
from tornado.httpclient import HTTPClientError


async def test_parameters_route(jp_fetch, jp_root_dir):
    ok_notebook(jp_root_dir)
    write_notebook(jp_root_dir / "sub" / "plain.ipynb", ["print(1)"])
    code, info = await fetch_json(jp_fetch, "notebooks", "parameters", params={"path": "ok.ipynb"})
    assert code == 200
    assert info["path"] == "ok.ipynb"
    assert info["has_parameters_cell"] is True
    assert [(p["name"], p["type"], p["default"]) for p in info["parameters"]] == [
        ("x", "int", 1),
        ("name", "str", "a"),
    ]
    _, plain = await fetch_json(
        jp_fetch, "notebooks", "parameters", params={"path": "sub/plain.ipynb"}
    )
    assert plain["has_parameters_cell"] is False
    assert plain["parameters"] == []
    assert "tag 'parameters'" in plain["hint"]


async def test_run_end_to_end_over_rest(jp_fetch, jp_root_dir):
    ok_notebook(jp_root_dir)
    code, run = await fetch_json(
        jp_fetch,
        "runs",
        method="POST",
        body={"notebook_path": "ok.ipynb", "parameters": {"x": "21"}, "tags": ["rest"]},
    )
    assert code == 201
    assert run["status"] in ("queued", "running")
    assert run["parameters"] == {"x": 21}
    assert run["provenance"]["notebook_sha256"]
    # the server's own monitor starts and finishes it; we only read
    final = await wait_finished(jp_fetch, run["id"])
    assert final["status"] == "succeeded", final
    assert final["metrics"] == {"score": 42.0}
    assert final["tags"] == ["rest"]
    _, page = await fetch_json(jp_fetch, "runs", params={"status": "succeeded", "limit": "5"})
    assert page["total"] == 1 and page["limit"] == 5 and page["offset"] == 0
    assert page["items"][0]["id"] == run["id"]
    response = await jp_fetch("mlops", "api", "runs", run["id"], "output")
    assert response.headers["Content-Type"] == "application/x-ipynb+json"
    output = json.loads(response.body)
    assert any("injected-parameters" in c["metadata"].get("tags", []) for c in output["cells"])
    # materialise for opening in the lab (re-written if it was deleted)
    (jp_root_dir / final["output_notebook_path"]).unlink()
    code, opened = await fetch_json(jp_fetch, "runs", run["id"], "output", method="POST")
    assert opened == {"run_id": run["id"], "output_notebook_path": final["output_notebook_path"]}
    assert json.loads((jp_root_dir / opened["output_notebook_path"]).read_text()) == output
    # cancelling a finished run is a conflict
    code, error = await error_of(jp_fetch, "runs", run["id"], "cancel", method="POST")
    assert code == 409 and "already finished" in error["message"]
    # reproduce is accepted and linked to the original
    code, again = await fetch_json(jp_fetch, "runs", run["id"], "reproduce", method="POST")
    assert code == 201 and again["reproduces_run_id"] == run["id"]
    code, cancelled = await fetch_json(jp_fetch, "runs", again["id"], "cancel", method="POST")
    assert cancelled["status"] == "cancelled"


async def test_sweep_routes(jp_fetch, jp_root_dir):
    ok_notebook(jp_root_dir)
    code, sweep = await fetch_json(
        jp_fetch,
        "runs",
        "sweeps",
        method="POST",
        body={"notebook_path": "ok.ipynb", "grid": {"x": [1, 2]}, "metric": "score"},
    )
    assert code == 201 and sweep["total"] == 2 and sweep["metric"] == "score"
    for item in sweep["runs"]:
        await fetch_json(jp_fetch, "runs", item["id"], "cancel", method="POST")
    _, again = await fetch_json(jp_fetch, "runs", "sweeps", sweep["id"])
    assert again["counts"] == {"cancelled": 2} and again["best"] is None
    _, page = await fetch_json(jp_fetch, "runs", "sweeps")
    assert page["total"] == 1 and "runs" not in page["items"][0]


ERRORS = [
    # (method, path parts, query, body, status, text in the message)
    ("GET", ("notebooks", "parameters"), None, None, 400, "'path' is required"),
    ("GET", ("notebooks", "parameters"), {"path": "../x.ipynb"}, None, 403, "outside"),
    ("GET", ("notebooks", "parameters"), {"path": "/etc/passwd"}, None, 403, "outside"),
    ("GET", ("notebooks", "parameters"), {"path": "nope.ipynb"}, None, 404, "no such file"),
    ("GET", ("notebooks", "parameters"), {"path": "broken.ipynb"}, None, 400, "not a valid"),
    ("GET", ("notebooks", "parameters"), {"path": "data.csv"}, None, 400, "not a notebook"),
    ("POST", ("runs",), None, "{bad json", 400, "not valid JSON"),
    ("POST", ("runs",), None, "[1]", 400, "JSON object"),
    ("POST", ("runs",), None, {}, 400, "'notebook_path' is required"),
    ("POST", ("runs",), None, {"notebook_path": 3}, 400, "must be a string"),
    ("POST", ("runs",), None, {"notebook_path": "ok.ipynb", "param": {}}, 400, "'param'"),
    ("POST", ("runs",), None, {"notebook_path": "../up.ipynb"}, 403, "outside"),
    ("POST", ("runs",), None, {"notebook_path": "nope.ipynb"}, 404, "no such file"),
    ("POST", ("runs",), None, {"notebook_path": "broken.ipynb"}, 400, "not a valid notebook"),
    ("POST", ("runs",), None, {"notebook_path": "ok.ipynb", "memory": "lots"}, 400, "memory"),
    ("POST", ("runs",), None, {"notebook_path": "ok.ipynb", "memory": "1KiB"}, 400, "memory"),
    ("POST", ("runs",), None, {"notebook_path": "ok.ipynb", "memory": True}, 400, "memory"),
    ("POST", ("runs",), None, {"notebook_path": "ok.ipynb", "cpus": 0}, 400, "cpus"),
    ("POST", ("runs",), None, {"notebook_path": "ok.ipynb", "cpus": "2"}, 400, "cpus"),
    (
        "POST",
        ("runs",),
        None,
        {"notebook_path": "ok.ipynb", "parameters": {"alpha": 1}},
        400,
        "unknown parameter 'alpha'",
    ),
    (
        "POST",
        ("runs",),
        None,
        {"notebook_path": "ok.ipynb", "parameters": {"x": "ten"}},
        400,
        "parameter 'x' expects int",
    ),
    (
        "POST",
        ("runs",),
        None,
        {"notebook_path": "ok.ipynb", "parameters": [1]},
        400,
        "parameters must be an object",
    ),
    ("POST", ("runs",), None, {"notebook_path": "ok.ipynb", "timeout": "x"}, 400, "timeout"),
    ("POST", ("runs",), None, {"notebook_path": "ok.ipynb", "tags": "a"}, 400, "tags"),
    ("POST", ("runs",), None, {"notebook_path": "ok.ipynb", "kernel_name": "zz"}, 400, "kernel"),
    (
        "POST",
        ("runs",),
        None,
        {"notebook_path": "ok.ipynb", "input_files": ["../../etc/passwd"]},
        403,
        "outside",
    ),
    ("GET", ("runs",), {"status": "done"}, None, 400, "unknown status"),
    ("GET", ("runs",), {"limit": "lots"}, None, 400, "'limit'"),
    ("GET", ("runs", "abc123"), None, None, 404, "no such run"),
    ("POST", ("runs", "abc123", "cancel"), None, None, 404, "no such run"),
    ("POST", ("runs", "abc123", "reproduce"), None, None, 404, "no such run"),
    ("GET", ("runs", "abc123", "output"), None, None, 404, "no such run"),
    ("POST", ("runs", "abc123", "output"), None, None, 404, "no such run"),
    ("GET", ("runs", "sweeps", "abc123"), None, None, 404, "no such sweep"),
    ("POST", ("runs", "sweeps"), None, {"notebook_path": "ok.ipynb"}, 400, "grid"),
    (
        "POST",
        ("runs", "sweeps"),
        None,
        {"notebook_path": "ok.ipynb", "grid": {"x": ["a"]}},
        400,
        "parameter 'x' expects int",
    ),
    (
        "POST",
        ("runs", "sweeps"),
        None,
        {"notebook_path": "ok.ipynb", "grid": {"x": [1]}, "mode": "best"},
        400,
        "mode",
    ),
]


async def test_every_error_is_json_and_nothing_is_recorded(jp_fetch, jp_root_dir):
    ok_notebook(jp_root_dir)
    (jp_root_dir / "broken.ipynb").write_text('{"cells": [')
    (jp_root_dir / "data.csv").write_text("a\n1\n")
    for method, parts, query, body, status, text in ERRORS:
        if method == "POST" and body is None:
            body = ""
        code, error = await error_of(jp_fetch, *parts, method=method, body=body, params=query)
        assert (code, text) == (status, text) and text in error["message"], (parts, body, error)
    _, page = await fetch_json(jp_fetch, "runs")
    assert page == {"items": [], "total": 0, "offset": 0, "limit": 50}
    _, sweeps = await fetch_json(jp_fetch, "runs", "sweeps")
    assert sweeps["total"] == 0


async def test_runs_routes_require_authentication(jp_fetch):
    for parts in (("runs",), ("runs", "abc"), ("notebooks", "parameters")):
        with pytest.raises(HTTPClientError) as error:
            await jp_fetch("mlops", "api", *parts, headers={"Authorization": ""})
        assert error.value.code == 403
