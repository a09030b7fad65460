"""Bad input to the runs REST API: a 400 naming the field, and nothing recorded.

Also: real responses of every runs resource validate against the response models the OpenAPI
document is generated from, so the document (and the frontend's types) stay true.
"""

from __future__ import annotations

import json

import pytest
from _runs_support import error_of, fetch_json, ok_notebook, wait_finished

from jupyterlab_mlops.handlers.openapi import build_openapi
from jupyterlab_mlops.runs.schemas import (
    NotebookParameters,
    OutputLocation,
    RunDetail,
    RunPage,
    Sweep,
    SweepPage,
)

OK = '{"notebook_path": "ok.ipynb", '
DEEP = "[" * 70 + "]" * 70

# (raw JSON body of POST /runs, the field the 400 must name)
BAD_SUBMISSIONS = [
    (OK + '"timeout": NaN}', "timeout"),
    (OK + '"timeout": Infinity}', "timeout"),
    (OK + '"timeout": -Infinity}', "timeout"),
    (OK + '"timeout": 1e400}', "timeout"),
    (OK + '"timeout": "x"}', "timeout"),
    (OK + '"timeout": true}', "timeout"),
    (OK + '"timeout": 0}', "timeout"),
    (OK + '"timeout": -5}', "timeout"),
    (OK + '"parameters": {"x": NaN}}', "parameters.x"),
    (OK + '"parameters": {"x": Infinity}}', "parameters.x"),
    (OK + '"parameters": {"x": 1e400}}', "parameters.x"),
    (OK + '"parameters": {"x": 99999999999999999999999}}', "parameters.x"),
    (OK + '"parameters": [1]}', "parameters"),
    (OK + '"parameters": "x=1"}', "parameters"),
    (OK + '"tags": "a"}', "tags"),
    (OK + '"tags": [1]}', "tags.0"),
    (OK + '"tags": [["a"]]}', "tags.0"),
    (OK + '"tags": {"a": 1}}', "tags"),
    (OK + '"input_files": "data.csv"}', "input_files"),
    (OK + '"input_files": [null]}', "input_files.0"),
    (OK + '"kernel_name": 3}', "kernel_name"),
    (OK + '"kernel_name": ""}', "kernel_name"),
    (OK + '"nope": 1}', "nope"),
    ('{"notebook_path": ""}', "notebook_path"),
    ('{"notebook_path": ["ok.ipynb"]}', "notebook_path"),
    ("{}", "notebook_path"),
]

BAD_SWEEPS = [
    (OK + '"grid": {}}', "grid"),
    (OK + '"grid": "x"}', "grid"),
    (OK + '"grid": {"x": []}}', "grid.x"),
    (OK + '"grid": {"x": 1}}', "grid.x"),
    (OK + '"grid": {"x": [NaN]}}', "grid.x.0"),
    (OK + '"grid": {"x": [1e400]}}', "grid.x.0"),
    (OK + '"grid": {"x": [1]}, "mode": "best"}', "mode"),
    (OK + '"grid": {"x": [1]}, "metric": 5}', "metric"),
    (OK + '"grid": {"x": [1]}, "metric": ""}', "metric"),
    (OK + '"grid": {"x": [1]}, "name": 5}', "name"),
    (OK + '"grid": {"x": [1]}, "timeout": Infinity}', "timeout"),
    (OK + '"grid": {"x": [1]}, "runs": 3}', "runs"),
    ('{"grid": {"x": [1]}}', "notebook_path"),
]

# (path parts, query string, the field the 400 must name)
BAD_QUERIES = [
    (("runs",), {"offset": "99999999999999999999999"}, "offset"),
    (("runs",), {"offset": "-1"}, "offset"),
    (("runs",), {"offset": "1.5"}, "offset"),
    (("runs",), {"limit": "0"}, "limit"),
    (("runs",), {"limit": "501"}, "limit"),
    (("runs",), {"limit": "lots"}, "limit"),
    (("runs",), {"status": "done"}, "status"),
    (("runs",), {"status": "queued,nope"}, "status"),
    (("runs",), {"kind": "scheduled"}, "kind"),
    (("runs",), {"sort": "name"}, "sort"),
    (("runs", "sweeps"), {"offset": "99999999999999999999999"}, "offset"),
    (("runs", "sweeps"), {"limit": "-3"}, "limit"),
    (("notebooks", "parameters"), None, "path"),
    (("notebooks", "parameters"), {"path": "ok.ipynb", "kernel": "x"}, "kernel"),
    (("runs", "abc123", "output"), {"download": "maybe"}, "download"),
]


