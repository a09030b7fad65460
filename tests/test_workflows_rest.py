"""REST of schedules, pipeline runs and lab notifications, through a real Jupyter server."""

from __future__ import annotations

import json

import pytest
from _runs_support import write_notebook
from tornado.httpclient import HTTPClientError

pytestmark = pytest.mark.usefixtures("jp_serverapp")


async def call(jp_fetch, *path, method="GET", body=None, **params):
    kwargs = {"method": method}
    if body is not None:
        kwargs["body"] = body if isinstance(body, str) else json.dumps(body)
    elif method in ("POST", "PATCH", "PUT"):
        kwargs["body"] = "{}"
    if params:
        kwargs["params"] = params
    response = await jp_fetch("mlops", "api", *path, **kwargs)
    return response.code, json.loads(response.body)


async def refused(jp_fetch, *path, method="POST", body=None, **params):
    with pytest.raises(HTTPClientError) as caught:
        await call(jp_fetch, *path, method=method, body=body, **params)
    return caught.value.code, json.loads(caught.value.response.body)["error"]


async def test_schedules_over_rest(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "train.ipynb", ["print(C)"], parameters="C = 1.0")
    code, created = await call(
        jp_fetch,
        "schedules",
        method="POST",
        body={
            "notebook_path": "train.ipynb",
            "cron": "0 6 * * *",
            "timezone": "Europe/Paris",
            "parameters": {"C": 0.5},
            "name": "nightly",
        },
    )
    assert code == 201 and created["name"] == "nightly"
    assert created["next_fire_at"].endswith(("+01:00", "+02:00"))
    assert created["next_fire_at"][11:16] == "06:00"
    code, page = await call(jp_fetch, "schedules")
    assert page["total"] == 1 and page["items"][0]["id"] == created["id"]
    code, paused = await call(
        jp_fetch, "schedules", created["id"], method="PATCH", body={"active": False}
    )
    assert paused["active"] is False and paused["next_fire_at"] is None
    code, fired = await call(jp_fetch, "schedules", created["id"], "trigger", method="POST")
    assert code == 201 and fired["status"] == "submitted" and fired["run_id"]
    code, fires = await call(jp_fetch, "schedules", created["id"], "fires")
    assert fires["total"] == 1 and fires["items"][0]["manual"] is True
    code, gone = await call(jp_fetch, "schedules", created["id"], method="DELETE")
    assert gone["id"] == created["id"]
    assert (await refused(jp_fetch, "schedules", created["id"], method="GET"))[0] == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"parameters": {"nope": 1}}, "nope"),
        ({"timeout": "soon"}, "timeout"),
        ({"overlap": "sometimes"}, "overlap"),
        ({"colour": "red"}, "colour"),
        ({"notebook_path": "../outside.ipynb"}, None),
    ],
)
async def test_bad_schedules_are_400s_naming_the_field_and_store_nothing(
    jp_fetch, jp_root_dir, body, field
):
    write_notebook(jp_root_dir / "train.ipynb", ["print(C)"], parameters="C = 1.0")
    code, error = await refused(
        jp_fetch, "schedules", body={"notebook_path": "train.ipynb", "cron": "0 6 * * *", **body}
    )
    if field is None:
        assert code == 403
    else:
        assert code == 400 and field in error["message"]
    assert (await call(jp_fetch, "schedules"))[1]["total"] == 0


async def test_pipeline_runs_over_rest(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "a.ipynb", ["import time\ntime.sleep(300)"])
    (jp_root_dir / "p.pipeline.yaml").write_text(
        "steps:\n  - {name: a, notebook: a.ipynb}\n  - {name: b, notebook: a.ipynb, "
        "depends_on: [a]}\n"
    )
    code, started = await call(
        jp_fetch, "pipelines", "runs", method="POST", body={"pipeline_path": "p.pipeline.yaml"}
    )
    assert code == 201 and [s["name"] for s in started["steps"]] == ["a", "b"]
    assert started["steps"][0]["status"] == "running" and started["steps"][0]["run_id"]
    code, error = await refused(jp_fetch, "pipelines", "runs", started["id"], "repair")
    assert code == 409 and "only a failed or cancelled" in error["message"]
    code, cancelled = await call(
        jp_fetch, "pipelines", "runs", started["id"], "cancel", method="POST"
    )
    assert cancelled["status"] == "cancelled"
    code, page = await call(jp_fetch, "pipelines", "runs", pipeline_path="p.pipeline.yaml")
    assert page["total"] == 1 and page["items"][0]["status"] == "cancelled"
    code, error = await refused(
        jp_fetch, "pipelines", "runs", body={"pipeline_path": "p.pipeline.yaml", "x": 1}
    )
    assert code == 400 and error["details"]["field"] == "x"

    # A schedule's target may be the pipeline; "run now" starts a pipeline run of it.
    code, schedule = await call(
        jp_fetch,
        "schedules",
        method="POST",
        body={"pipeline_path": "p.pipeline.yaml", "cron": "0 6 * * *", "timezone": "UTC"},
    )
    assert code == 201 and schedule["target_kind"] == "pipeline"
    code, fire = await call(jp_fetch, "schedules", schedule["id"], "trigger", method="POST")
    assert fire["status"] == "submitted" and fire["pipeline_run_id"]
    code, flow = await call(jp_fetch, "pipelines", "runs", fire["pipeline_run_id"])
    assert flow["trigger"] == "schedule" and flow["schedule_id"] == schedule["id"]
    await call(jp_fetch, "pipelines", "runs", flow["id"], "cancel", method="POST")
    code, error = await refused(
        jp_fetch,
        "schedules",
        body={"pipeline_path": "p.pipeline.yaml", "cron": "0 6 * * *", "kernel_name": "python3"},
    )
    assert code == 400 and error["details"]["field"] == "kernel_name"


async def test_a_new_lab_starts_its_notifications_from_now(jp_fetch):
    code, page = await call(jp_fetch, "notifications")
    assert page == {"items": [], "last_id": 0}
    code, page = await call(jp_fetch, "notifications", after="0")
    assert page == {"items": [], "last_id": 0}
    code, error = await refused(jp_fetch, "notifications", method="GET", after="-1")
    assert code == 400 and error["details"]["field"] == "after"
