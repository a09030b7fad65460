"""Local deployments with real uvicorn processes: predictions, stop/restart, canary, recovery,
alias-following under continuous traffic, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml
from deploy_support import (
    RequestLoop,
    dataset,
    predict,
    register_models,
    stopping_all,
    training_notebook,
    wait_for,
)

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.errors import InvalidInput, NotFound, Unavailable
from jupyterlab_mlops.events import DEPLOYMENT_FAILED
from jupyterlab_mlops.store import models as m
from jupyterlab_mlops.workflows.deploy import STEPS
from jupyterlab_mlops.workflows.records import WorkflowRecords


@pytest.fixture
def mlops(tmp_path):
    instance = MLOps(root_dir=str(tmp_path), deployment_poll_interval=0.0)
    with stopping_all(instance):
        yield instance
    instance.stop()


@pytest.fixture
def trained(mlops):
    return register_models(mlops)


def _gone(url: str) -> bool:
    try:
        httpx.get(f"{url}/health", timeout=2, trust_env=False)
    except httpx.HTTPError:
        return True
    return False


def test_local_deploy_predicts_like_the_model_then_stop_restart_canary_delete(mlops, trained):
    X, models = trained["X"], trained["models"]
    lines: list[str] = []
    deployment = mlops.deployments.create("churn@production", "local", progress=lines.append)
    assert deployment["status"] == "running"
    assert deployment["version"] == 1 and deployment["follows_alias"] == "production"
    assert deployment["url"].startswith("http://127.0.0.1:")
    assert any("healthy" in line for line in lines)

    body = predict(deployment["url"], X.head(60))
    assert body["version"] == 1
    assert body["predictions"] == models[1].predict(X.head(60)).tolist()
    np.testing.assert_allclose(body["probabilities"], models[1].predict_proba(X.head(60)))

    # stats for the panel: /metrics counters and latency percentiles from the prediction log
    stats = wait_for(
        lambda: (s := mlops.deployments.get(deployment["id"])["stats"])["predictions"] >= 60 and s
    )
    assert stats["requests"] == 1 and stats["errors"] == 0 and stats["error_rate"] == 0.0
    assert 0 < stats["p50_ms"] <= stats["p99_ms"]
    assert "Uvicorn running" in mlops.deployments.logs(deployment["id"])["text"]

    stopped = mlops.deployments.stop(deployment["id"], user="ann")
    assert stopped["status"] == "stopped" and stopped["pid"] is None
    assert _gone(deployment["url"])

    restarted = mlops.deployments.restart(deployment["id"])
    assert restarted["status"] == "running"
    assert (
        predict(restarted["url"], X.head(5))["predictions"] == models[1].predict(X.head(5)).tolist()
    )

    # canary: 100% to v2 in the running process, then removed again
    canaried = mlops.deployments.set_canary(deployment["id"], {"version": 2, "percent": 100})
    assert canaried["config"]["canary"] == {"version": 2, "percent": 100}
    assert canaried["pid"] == restarted["pid"]  # hot swap, same process
    body = predict(restarted["url"], X.head(20))
    assert (body["version"], body["variant"]) == (2, "challenger")
    assert body["predictions"] == models[2].predict(X.head(20)).tolist()
    mlops.deployments.set_canary(deployment["id"], None)
    assert predict(restarted["url"], X.head(5))["variant"] == "champion"

    assert mlops.deployments.delete(deployment["id"]) == {"id": deployment["id"], "deleted": True}
    assert _gone(restarted["url"])
    assert not Path(restarted["log_path"]).parent.exists()
    with pytest.raises(NotFound):
        mlops.deployments.get(deployment["id"])


def test_recovery_marks_deployments_whose_process_is_gone_as_stopped(mlops, trained):
    alive = mlops.deployments.create("churn/1", "local", name="alive")
    killed = mlops.deployments.create("churn/2", "local", name="killed")
    os.killpg(killed["pid"], signal.SIGKILL)
    wait_for(lambda: not mlops.deployments.deployer("local").is_alive(killed))

    # A new server process (a fresh MLOps on the same root) recovers on start.
    restarted_server = MLOps(root_dir=mlops.root_dir, deployment_poll_interval=0.0)
    failures = []
    restarted_server.events.subscribe(DEPLOYMENT_FAILED, lambda e: failures.append(e.payload))
    restarted_server.start()
    try:
        after = {d["name"]: d for d in restarted_server.deployments.list(stats=False)["items"]}
        assert after["killed"]["status"] == "stopped"
        assert "gone" in after["killed"]["status_reason"]
        assert failures == [
            {"deployment_id": killed["id"], "reason": after["killed"]["status_reason"]}
        ]
        assert after["alive"]["status"] == "running"
        assert predict(alive["url"], trained["X"].head(3))["version"] == 1
    finally:
        restarted_server.stop()


def test_alias_switch_under_continuous_requests_loses_none(mlops, trained):
    X = trained["X"]
    deployment = mlops.deployments.create("churn@production", "local")
    loop = RequestLoop(deployment["url"], X.head(10))
    loop.through_alias_move(mlops)
    record = mlops.deployments.get(deployment["id"], stats=False)
    assert record["version"] == 2 and "from v1 to v2" in record["status_reason"]
    assert record["pid"] == deployment["pid"]  # same process: a hot swap, not a restart

    # The server's background follower does the same when the alias moves from elsewhere.
    follower = MLOps(root_dir=mlops.root_dir, deployment_poll_interval=0.2)
    follower.start()
    try:
        assert {"serving.follow_aliases", "serving.liveness"} <= set(follower.scheduler.jobs)
        mlops.registry.set_alias("churn", "production", 1, user="test")
        wait_for(
            lambda: httpx.get(f"{deployment['url']}/health", trust_env=False).json()["version"] == 1
        )
        wait_for(lambda: follower.deployments.get(deployment["id"], stats=False)["version"] == 1)
    finally:
        follower.stop()

    # What the composition root subscribes to ALIAS_CHANGED: follows at once, no polling.
    mlops.registry.set_alias("churn", "production", 2, user="test")
    mlops.deployments.on_alias_changed("churn", "production")
    assert mlops.deployments.get(deployment["id"], stats=False)["version"] == 2
    assert httpx.get(f"{deployment['url']}/health", trust_env=False).json()["version"] == 2
    assert mlops.deployments.sync_aliases() == []  # nothing left to follow


def test_bad_requests_are_clear_errors_and_leave_no_record(mlops, trained):
    service = mlops.deployments
    with pytest.raises(NotFound):
        service.create("nosuchmodel@production", "local")
    with pytest.raises(NotFound):
        service.create("churn/9", "local")
    with pytest.raises(InvalidInput, match="unknown target 'ec2'"):
        service.create("churn/1", "ec2")
    with pytest.raises(InvalidInput, match="config.workers"):
        service.create("churn/1", "local", config={"workers": 0})
    with pytest.raises(InvalidInput, match="unknown config key"):
        service.create("churn/1", "local", config={"gpu": True})
    with pytest.raises(InvalidInput, match="exclusive"):
        service.create(
            "churn/1", "local", config={"canary": {"version": 2}, "shadow": {"version": 2}}
        )
    with pytest.raises(NotFound):
        service.create("churn/1", "local", config={"canary": {"version": 7, "percent": 5}})
    with pytest.raises(InvalidInput):
        service.create("churn@@x", "local")
    with mlops.db.session() as session:
        assert session.query(m.Deployment).count() == 0
    with pytest.raises(NotFound):
        service.stop("nope")


def test_kubernetes_manifests_and_docker_without_engine(mlops, trained, monkeypatch, tmp_path):
    # No engine at this address: the docker deployer must say the context was written, and where.
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    failures = []
    mlops.events.subscribe(DEPLOYMENT_FAILED, lambda e: failures.append(e.payload))
    with pytest.raises(Unavailable) as error:
        mlops.deployments.create("churn/1", "docker")
    context_dir = error.value.details["context_dir"]
    assert f"The build context was written to {context_dir}" in error.value.message
    for name in ("Dockerfile", "requirements.txt", "bundle/mlops-model.json", "mlops-context.json"):
        assert (Path(context_dir) / name).is_file(), name
    failed = mlops.deployments.get(error.value.details["deployment_id"], stats=False)
    assert failed["status"] == "failed"
    assert failures == [{"deployment_id": failed["id"], "reason": failed["status_reason"]}]

    record = mlops.deployments.create(
        "churn@production", "kubernetes", config={"namespace": "ml", "replicas": 2}
    )
    assert record["status"] == "written"
    assert record["url"] == "http://churn-production.ml.svc.cluster.local"
    documents = list(yaml.safe_load_all(Path(record["manifest_path"]).read_text()))
    deployment, service, secret = documents
    assert deployment["kind"] == "Deployment" and service["kind"] == "Service"
    # API keys on by default: the first key's sha256 reaches the pod through a Secret
    assert secret["kind"] == "Secret" and record["api_key"].startswith("mlops_")
    policy = json.loads(secret["stringData"]["security.json"])
    assert policy["require_api_key"] is True
    assert policy["api_key_sha256"] == [hashlib.sha256(record["api_key"].encode()).hexdigest()]
    assert "churn-production.ml.svc.cluster.local" in policy["allowed_hosts"]
    assert "--security-file" in deployment["spec"]["template"]["spec"]["containers"][0]["command"]
    assert deployment["spec"]["replicas"] == 2
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "mlops-churn:1"
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["resources"]["limits"] and container["resources"]["requests"]
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    annotations = deployment["metadata"]["annotations"]
    assert annotations["io.jupyterlab-mlops.model"] == "churn"
    assert annotations["io.jupyterlab-mlops.version"] == "1"


def test_a_process_that_dies_while_serving_is_failed_and_reported(mlops, trained):
    deployment = mlops.deployments.create("churn/1", "local")
    failures = []
    mlops.events.subscribe(DEPLOYMENT_FAILED, lambda e: failures.append(e.payload))
    assert mlops.deployments.check_liveness() == []  # alive: nothing to report
    os.killpg(deployment["pid"], signal.SIGKILL)
    wait_for(lambda: not mlops.deployments.is_alive(deployment["id"]))
    assert mlops.deployments.check_liveness() == [deployment["id"]]
    record = mlops.deployments.get(deployment["id"], stats=False)
    assert record["status"] == "failed" and record["pid"] is None
    assert f"pid {deployment['pid']}" in record["status_reason"]
    assert failures == [{"deployment_id": deployment["id"], "reason": record["status_reason"]}]
    assert mlops.deployments.check_liveness() == []  # reported once


def test_canary_bad_input_leaves_the_live_challenger(mlops, trained):
    deployment = mlops.deployments.create("churn/1", "local")
    mlops.deployments.set_canary(deployment["id"], {"version": 2, "percent": 30})
    for bad, field in (
        ({"version": "x"}, "canary.version"),
        ({"version": 2, "shadow": "yes"}, "canary.shadow"),
        ({"version": 1e30}, "canary.version"),
        ({"version": 2, "percent": float("nan")}, "canary.percent"),
        ({"version": 2, "percent": 2**70}, "canary.percent"),
        ({"version": 2}, "canary"),
        ({"percent": 20}, "canary"),
        ([2, 30], "canary"),
    ):
        with pytest.raises(InvalidInput) as caught:
            mlops.deployments.set_canary(deployment["id"], bad)
        assert caught.value.details["field"] == field, (bad, caught.value.message)
    record = mlops.deployments.get(deployment["id"], stats=False)
    assert record["config"]["canary"] == {"version": 2, "percent": 30}
    health = httpx.get(f"{deployment['url']}/health", trust_env=False).json()
    assert health["challenger"]["version"] == 2 and health["canary_percent"] == 30
    # shadow, then removed with percent 0
    shadowed = mlops.deployments.set_canary(deployment["id"], {"version": 2, "shadow": True})
    assert shadowed["config"]["shadow"] == {"version": 2} and "canary" not in shadowed["config"]
    removed = mlops.deployments.set_canary(deployment["id"], {"version": 2, "percent": 0})
    assert "shadow" not in removed["config"] and removed["challenger_version"] is None


# -- one-click deploy: a persisted workflow that survives a restart ---------------------------


def _dead_owner() -> str:
    """``host:pid`` of a process that has exited (a server that died)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}"