def stored_artifacts(root) -> list:
    return [p for p in (root / ".mlops" / "artifacts").rglob("*") if p.is_file()]


async def test_bad_bodies_are_400_naming_the_field_and_record_nothing(jp_fetch, jp_root_dir):
    ok_notebook(jp_root_dir)
    for route, cases in ((("runs",), BAD_SUBMISSIONS), (("runs", "sweeps"), BAD_SWEEPS)):
        for body, field in cases:
            code, error = await error_of(jp_fetch, *route, method="POST", body=body)
            assert code == 400, (body, error)
            assert error["code"] == "invalid_input"
            assert error["details"]["field"] == field, (body, error)
            assert field.split(".")[0] in error["message"], (body, error)
    _, page = await fetch_json(jp_fetch, "runs")
    assert page == {"items": [], "total": 0, "offset": 0, "limit": 50}
    _, sweeps = await fetch_json(jp_fetch, "runs", "sweeps")
    assert sweeps["total"] == 0
    assert stored_artifacts(jp_root_dir) == []


async def test_deeply_nested_bodies_are_400(jp_fetch, jp_root_dir):
    ok_notebook(jp_root_dir)
    code, error = await error_of(jp_fetch, "runs", method="POST", body="[" * 100_000)
    assert code == 400 and "nests deeper than" in error["message"]
    code, error = await error_of(
        jp_fetch, "runs", method="POST", body=OK + '"parameters": {"x": ' + DEEP + "}}"
    )
    assert code == 400 and error["details"]["field"].startswith("parameters.x.0.0")
    code, error = await error_of(
        jp_fetch, "runs", "sweeps", method="POST", body=OK + '"grid": {"x": [' + DEEP + "]}}"
    )
    assert code == 400 and error["details"]["field"].startswith("grid.x.0.0")
    _, page = await fetch_json(jp_fetch, "runs")
    assert page["total"] == 0
    assert stored_artifacts(jp_root_dir) == []


async def test_bad_query_strings_are_400_naming_the_argument(jp_fetch, jp_root_dir):
    ok_notebook(jp_root_dir)
    for parts, query, field in BAD_QUERIES:
        code, error = await error_of(jp_fetch, *parts, params=query)
        assert code == 400, (parts, query, error)
        assert error["details"]["field"] == field, (parts, query, error)
        assert field in error["message"]
    # the largest offset that fits in 64 bits is fine: an empty page
    _, page = await fetch_json(jp_fetch, "runs", params={"offset": str(2**63 - 1)})
    assert page["items"] == [] and page["offset"] == 2**63 - 1


