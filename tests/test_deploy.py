"""Local deployments with real uvicorn processes: predictions, stop/restart, canary, recovery,
alias-following under continuous traffic, bad input."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import numpy as np
import pytest
import yaml
from deploy_support import RequestLoop, predict, register_models, stopping_all, wait_for

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.errors import InvalidInput, NotFound, Unavailable
from jupyterlab_mlops.store import models as m


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
    restarted_server.start()
    try:
        after = {d["name"]: d for d in restarted_server.deployments.list(stats=False)["items"]}
        assert after["killed"]["status"] == "stopped"
        assert "gone" in after["killed"]["status_reason"]
        assert after["alive"]["status"] == "running"
        assert predict(alive["url"], trained["X"].head(3))["version"] == 1
    finally:
        restarted_server.stop()


def test_alias_switch_under_continuous_requests_loses_none(mlops, trained):
    X = trained["X"]
    deployment = mlops.deployments.create("churn@production", "local")
    loop = RequestLoop(deployment["url"], X.head(10))
    loop.start()
    try:
        wait_for(lambda: len(loop.results) >= 20)
        mlops.registry.set_alias("churn", "production", 2, user="test")
        switched = mlops.deployments.sync_aliases()
        assert [d["version"] for d in switched] == [2]
        seen = len(loop.results)
        wait_for(lambda: len(loop.results) >= seen + 20)
    finally:
        loop.halt.set()
        loop.join(timeout=30)
    assert loop.failures == []
    versions = loop.versions()
    assert versions[0] == 1 and versions[-1] == 2
    assert versions == sorted(versions)  # never back to v1 after the switch
    record = mlops.deployments.get(deployment["id"], stats=False)
    assert record["version"] == 2 and "from v1 to v2" in record["status_reason"]
    assert record["pid"] == deployment["pid"]  # same process: a hot swap, not a restart

    # The server's background follower does the same when the alias moves from elsewhere.
    follower = MLOps(root_dir=mlops.root_dir, deployment_poll_interval=0.2)
    follower.start()
    try:
        mlops.registry.set_alias("churn", "production", 1, user="test")
        wait_for(
            lambda: httpx.get(f"{deployment['url']}/health", trust_env=False).json()["version"] == 1
        )
        wait_for(lambda: follower.deployments.get(deployment["id"], stats=False)["version"] == 1)
    finally:
        follower.stop()


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
    with pytest.raises(Unavailable) as error:
        mlops.deployments.create("churn/1", "docker")
    context_dir = error.value.details["context_dir"]
    assert f"The build context was written to {context_dir}" in error.value.message
    for name in ("Dockerfile", "requirements.txt", "bundle/mlops-model.json", "mlops-context.json"):
        assert (Path(context_dir) / name).is_file(), name
    failed = mlops.deployments.get(error.value.details["deployment_id"], stats=False)
    assert failed["status"] == "failed"

    record = mlops.deployments.create(
        "churn@production", "kubernetes", config={"namespace": "ml", "replicas": 2}
    )
    assert record["status"] == "written"
    assert record["url"] == "http://churn-production.ml.svc.cluster.local"
    documents = list(yaml.safe_load_all(Path(record["manifest_path"]).read_text()))
    deployment, service = documents
    assert deployment["kind"] == "Deployment" and service["kind"] == "Service"
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