def test_one_click_deploy_resumes_after_a_restart_without_a_second_run(tmp_path):
    training_notebook(tmp_path / "train.ipynb")
    gate = tmp_path / "release-the-run"
    first = MLOps(root_dir=str(tmp_path), deployment_poll_interval=0.0)
    first.start()
    job = first.deploy_jobs.submit("train.ipynb", {"gate": str(gate), "depth": 3})
    assert job["status"] == "running" and job["target"] == "local"
    running = wait_for(
        lambda: (
            (j := first.deploy_jobs.get(job["id"]))["run_id"]
            and j["steps"][0]["status"] == "running"
            and j
        ),
        timeout=120,
    )
    first.stop()  # the server stops while the run is still going

    second = MLOps(root_dir=str(tmp_path), deployment_poll_interval=0.0)
    with stopping_all(second):
        left = second.deploy_jobs.get(job["id"])
        assert left["status"] == "running" and left["steps"][0]["status"] == "running"
        second.start()
        gate.touch()
        done = second.deploy_jobs.wait(job["id"], timeout=300)
        assert done["status"] == "succeeded", done
        assert [s["status"] for s in done["steps"]] == ["done", "done", "done", "done"]
        assert done["run_id"] == running["run_id"]  # waited for, not submitted again
        assert second.runs.list(notebook="train.ipynb")["total"] == 1
        assert (done["model"], done["version"]) == ("gated", 1)
        assert predict(done["url"], dataset()[0].head(5))["version"] == 1
        assert second.deploy_jobs.list()["total"] == 1
    second.stop()


