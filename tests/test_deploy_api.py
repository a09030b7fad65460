"""``/mlops/api/deployments`` and ``/mlops/api/deploy/…`` in a real Jupyter server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time

import httpx
import nbformat
import pytest
from deploy_support import register_models, stopping_all
from tornado.httpclient import HTTPClientError


@pytest.fixture
def server_mlops(jp_serverapp):
    mlops = jp_serverapp.web_app.settings["mlops"]
    with stopping_all(mlops):
        yield mlops


async def call(jp_fetch, *path, method="GET", body=None, **params):
    kwargs = {"method": method}
    if body is not None:
        kwargs["body"] = body if isinstance(body, str) else json.dumps(body)
    elif method in ("POST", "PUT"):
        kwargs["body"] = "{}"
    if params:
        kwargs["params"] = params
    response = await jp_fetch("mlops", "api", *path, **kwargs)
    return response.code, json.loads(response.body)


async def error(jp_fetch, *path, method="GET", body=None):
    with pytest.raises(HTTPClientError) as caught:
        await call(jp_fetch, *path, method=method, body=body)
    return caught.value.code, json.loads(caught.value.response.body)["error"]


async def test_deployment_lifecycle_over_rest(jp_fetch, server_mlops):
    trained = register_models(server_mlops)
    X, model = trained["X"], trained["models"][1]

    body = {"model": "churn@production", "target": "local"}
    code, created = await call(jp_fetch, "deployments", method="POST", body=body)
    assert code == 201
    assert created["status"] == "running" and created["version"] == 1
    assert created["url"].startswith("http://127.0.0.1:")
    deployment_id = created["id"]

    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.post(
            f"{created['url']}/predict", json={"records": X.head(10).to_dict(orient="records")}
        )
    assert response.json()["predictions"] == model.predict(X.head(10)).tolist()

    code, page = await call(jp_fetch, "deployments", limit="10", offset="0")
    assert code == 200
    assert (page["total"], page["offset"], page["limit"]) == (1, 0, 10)
    item = page["items"][0]
    assert item["id"] == deployment_id and item["stats"]["requests"] == 1
    assert set(item["stats"]) >= {"requests", "errors", "error_rate", "p50_ms", "p99_ms"}

    code, one = await call(jp_fetch, "deployments", deployment_id)
    assert one["url"] == created["url"] and one["follows_alias"] == "production"

    code, logs = await call(jp_fetch, "deployments", deployment_id, "logs", tail="50")
    assert "Uvicorn running" in logs["text"]

    code, canary = await call(
        jp_fetch,
        "deployments",
        deployment_id,
        "canary",
        method="PUT",
        body={"version": 2, "percent": 25},
    )
    assert canary["config"]["canary"] == {"version": 2, "percent": 25}
    assert canary["challenger_version"] == 2

    code, stopped = await call(jp_fetch, "deployments", deployment_id, "stop", method="POST")
    assert stopped["status"] == "stopped"
    code, restarted = await call(jp_fetch, "deployments", deployment_id, "restart", method="POST")
    assert restarted["status"] == "running"
    async with httpx.AsyncClient(trust_env=False) as client:
        health = (await client.get(f"{restarted['url']}/health")).json()
    assert health["challenger"]["version"] == 2 and health["canary_percent"] == 25

    code, deleted = await call(jp_fetch, "deployments", deployment_id, method="DELETE")
    assert deleted == {"id": deployment_id, "deleted": True}
    assert (await error(jp_fetch, "deployments", deployment_id))[0] == 404


@pytest.mark.parametrize(
    "body, status, fragment",
    [
        ({"model": "ghost@production"}, 404, "ghost"),
        ({"model": "churn/1", "target": "ec2"}, 400, "unknown target 'ec2'"),
        ({"target": "local"}, 400, "'model' is required"),
        ({"model": 3}, 400, "'model' must be a string"),
        ({"model": "churn/x"}, 400, "positive integer"),
        ({"model": "churn/1", "config": {"workers": "many"}}, 400, "config.workers"),
        ({"model": "churn/1", "config": []}, 400, "config must be a JSON object"),
        ({"model": "churn/1", "colour": "red"}, 400, "unknown field(s) colour"),
        ("not json", 400, "not valid JSON"),
    ],
)
async def test_bad_create_requests_are_json_4xx(jp_fetch, server_mlops, body, status, fragment):
    code, err = await error(jp_fetch, "deployments", method="POST", body=body)
    assert code == status and fragment in err["message"], err
    assert server_mlops.deployments.list()["total"] == 0


async def test_other_error_paths_are_json_4xx(jp_fetch, server_mlops):
    assert (await error(jp_fetch, "deployments", "nope"))[0] == 404
    assert (await error(jp_fetch, "deployments", "nope", "stop", method="POST"))[0] == 404
    assert (await error(jp_fetch, "deployments", "nope", "logs"))[0] == 404
    assert (await error(jp_fetch, "deployments", "nope", method="DELETE"))[0] == 404
    code, err = await error(
        jp_fetch, "deployments", "nope", "canary", method="PUT", body={"version": 2, "size": 1}
    )
    assert code == 400 and "size" in err["message"]
    code, err = await error(jp_fetch, "deploy", "jobs", "nope")
    assert code == 404
    code, err = await error(jp_fetch, "deploy", "notebook", method="POST", body={"path": "x.ipynb"})
    assert code == 404 and "x.ipynb" in err["message"]
    code, err = await error(
        jp_fetch, "deploy", "notebook", method="POST", body={"path": "../../etc/passwd"}
    )
    assert code == 403
    code, err = await error(jp_fetch, "deploy", "notebook", method="POST", body={})
    assert code == 400


async def test_one_click_deploy_refuses_bad_parameters_before_starting(
    jp_fetch, jp_root_dir, server_mlops
):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("C = 1.0")
    cell.metadata["tags"] = ["parameters"]
    nb.cells.append(cell)
    nbformat.write(nb, jp_root_dir / "params.ipynb")
    for parameters, fragment in (
        ({"C": "abc"}, "parameter 'C' expects float"),
        ({"gamma": 1}, "unknown parameter 'gamma'"),
    ):
        code, err = await error(
            jp_fetch,
            "deploy",
            "notebook",
            method="POST",
            body={"path": "params.ipynb", "parameters": parameters},
        )
        assert code == 400 and fragment in err["message"], err
    _, jobs = await call(jp_fetch, "deploy", "jobs")
    assert jobs["total"] == 0


TRAIN_NOTEBOOK = [
    ("code", "n_estimators = 5", ["parameters"]),
    (
        "code",
        "from sklearn.datasets import load_breast_cancer\n"
        "from sklearn.ensemble import RandomForestClassifier\n"
        "import jupyterlab_mlops as mlops\n"
        "X, y = load_breast_cancer(return_X_y=True, as_frame=True)\n"
        "model = RandomForestClassifier(n_estimators=n_estimators, random_state=0).fit(X, y)\n"
        "mlops.register_model(model, 'cancer', X_sample=X.head(50))",
        [],
    ),
]


async def test_one_click_deploy_runs_registers_serves(jp_fetch, jp_root_dir, server_mlops):
    if not hasattr(type(server_mlops), "runs"):
        pytest.fail("MLOps.runs (the runs service) is missing: one-click deploy needs it")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.metadata["language_info"] = {"name": "python"}
    for _kind, source, tags in TRAIN_NOTEBOOK:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.write(nb, jp_root_dir / "train.ipynb")
    _, plan = await call(jp_fetch, "deploy", "notebook", path="train.ipynb")
    assert plan["needs_run"] is True and plan["model"] is None

    code, job = await call(
        jp_fetch,
        "deploy",
        "notebook",
        method="POST",
        body={"path": "train.ipynb", "parameters": {"n_estimators": 7}},
    )
    assert code == 202 and [s["name"] for s in job["steps"]] == [
        "run",
        "register",
        "serve",
        "healthy",
    ]
    deadline = time.monotonic() + 240
    while job["status"] == "running" and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        _, job = await call(jp_fetch, "deploy", "jobs", job["id"])
    assert job["status"] == "succeeded", job
    assert [s["status"] for s in job["steps"]] == ["done", "done", "done", "done"]
    assert job["model"] == "cancer" and job["version"] == 1 and job["run_id"]
    version = server_mlops.registry.resolve("cancer/1")
    assert version["run_id"] == job["run_id"]

    # The ready-to-copy curl call works as printed.
    result = subprocess.run(job["curl"], shell=True, capture_output=True, text=True, timeout=30)
    answer = json.loads(result.stdout)
    assert answer["model"] == "cancer" and answer["version"] == 1
    assert len(answer["predictions"]) == 1

    # A second click: the notebook's latest successful run registered a model -> no new run.
    _, plan = await call(jp_fetch, "deploy", "notebook", path="train.ipynb")
    assert plan == {
        "notebook_path": "train.ipynb",
        "needs_run": False,
        "run_id": job["run_id"],
        "model": "cancer",
        "version": 1,
    }
    code, again = await call(
        jp_fetch, "deploy", "notebook", method="POST", body={"path": "train.ipynb"}
    )
    deadline = time.monotonic() + 60
    while again["status"] == "running" and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        _, again = await call(jp_fetch, "deploy", "jobs", again["id"])
    assert again["status"] == "succeeded", again
    assert again["steps"][0]["status"] == "skipped"
    assert again["deployment_id"] == job["deployment_id"] and again["url"] == job["url"]
