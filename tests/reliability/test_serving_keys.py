"""API keys end to end: created per deployment through the lab's REST API (shown once, kept as
sha256), listed without the key, accepted by the running serving process, then rotated and
revoked from the CLI — each change refused or accepted by the process within seconds, without a
restart."""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest
from deploy_support import dataset, register_models, stopping_all
from polling import wait_for
from tornado.httpclient import HTTPClientError

from jupyterlab_mlops.cli import main
from jupyterlab_mlops.store import models as m


@pytest.fixture
def jp_server_config(jp_server_config):
    return {**jp_server_config, "MLOps": {"monitor_interval": 0.0, "deployment_poll_interval": 0.0}}


async def _api(jp_fetch, *path, method="GET", body=None):
    kwargs = {"method": method}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    response = await jp_fetch("mlops", "api", "deployments", *path, **kwargs)
    return response.code, json.loads(response.body)


def _status(url: str, key: str | None) -> int:
    X, _ = dataset()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"records": X.head(2).to_dict(orient="records")}
    return httpx.post(
        f"{url}/predict", json=body, headers=headers, timeout=30, trust_env=False
    ).status_code


async def test_keys_created_over_rest_rotated_and_revoked_from_the_cli(
    jp_fetch, jp_serverapp, jp_root_dir, capsys
):
    mlops = jp_serverapp.web_app.settings["mlops"]
    with stopping_all(mlops):
        register_models(mlops)
        code, deployment = await _api(
            jp_fetch,
            method="POST",
            body={"model": "churn/1", "target": "local", "config": {"api_keys": True}},
        )
        assert code == 201
        first = deployment["api_key"]
        url = deployment["url"]
        assert _status(url, None) == 401 and _status(url, first) == 200

        code, created = await _api(
            jp_fetch, deployment["id"], "keys", method="POST", body={"name": "batch job"}
        )
        assert code == 201 and created["key"].startswith("mlops_") and created["active"]
        wait_for(lambda: _status(url, created["key"]) == 200, timeout=30)
        with mlops.db.session() as session:  # only hashes are stored
            stored = {row.key_sha256 for row in session.query(m.DeploymentKey).all()}
        assert hashlib.sha256(created["key"].encode()).hexdigest() in stored
        assert first not in json.dumps(sorted(stored)) and created["key"] not in str(stored)

        code, listing = await _api(jp_fetch, deployment["id"], "keys")
        assert [k["name"] for k in listing["items"]] == ["default", "batch job"]
        assert all("key" not in k for k in listing["items"])

        root = ["--root-dir", str(jp_root_dir)]
        assert main([*root, "deployments", "keys", "revoke", deployment["id"], created["id"]]) == 0
        assert f"revoked key {created['id']}" in capsys.readouterr().out
        wait_for(lambda: _status(url, created["key"]) == 401, timeout=30)
        assert _status(url, first) == 200

        assert main([*root, "deployments", "keys", "rotate", deployment["id"], "--json"]) == 0
        rotated = json.loads(capsys.readouterr().out)
        wait_for(lambda: _status(url, first) == 401, timeout=30)
        assert _status(url, rotated["key"]) == 200

        assert main([*root, "deployments", "keys", "revoke", deployment["id"], "nope"]) == 2
        with pytest.raises(HTTPClientError) as error:
            await _api(jp_fetch, "no-such-deployment", "keys")
        assert error.value.code == 404