def _left_by_a_dead_server(mlops: MLOps, *, run_outputs: dict, run_status: str) -> str:
    """A deploy workflow as a server that died would have left it."""
    records = WorkflowRecords(mlops.db, owner=_dead_owner())
    workflow = records.create(
        "deploy",
        list(STEPS),
        inputs={"notebook_path": "train.ipynb", "parameters": {}, "target": "local"},
        subject="train.ipynb",
        user="ann",
    )
    if run_status == "skipped":
        records.finish_step(workflow["id"], "run", "skipped", outputs=run_outputs)
        records.start_step(workflow["id"], "register")
        records.set_outputs(workflow["id"], run_id="r1", model="churn", version=2)
        records.finish_step(workflow["id"], "register", outputs={"model": "churn", "version": 2})
        records.start_step(workflow["id"], "serve", "deploying churn/2 (local)")
    else:
        records.start_step(workflow["id"], "run", "submitting the notebook")
        records.update_step(workflow["id"], "run", **run_outputs)
    return workflow["id"]


def test_a_deploy_left_mid_serve_by_a_dead_server_ends_serving(mlops, trained):
    workflow_id = _left_by_a_dead_server(
        mlops, run_outputs={"run_id": "r1", "model": "churn", "version": 2}, run_status="skipped"
    )
    server = MLOps(root_dir=mlops.root_dir, deployment_poll_interval=0.0)
    with stopping_all(server):
        server.start()
        job = server.deploy_jobs.wait(workflow_id, timeout=180)
        assert job["status"] == "succeeded", job
        assert [s["status"] for s in job["steps"]] == ["skipped", "done", "done", "done"]
        assert (job["model"], job["version"], job["created_by"]) == ("churn", 2, "ann")
        assert predict(job["url"], trained["X"].head(4))["version"] == 2
    server.stop()


