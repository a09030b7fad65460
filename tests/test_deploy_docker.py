"""Serving containers: the build context is complete and valid, and a real image builds, runs
and answers like the model. ``make test`` starts a Docker engine (scripts/docker-engine.sh) and
exports DOCKER_HOST; without a reachable engine the image test is skipped, saying so."""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import json
import re
import subprocess
import time
from pathlib import Path

import dockerfile
import httpx
import numpy as np
import pytest
from deploy_support import (
    BASE_IMAGE,
    RequestLoop,
    predict,
    register_models,
    stopping_all,
)
from packaging.utils import canonicalize_name

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.errors import Unavailable
from jupyterlab_mlops.serving.deployers.docker import docker_client, write_context
from jupyterlab_mlops.serving.deployers.local import ADMIN_TOKEN_ENV
from jupyterlab_mlops.store import models as m

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def mlops(tmp_path):
    instance = MLOps(
        root_dir=str(tmp_path),
        deployment_poll_interval=0.0,
        docker_base_image=BASE_IMAGE,
        docker_prefetch_wheels=True,
    )
    with stopping_all(instance):
        yield instance
    instance.stop()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_build_context_is_complete_and_valid(mlops, tmp_path):
    register_models(mlops)
    ca = tmp_path / "corp-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    context = tmp_path / "ctx"
    summary = write_context(
        mlops, "churn@production", context, extra_ca_bundle=str(ca), prefetch_wheels=False
    )
    assert summary["image"] == "mlops-churn:1"

    # Dockerfile: parsed by the official (BuildKit) parser; two stages, non-root, healthcheck.
    instructions = dockerfile.parse_file(str(context / "Dockerfile"))
    by_cmd: dict[str, list] = {}
    for instruction in instructions:
        by_cmd.setdefault(instruction.cmd.upper(), []).append(instruction)
    assert [i.value[0] for i in by_cmd["FROM"]] == [BASE_IMAGE, BASE_IMAGE]
    assert by_cmd["USER"][-1].value[0] == "10001:10001"
    healthcheck = by_cmd["HEALTHCHECK"][0].value
    assert healthcheck[0] == "CMD" and "/health" in healthcheck[-1]
    assert json.loads(by_cmd["CMD"][-1].original.split(" ", 1)[1])[:3] == [
        "python",
        "-m",
        "jupyterlab_mlops.serving",
    ]
    assert any("PIP_CERT" in env.value for env in by_cmd["ENV"])
    label = by_cmd["LABEL"][0].value
    label_values = {k: json.loads(v) for k, v in zip(label[::2], label[1::2], strict=True)}
    assert label_values["io.jupyterlab-mlops.model"] == "churn"
    assert label_values["io.jupyterlab-mlops.version"] == "1"
    # The CA bundle is used in the build stage only.
    final_stage = (context / "Dockerfile").read_text().split("\nFROM ")[-1]
    assert "extra-ca" not in final_stage and "wheels" not in final_stage
    assert (context / "extra-ca.pem").read_bytes() == ca.read_bytes()

    # requirements.txt: every line pinned, to this environment's versions, serving deps present.
    lines = [
        line
        for line in (context / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    pins = dict(line.split("==") for line in lines)
    assert all(re.fullmatch(r"[a-z0-9-]+==[A-Za-z0-9.+!-]+", line) for line in lines), lines
    for name in ("fastapi", "uvicorn", "scikit-learn", "skops", "numpy", "orjson"):
        assert pins[name] == metadata.version(name), name
    for dev_only in ("jupyterlab", "jupyter-server", "pytest", "docker", "papermill"):
        assert canonicalize_name(dev_only) not in pins, dev_only

    # The bundle: the artifact's sha256 is the registered one.
    manifest = json.loads((context / "bundle" / "mlops-model.json").read_text())
    version = mlops.registry.resolve("churn/1")
    assert manifest["artifact_sha256"] == version["artifact_sha256"]
    assert sha256(context / "bundle" / manifest["model_file"]) == version["artifact_sha256"]

    # The app: only what serving imports, importable from the context alone.
    app_files = {p.relative_to(context / "app").as_posix() for p in (context / "app").rglob("*.py")}
    assert "jupyterlab_mlops/serving/app.py" in app_files
    assert "jupyterlab_mlops/serving/__main__.py" in app_files
    assert not any(f.startswith("jupyterlab_mlops/handlers/") for f in app_files)
    assert "jupyterlab_mlops/serving/deployers/docker.py" not in app_files

    # mlops-context.json lists every file with its sha256.
    recorded = json.loads((context / "mlops-context.json").read_text())["files"]
    for relative, digest in recorded.items():
        assert sha256(context / relative) == digest, relative
    assert {"Dockerfile", "requirements.txt", "extra-ca.pem"} <= set(recorded)


def test_requirements_pin_the_versions_of_the_training_run(mlops, tmp_path):
    X_y = register_models(mlops, name="pinned")
    with mlops.db.session() as session:
        run = m.Run(
            notebook_path="train.ipynb",
            status="succeeded",
            provenance={"packages": {"numpy": "1.26.4", "scikit-learn": "1.4.2"}},
        )
        session.add(run)
        session.flush()
        run_id = run.id
    version = mlops.registry.register(
        X_y["models"][1], "pinned", X_sample=X_y["X"].head(50), run_id=run_id
    )
    summary = write_context(
        mlops, f"pinned/{version['version']}", tmp_path / "ctx", prefetch_wheels=False
    )
    assert summary["requirements"]["numpy"] == "1.26.4"
    assert summary["requirements"]["scikit-learn"] == "1.4.2"
    assert summary["requirement_sources"]["numpy"] == "run"
    assert summary["requirement_sources"]["fastapi"] == "environment"
    assert summary["labels"]["io.jupyterlab-mlops.run-id"] == run_id
    assert summary["labels"]["io.jupyterlab-mlops.notebook-path"] == "train.ipynb"

    # Alias following serves a new version in a running container only with the packages its
    # image has: v1 (this environment's numpy) needs an image of its own.
    deployer = mlops.deployments.deployer("docker")
    bundle = tmp_path / "bundle-v1"
    manifest = mlops.deployments.bundles.write("pinned/1", bundle)
    image = {"context_dir": str(tmp_path / "ctx")}
    with_admin = [f"{ADMIN_TOKEN_ENV}=secret", "PATH=/opt/venv/bin"]
    assert deployer.in_place_blocker(image, with_admin, manifest, bundle) == (
        f"v1 needs numpy=={metadata.version('numpy')} (the image has 1.26.4), "
        f"scikit-learn=={metadata.version('scikit-learn')} (the image has 1.4.2)"
    )
    assert deployer.in_place_blocker(image, ["PATH=/opt/venv/bin"], manifest, bundle) == (
        "the container was started without the admin API"
    )


@pytest.fixture(scope="module")
def engine():
    try:
        client = docker_client(timeout=900)
    except Unavailable as err:
        pytest.skip(f"no Docker engine reachable ({err.message}); `make test` starts one")
    try:
        client.images.get(BASE_IMAGE)
    except Exception:  # noqa: BLE001 - docker.errors.ImageNotFound
        # The engine is there but the base image is not: make it (cached tarball, idempotent).
        subprocess.run([str(ROOT / "scripts" / "docker-engine.sh"), "base-image"], check=True)
    return client


def test_real_image_builds_runs_answers_like_the_model_and_follows_its_alias(engine, mlops, capsys):
    trained = register_models(mlops)
    X, model = trained["X"], trained["models"][1]
    lines: list[str] = []
    deployment = mlops.deployments.create("churn@production", "docker", progress=lines.append)
    assert deployment["status"] == "running"
    assert any(line.startswith("Step ") for line in lines)  # the build streamed its progress
    image = engine.images.get(deployment["image"])
    size_mb = image.attrs["Size"] / 1e6
    with capsys.disabled():
        build = next(line for line in reversed(lines) if line.startswith("built "))
        print(f"\n[docker] {build}; image {deployment['image']} is {size_mb:.0f} MB")

    # docker deployments require an API key by default: the first one comes with the answer
    assert deployment["api_key"].startswith("mlops_")
    assert "api_key" not in mlops.deployments.get(deployment["id"], stats=False)
    headers = {"Authorization": f"Bearer {deployment['api_key']}"}
    with httpx.Client(headers=headers, timeout=30, trust_env=False) as client:
        body = predict(deployment["url"], X.head(80), client)
    assert httpx.post(f"{deployment['url']}/predict", json={}, trust_env=False).status_code == 401
    assert body["version"] == 1
    assert body["predictions"] == model.predict(X.head(80)).tolist()
    np.testing.assert_allclose(body["probabilities"], model.predict_proba(X.head(80)))

    config = image.attrs["Config"]
    assert config["User"] == "10001:10001"
    assert "/health" in " ".join(config["Healthcheck"]["Test"])
    assert config["Labels"]["io.jupyterlab-mlops.model"] == "churn"
    assert (
        config["Labels"]["io.jupyterlab-mlops.artifact-sha256"]
        == (mlops.registry.resolve("churn/1")["artifact_sha256"])
    )
    container = engine.containers.get(deployment["container_id"])
    assert container.status == "running"
    assert "Uvicorn running" in mlops.deployments.logs(deployment["id"])["text"]
    assert size_mb < 1000

    started = time.monotonic()
    requests = follows_its_alias_in_place(engine, mlops, deployment, trained)
    with capsys.disabled():
        print(
            f"[docker] alias followed in place under {requests} requests (none failed) and "
            f"the container restarted on v2: {time.monotonic() - started:.1f}s"
        )

    mlops.deployments.delete(deployment["id"])
    with pytest.raises(Exception, match="No such container|404"):
        engine.containers.get(deployment["container_id"])


def follows_its_alias_in_place(engine, mlops, deployment: dict, trained: dict) -> int:
    """The alias moves while a client sends requests: none fails, answers go from v1's to v2's,
    in the same container behind the same port; a restart keeps serving v2."""
    X, models = trained["X"], trained["models"]
    frame = X.head(10)
    expected = {version: model.predict(frame).tolist() for version, model in models.items()}
    assert expected[1] != expected[2]  # the switch shows in the answers
    headers = {"Authorization": f"Bearer {deployment['api_key']}"}
    loop = RequestLoop(deployment["url"], frame, headers=headers)
    loop.through_alias_move(mlops)
    assert all(predictions == expected[version] for version, predictions in loop.answers)

    record = mlops.deployments.get(deployment["id"], stats=False)
    assert record["version"] == 2
    assert (record["container_id"], record["url"]) == (
        deployment["container_id"],
        deployment["url"],
    )
    assert record["status_reason"] == (
        f"followed churn@production from v1 to v2 "
        f"(swapped in place in container mlops-{deployment['id']})"
    )
    container = engine.containers.get(deployment["container_id"])
    # The copied bundle is root's (the serving user reads it, cannot change it), and it is the
    # registered artifact.
    code, out = container.exec_run(["stat", "-c", "%U %a", "/opt/mlops/bundles/v2/model.skops"])
    assert (code, out.decode().strip()) == (0, "root 644")
    code, out = container.exec_run(["sha256sum", "/opt/mlops/bundles/v2/model.skops"])
    assert out.decode().split()[0] == mlops.registry.resolve("churn/2")["artifact_sha256"]

    # The image's CMD serves v1: a restarted container is swapped to the followed v2 again.
    restarted = mlops.deployments.restart(deployment["id"])
    assert restarted["version"] == 2 and restarted["container_id"] == deployment["container_id"]
    assert httpx.get(f"{deployment['url']}/health", trust_env=False).json()["version"] == 2
    with httpx.Client(headers=headers, timeout=30, trust_env=False) as client:
        assert predict(deployment["url"], frame, client)["predictions"] == expected[2]
    return len(loop.results)