async def test_responses_validate_against_their_models(jp_fetch, jp_root_dir, jp_serverapp):
    ok_notebook(jp_root_dir)
    _, info = await fetch_json(jp_fetch, "notebooks", "parameters", params={"path": "ok.ipynb"})
    NotebookParameters.model_validate(info)
    code, run = await fetch_json(
        jp_fetch,
        "runs",
        method="POST",
        body={"notebook_path": "ok.ipynb", "parameters": {"x": 2}, "timeout": 600, "tags": ["t"]},
    )
    assert code == 201
    assert RunDetail.model_validate(run).status in ("queued", "running")
    final = await wait_finished(jp_fetch, run["id"])
    assert final["status"] == "succeeded", final
    detail = RunDetail.model_validate(final)
    assert detail.metrics == {"score": 4.0} and detail.metric_history[0].step == 0
    assert detail.timeout_seconds == 600.0 and detail.progress.cells_done == 5
    _, page = await fetch_json(jp_fetch, "runs", params={"status": "succeeded,failed"})
    assert [r.id for r in RunPage.model_validate(page).items] == [run["id"]]
    _, opened = await fetch_json(jp_fetch, "runs", run["id"], "output", method="POST")
    assert OutputLocation.model_validate(opened).output_notebook_path.endswith("ok.ipynb")
    response = await jp_fetch("mlops", "api", "runs", run["id"], "output", params={"download": "1"})
    assert response.headers["Content-Disposition"] == f'attachment; filename="{run["id"]}.ipynb"'
    assert json.loads(response.body)["cells"]
    # a reproduction carries a comparison
    _, again = await fetch_json(jp_fetch, "runs", run["id"], "reproduce", method="POST")
    done = RunDetail.model_validate(await wait_finished(jp_fetch, again["id"]))
    assert done.comparison is not None and done.comparison["original_run_id"] == run["id"]
    # a sweep, its page and its best run
    code, sweep = await fetch_json(
        jp_fetch,
        "runs",
        "sweeps",
        method="POST",
        body={"notebook_path": "ok.ipynb", "grid": {"x": [3]}, "metric": "score", "mode": "min"},
    )
    assert code == 201 and Sweep.model_validate(sweep).total == 1
    await wait_finished(jp_fetch, sweep["runs"][0]["id"])
    _, sweep = await fetch_json(jp_fetch, "runs", "sweeps", sweep["id"])
    best = Sweep.model_validate(sweep).best
    assert best is not None and best.value == 6.0 and best.parameters == {"x": 3}
    _, sweeps = await fetch_json(jp_fetch, "runs", "sweeps")
    assert SweepPage.model_validate(sweeps).items[0].id == sweep["id"]
    # an interactive run with a logged param and artifact
    runs = jp_serverapp.web_app.settings["mlops"].runs
    session = runs.start_interactive("explore.ipynb", user="ada")
    (jp_root_dir / "notes.txt").write_text("hello")
    runs.log_param(session["id"], "optimizer", {"name": "adam"})
    runs.log_artifact(session["id"], jp_root_dir / "notes.txt")
    _, live = await fetch_json(jp_fetch, "runs", session["id"])
    live = RunDetail.model_validate(live)
    assert live.kind == "interactive" and live.artifacts[0].size == 5
    assert live.logged_params == {"optimizer": '{"name": "adam"}'}
    runs.close_interactive(session["id"])


def test_openapi_describes_every_runs_route():
    document = build_openapi()
    paths = document["paths"]
    expected = {
        "/mlops/api/notebooks/parameters": {"get"},
        "/mlops/api/runs": {"get", "post"},
        "/mlops/api/runs/{run_id}": {"get"},
        "/mlops/api/runs/{run_id}/cancel": {"post"},
        "/mlops/api/runs/{run_id}/reproduce": {"post"},
        "/mlops/api/runs/{run_id}/output": {"get", "post"},
        "/mlops/api/runs/sweeps": {"get", "post"},
        "/mlops/api/runs/sweeps/{group_id}": {"get"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) == methods, path
    submit = paths["/mlops/api/runs"]["post"]
    assert submit["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SubmitRun"
    }
    assert submit["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RunDetail"
    }
    listing = paths["/mlops/api/runs"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {
        "offset",
        "limit",
        "notebook",
        "status",
        "group_id",
        "kind",
        "tag",
        "schedule_id",
    }
    schemas = document["components"]["schemas"]
    assert schemas["Run"]["properties"]["status"]["enum"] == [
        "queued",
        "running",
        "succeeded",
        "failed",
        "cancelled",
        "timed_out",
    ]
    assert "timeout" in schemas["SubmitRun"]["properties"]
    assert paths["/mlops/api/runs/{run_id}/output"]["get"]["responses"]["200"]["content"] == {
        "application/x-ipynb+json": {"schema": {"type": "string"}}
    }


@pytest.mark.parametrize(
    "body", ['{"notebook_path": "ok.ipynb", "parameters": null}', OK[:-2] + "}"]
)
async def test_null_and_absent_optional_fields_are_fine(jp_fetch, jp_root_dir, body):
    ok_notebook(jp_root_dir)
    code, run = await fetch_json(jp_fetch, "runs", method="POST", body=body)
    assert code == 201 and run["parameters"] == {}
    await fetch_json(jp_fetch, "runs", run["id"], "cancel", method="POST")
