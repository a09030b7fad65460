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

from jupyterlab_mlops.handlers.openapi import build_openapi
from jupyterlab_mlops.serving.schemas import (
    DeletedDeployment,
    DeployJob,
    DeployJobPage,
    Deployment,
    DeploymentLogs,
    DeploymentPage,
    DeploymentWithStats,
    DeployPlan,
)


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


BAD_CANARIES = [
    ({"version": "x"}, "version"),  # used to answer 200 and remove the live challenger
    ({"version": 1, "shadow": "yes"}, "shadow"),  # used to turn shadow on
    ({"version": 1e30}, "version"),
    ('{"version": 2, "percent": NaN}', "percent"),
    ('{"version": 2, "percent": Infinity}', "percent"),
    ('{"version": 2, "percent": 1e400}', "percent"),
    ('{"version": 99999999999999999999999, "percent": 5}', "version"),
    ({"version": 2, "percent": 25.5}, "percent"),
    ({"version": 2, "weight": 5}, "weight"),
    ("[" * 100_000, None),
]


async def test_deployment_lifecycle_over_rest(jp_fetch, server_mlops):
    trained = register_models(server_mlops)
    X, model = trained["X"], trained["models"][1]

    body = {"model": "churn@production", "target": "local"}
    code, created = await call(jp_fetch, "deployments", method="POST", body=body)
    assert code == 201
    assert created["status"] == "running" and created["version"] == 1
    assert created["url"].startswith("http://127.0.0.1:")
    assert "model_name" not in created  # one name per field: "model"
    Deployment.model_validate(created)  # the OpenAPI document describes what is answered
    deployment_id = created["id"]

    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.post(
            f"{created['url']}/predict", json={"records": X.head(10).to_dict(orient="records")}
        )
    assert response.json()["predictions"] == model.predict(X.head(10)).tolist()

    code, page = await call(jp_fetch, "deployments", limit="10", offset="0")
    assert code == 200
    assert (page["total"], page["offset"], page["limit"]) == (1, 0, 10)
    DeploymentPage.model_validate(page)
    item = page["items"][0]
    assert item["id"] == deployment_id and item["stats"]["requests"] == 1
    assert set(item["stats"]) >= {"requests", "errors", "error_rate", "p50_ms", "p99_ms"}

    code, one = await call(jp_fetch, "deployments", deployment_id)
    assert one["url"] == created["url"] and one["follows_alias"] == "production"
    DeploymentWithStats.model_validate(one)

    code, logs = await call(jp_fetch, "deployments", deployment_id, "logs", tail="50")
    assert "Uvicorn running" in logs["text"]
    DeploymentLogs.model_validate(logs)

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
    Deployment.model_validate(canary)

    # Bad canary bodies: a 400 naming the field, and the live split is untouched.
    for bad, field in BAD_CANARIES:
        code, err = await error(
            jp_fetch, "deployments", deployment_id, "canary", method="PUT", body=bad
        )
        assert code == 400, (bad, err)
        if field is None:
            assert "nests deeper" in err["message"], err
        else:
            assert err["details"]["field"] == field, (bad, err)
    _, still = await call(jp_fetch, "deployments", deployment_id)
    assert still["config"]["canary"] == {"version": 2, "percent": 25}
    async with httpx.AsyncClient(trust_env=False) as client:
        health = (await client.get(f"{created['url']}/health")).json()
    assert health["challenger"]["version"] == 2 and health["canary_percent"] == 25

    code, stopped = await call(jp_fetch, "deployments", deployment_id, "stop", method="POST")
    assert stopped["status"] == "stopped"
    code, restarted = await call(jp_fetch, "deployments", deployment_id, "restart", method="POST")
    assert restarted["status"] == "running"
    async with httpx.AsyncClient(trust_env=False) as client:
        health = (await client.get(f"{restarted['url']}/health")).json()
    assert health["challenger"]["version"] == 2 and health["canary_percent"] == 25

    code, deleted = await call(jp_fetch, "deployments", deployment_id, method="DELETE")
    assert deleted == {"id": deployment_id, "deleted": True}
    DeletedDeployment.model_validate(deleted)
    assert (await error(jp_fetch, "deployments", deployment_id))[0] == 404


