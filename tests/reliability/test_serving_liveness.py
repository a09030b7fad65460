"""kill -9 of a serving process and of a serving container, with the scheduler's liveness job
running: the deployment is ``failed`` with its reason within 10 s, and ``restart_policy:
on-failure`` brings it back (counted in ``restarts``) until ``max_restarts``."""

from __future__ import annotations

import contextlib
import os
import signal

import httpx
import psutil
import pytest
from deploy_support import BASE_IMAGE, dataset, predict, register_models, stopping_all
from polling import wait_for

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.errors import Unavailable
from jupyterlab_mlops.events import DEPLOYMENT_FAILED
from jupyterlab_mlops.serving.deployers.docker import docker_client

DETECTED_WITHIN = 10.0  # seconds: the bound for a dead deployment to show as failed
ON_FAILURE = {"restart_policy": {"policy": "on-failure", "max_restarts": 1, "backoff_seconds": 0}}


@pytest.fixture
def mlops(tmp_path):
    instance = MLOps(
        root_dir=str(tmp_path),
        deployment_poll_interval=0.5,
        docker_base_image=BASE_IMAGE,
        docker_prefetch_wheels=True,  # pip inside the build cannot reach PyPI here
    )
    with stopping_all(instance):
        instance.start()  # the scheduler runs serving.liveness every 0.5 s
        try:
            yield instance
        finally:
            instance.stop()  # first: liveness must not restart what the clean-up stops


def _failures(mlops) -> list[dict]:
    seen: list[dict] = []
    mlops.events.subscribe(DEPLOYMENT_FAILED, lambda event: seen.append(event.payload))
    return seen


def test_killed_local_process_is_failed_then_restarted_once(mlops):
    register_models(mlops)
    X, _ = dataset()
    failures = _failures(mlops)
    deployment = mlops.deployments.create("churn/1", "local", config=ON_FAILURE)
    first_pid = deployment["pid"]
    assert deployment["restarts"] == 0 and "api_key" not in deployment  # local: keys off

    os.killpg(first_pid, signal.SIGKILL)
    wait_for(lambda: failures, timeout=DETECTED_WITHIN)
    assert failures[0]["deployment_id"] == deployment["id"]
    assert f"pid {first_pid}) exited unexpectedly" in failures[0]["reason"]
    assert "restart 1 of 1" in failures[0]["reason"]

    revived = wait_for(
        lambda: (
            (d := mlops.deployments.get(deployment["id"], stats=False))["status"] == "running"
            and d["restarts"] == 1
            and d
        ),
        timeout=120,
    )
    assert revived["pid"] != first_pid and "restarted by restart_policy" in revived["status_reason"]
    assert predict(revived["url"], X.head(5))["version"] == 1

    os.killpg(revived["pid"], signal.SIGKILL)  # max_restarts reached: it stays failed
    wait_for(lambda: len(failures) == 2, timeout=DETECTED_WITHIN)
    final = wait_for(
        lambda: (
            (d := mlops.deployments.get(deployment["id"], stats=False))["status"] == "failed" and d
        )
    )
    assert "not restarted: 1 restarts made (max_restarts)" in final["status_reason"]
    assert final["restarts"] == 1 and final["pid"] is None
    running = mlops.deployments.list(status="running", stats=False)["items"]
    assert deployment["id"] not in [d["id"] for d in running]


def test_local_process_that_stops_answering_health_is_failed(mlops):
    register_models(mlops)
    failures = _failures(mlops)
    deployment = mlops.deployments.create("churn/1", "local")
    os.killpg(deployment["pid"], signal.SIGSTOP)  # alive, but answers nothing
    try:
        wait_for(lambda: failures, timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(deployment["pid"], signal.SIGCONT)
    record = mlops.deployments.get(deployment["id"], stats=False)
    assert record["status"] == "failed"
    assert "stopped answering" in record["status_reason"] and "/health" in record["status_reason"]
    wait_for(lambda: not psutil.pid_exists(deployment["pid"]))  # the hung process was ended


@pytest.fixture
def engine():
    try:
        client = docker_client(timeout=900)
        client.images.get(BASE_IMAGE)
    except Unavailable as err:
        pytest.skip(f"no Docker engine reachable ({err.message}); `make test` starts one")
    except Exception as err:  # noqa: BLE001 - docker.errors.ImageNotFound
        pytest.skip(f"no base image {BASE_IMAGE} ({err}); scripts/docker-engine.sh base-image")
    return client


def test_killed_container_is_failed_with_its_state_then_restarted(engine, mlops):
    register_models(mlops)
    X, _ = dataset()
    failures = _failures(mlops)
    deployment = mlops.deployments.create("churn/1", "docker", config=ON_FAILURE)
    headers = {"Authorization": f"Bearer {deployment['api_key']}"}
    container = engine.containers.get(deployment["container_id"])

    container.kill(signal="SIGKILL")
    wait_for(lambda: failures, timeout=DETECTED_WITHIN)
    reason = failures[0]["reason"]
    assert "exited" in reason and "exit code 137" in reason and "restart 1 of 1" in reason

    revived = wait_for(
        lambda: (
            (d := mlops.deployments.get(deployment["id"], stats=False))["status"] == "running"
            and d["restarts"] == 1
            and d
        ),
        timeout=120,
    )
    with httpx.Client(headers=headers, timeout=30, trust_env=False) as client:
        assert predict(revived["url"], X.head(5), client)["version"] == 1
    # a container killed again is not restarted (max_restarts 1) and says why
    engine.containers.get(deployment["container_id"]).kill(signal="SIGKILL")
    final = wait_for(
        lambda: (
            (d := mlops.deployments.get(deployment["id"], stats=False))["status"] == "failed" and d
        ),
        timeout=DETECTED_WITHIN,
    )
    assert "exit code 137" in final["status_reason"] and "max_restarts" in final["status_reason"]