def test_a_deploy_whose_run_is_gone_fails_with_the_reason(mlops, trained):
    workflow_id = _left_by_a_dead_server(
        mlops, run_outputs={"run_id": "vanished"}, run_status="running"
    )
    server = MLOps(root_dir=mlops.root_dir, deployment_poll_interval=0.0)
    try:
        server.start()
        job = server.deploy_jobs.wait(workflow_id, timeout=60)
    finally:
        server.stop()
    assert job["status"] == "failed"
    assert job["error"] == "run vanished no longer exists"
    assert [s["status"] for s in job["steps"]] == ["failed", "pending", "pending", "pending"]
    assert job["steps"][0]["detail"] == job["error"]


def test_one_click_deploy_uses_the_configured_default_target(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")  # manifests only
    training_notebook(tmp_path / "train.ipynb")
    mlops = MLOps(
        root_dir=str(tmp_path), deployment_poll_interval=0.0, default_deploy_target="kubernetes"
    )
    try:
        job = mlops.deploy_jobs.submit("train.ipynb", {"depth": 1})
        assert job["target"] == "kubernetes"
        done = mlops.deploy_jobs.wait(job["id"], timeout=300)
        assert done["status"] == "succeeded", done
        deployment = mlops.deployments.get(done["deployment_id"], stats=False)
        assert (deployment["target"], deployment["status"]) == ("kubernetes", "written")
        assert done["url"] == "http://gated.default.svc.cluster.local"
        assert Path(deployment["manifest_path"]).is_file()
        with pytest.raises(InvalidInput) as caught:
            mlops.deploy_jobs.submit("train.ipynb", target="ec2")
        assert caught.value.details["field"] == "target"
        assert mlops.deploy_jobs.list()["total"] == 1
    finally:
        mlops.stop()