@pytest.mark.parametrize(
    "body, status, fragment, field",
    [
        ({"model": "ghost@production"}, 404, "ghost", None),
        ({"model": "churn/1", "target": "ec2"}, 400, "unknown target 'ec2'", "target"),
        ({"target": "local"}, 400, "'model' is required", "model"),
        ({"model": 3}, 400, "'model': Input should be a valid string", "model"),
        ({"model": "churn/x"}, 400, "positive integer", None),
        (
            {"model": "churn/1", "config": {"workers": "many"}},
            400,
            "config.workers",
            "config.workers",
        ),
        (
            {"model": "churn/1", "config": []},
            400,
            "'config': Input should be a valid dict",
            "config",
        ),
        ({"model": "churn/1", "colour": "red"}, 400, "unknown field 'colour'", "colour"),
        # several models in one process (config.models)
        (
            {"config": {"models": ["churn/1", "churn@production"]}},
            400,
            "one entry per model",
            "config.models",
        ),
        ({"model": "churn/1", "config": {"models": ["churn/2"]}}, 400, "not both", "model"),
        (
            {"target": "docker", "config": {"models": ["churn/1"]}},
            400,
            "local target",
            "config.models",
        ),
        (
            {"config": {"models": [{"model": "churn/1", "shadow": {"version": 0}}]}},
            400,
            "greater than or equal to 1",
            "config.models.0.shadow.version",
        ),
        ("not json", 400, "not valid JSON", None),
        # what JSON allows but no field takes: a 400 naming the field, never a 500
        ('{"model": "churn/1", "config": {"workers": NaN}}', 400, "finite", "config.workers"),
        ('{"model": "churn/1", "config": {"workers": Infinity}}', 400, "finite", "config.workers"),
        ('{"model": "churn/1", "config": {"workers": 1e400}}', 400, "finite", "config.workers"),
        ('{"model": "churn/1", "config": {"replicas": 1e30}}', 400, "integer", "config.replicas"),
        (
            '{"model": "churn/1", "config": {"replicas": 99999999999999999999999}}',
            400,
            "64-bit",
            "config.replicas",
        ),
        (
            {"model": "churn/1", "config": {"canary": {"version": 1e30, "percent": 5}}},
            400,
            "valid integer",
            "config.canary.version",
        ),
        (
            {"model": "churn/1", "config": {"canary": {"version": 2, "percent": 101}}},
            400,
            "less than or equal to 100",
            "config.canary.percent",
        ),
        (
            {"model": "churn/1", "config": {"batching": {"max_batch_rows": 2.5}}},
            400,
            "valid integer",
            "config.batching.max_batch_rows",
        ),
        (
            {"model": "churn/1", "config": {"extra_columns": "keep"}},
            400,
            "'reject' or 'ignore'",
            "config.extra_columns",
        ),
        (
            '{"model": "churn/1", "config": {"resources": ' + "[" * 100 + "]" * 100 + "}}",
            400,
            "nests deeper",
            None,
        ),
        ("[" * 100_000, 400, "nests deeper", None),
    ],
)
async def test_bad_create_requests_are_json_4xx(
    jp_fetch, server_mlops, body, status, fragment, field
):
    code, err = await error(jp_fetch, "deployments", method="POST", body=body)
    assert code == status and fragment in err["message"], err
    if field is not None:
        assert err["details"]["field"] == field, err
    assert server_mlops.deployments.list()["total"] == 0


@pytest.mark.parametrize(
    "params, field",
    [
        ({"offset": "99999999999999999999999"}, "offset"),
        ({"offset": "-1"}, "offset"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1e400"}, "limit"),
        ({"stats": "maybe"}, "stats"),
    ],
)
async def test_bad_list_queries_are_400_naming_the_argument(jp_fetch, server_mlops, params, field):
    for path in (("deployments",), ("deploy", "jobs")):
        if path != ("deployments",) and field == "stats":
            continue
        with pytest.raises(HTTPClientError) as caught:
            await call(jp_fetch, *path, **params)
        body = json.loads(caught.value.response.body)["error"]
        assert caught.value.code == 400 and body["details"]["field"] == field, body


async def test_other_error_paths_are_json_4xx(jp_fetch, server_mlops):
    assert (await error(jp_fetch, "deployments", "nope"))[0] == 404
    assert (await error(jp_fetch, "deployments", "nope", "stop", method="POST"))[0] == 404
    assert (await error(jp_fetch, "deployments", "nope", "logs"))[0] == 404
    assert (await error(jp_fetch, "deployments", "nope", method="DELETE"))[0] == 404
    code, err = await error(
        jp_fetch, "deployments", "nope", "canary", method="PUT", body={"version": 2, "size": 1}
    )
    assert code == 400 and "size" in err["message"] and err["details"]["field"] == "size"
    with pytest.raises(HTTPClientError) as caught:
        await call(jp_fetch, "deployments", "nope", "logs", tail="1e400")
    assert caught.value.code == 400
    assert json.loads(caught.value.response.body)["error"]["details"]["field"] == "tail"
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
    for body, field in (
        ({"path": "params.ipynb", "parameters": []}, "parameters"),
        ({"path": 3}, "path"),
        ({"path": "params.ipynb", "target": "ec2"}, "target"),
        ({"path": "params.ipynb", "parameters": {"C": 0.5}, "colour": 1}, "colour"),
        ('{"path": "params.ipynb", "parameters": {"C": NaN}}', "parameters.C"),
        ('{"path": "params.ipynb", "parameters": {"C": 1e400}}', "parameters.C"),
        ('{"path": "params.ipynb", "parameters": {"C": 99999999999999999999999}}', "parameters.C"),
    ):
        code, err = await error(jp_fetch, "deploy", "notebook", method="POST", body=body)
        assert code == 400 and err["details"]["field"] == field, (body, err)
    _, jobs = await call(jp_fetch, "deploy", "jobs")
    assert jobs["total"] == 0
    DeployJobPage.model_validate(jobs)


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
    DeployPlan.model_validate(plan)

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
    DeployJob.model_validate(job)
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


async def test_openapi_describes_every_deployment_route(jp_fetch):
    response = await jp_fetch("mlops", "api", "openapi.json")
    document = json.loads(response.body)
    assert document == json.loads(json.dumps(build_openapi()))
    paths = document["paths"]
    expected = {
        ("/mlops/api/deployments", "get"): "DeploymentPage",
        ("/mlops/api/deployments", "post"): "Deployment",
        ("/mlops/api/deployments/{deployment_id}", "get"): "DeploymentWithStats",
        ("/mlops/api/deployments/{deployment_id}", "delete"): "DeletedDeployment",
        ("/mlops/api/deployments/{deployment_id}/stop", "post"): "Deployment",
        ("/mlops/api/deployments/{deployment_id}/restart", "post"): "Deployment",
        ("/mlops/api/deployments/{deployment_id}/logs", "get"): "DeploymentLogs",
        ("/mlops/api/deployments/{deployment_id}/canary", "put"): "Deployment",
        ("/mlops/api/deploy/notebook", "get"): "DeployPlan",
        ("/mlops/api/deploy/notebook", "post"): "DeployJob",
        ("/mlops/api/deploy/jobs", "get"): "DeployJobPage",
        ("/mlops/api/deploy/jobs/{job_id}", "get"): "DeployJob",
    }
    for (path, method), model in expected.items():
        operation = paths[path][method]
        success = next(code for code in operation["responses"] if code.startswith("2"))
        schema = operation["responses"][success]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model}"}, (path, method)
    bodies = {
        ("/mlops/api/deployments", "post"): "CreateDeployment",
        ("/mlops/api/deployments/{deployment_id}/canary", "put"): "CanaryUpdate",
        ("/mlops/api/deploy/notebook", "post"): "DeployNotebook",
    }
    for (path, method), model in bodies.items():
        schema = paths[path][method]["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{model}"}
    config = document["components"]["schemas"]["DeploymentConfig"]["properties"]
    assert {"batching", "workers", "canary", "shadow", "extra_columns"} <= set(config)
    listing = {p["name"] for p in paths["/mlops/api/deployments"]["get"]["parameters"]}
    assert {"offset", "limit", "status", "model", "target", "stats"} <= listing
