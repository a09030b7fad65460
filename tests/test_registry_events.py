"""What the registry announces: ``VERSION_REGISTERED`` and ``ALIAS_CHANGED``, published after
the change has committed, and nothing for refused or no-op changes; in a started server a
deployment that follows an alias moves on the event itself, without the background poll."""

from __future__ import annotations

import httpx
import pytest
from deploy_support import register_models, stopping_all
from registry_utils import simple_model

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.errors import Conflict, GateFailed
from jupyterlab_mlops.events import ALIAS_CHANGED, VERSION_REGISTERED


@pytest.fixture
def mlops(tmp_path):
    instance = MLOps(root_dir=str(tmp_path))
    yield instance
    instance.stop()


class Recorder:
    """Subscribes to the registry's events; records each payload with what the store said
    when the subscriber ran (so "after commit" is checked, not assumed)."""

    def __init__(self, mlops: MLOps):
        self.mlops = mlops
        self.events: list[tuple[str, dict, object]] = []
        mlops.events.subscribe(VERSION_REGISTERED, self.on_version)
        mlops.events.subscribe(ALIAS_CHANGED, self.on_alias)

    def on_version(self, event) -> None:
        seen = self.mlops.registry.get_version(event["model"], event["version"])["version"]
        self.events.append((event.name, dict(event.payload), seen))

    def on_alias(self, event) -> None:
        aliases = {a["alias"]: a["version"] for a in self.mlops.registry.list_aliases("churn")}
        self.events.append((event.name, dict(event.payload), aliases.get(event["alias"])))


def test_versions_and_alias_moves_are_published_after_commit(mlops):
    recorder = Recorder(mlops)
    run = mlops.runs.start_interactive("train.ipynb", user="ada")
    mlops.registry.register(simple_model(), "churn", metrics={"auc": 0.9}, user="ada")
    mlops.registry.register(
        simple_model(1), "churn", metrics={"auc": 0.8}, run_id=run["id"], user="ada"
    )
    mlops.registry.set_alias("churn", "production", 1, user="bob", reason="first")
    mlops.registry.set_alias("churn", "production", 1, user="bob")  # no change: no event
    mlops.registry.set_alias("churn", "production", 2, user="bob")
    mlops.registry.rollback("churn", "production", user="carol")
    mlops.registry.delete_alias("churn", "production", user="dave")
    assert recorder.events == [
        (VERSION_REGISTERED, {"model": "churn", "version": 1, "run_id": None, "user": "ada"}, 1),
        (
            VERSION_REGISTERED,
            {"model": "churn", "version": 2, "run_id": run["id"], "user": "ada"},
            2,
        ),
        (
            ALIAS_CHANGED,
            {
                "model": "churn",
                "alias": "production",
                "from_version": None,
                "to_version": 1,
                "user": "bob",
            },
            1,
        ),
        (
            ALIAS_CHANGED,
            {
                "model": "churn",
                "alias": "production",
                "from_version": 1,
                "to_version": 2,
                "user": "bob",
            },
            2,
        ),
        (
            ALIAS_CHANGED,
            {
                "model": "churn",
                "alias": "production",
                "from_version": 2,
                "to_version": 1,
                "user": "carol",
            },
            1,
        ),
        (
            ALIAS_CHANGED,
            {
                "model": "churn",
                "alias": "production",
                "from_version": 1,
                "to_version": None,
                "user": "dave",
            },
            None,
        ),
    ]
    mlops.runs.close_interactive(run["id"])


def test_refused_changes_publish_nothing(mlops):
    mlops.registry.register(simple_model(), "churn", metrics={"auc": 0.9})
    mlops.registry.register(simple_model(1), "churn", metrics={"auc": 0.5})
    mlops.registry.set_gate("churn", {"thresholds": {"auc": 0.8}})
    recorder = Recorder(mlops)
    with pytest.raises(GateFailed):
        mlops.registry.set_alias("churn", "production", 2)
    with pytest.raises(Conflict):
        mlops.registry.rollback("churn", "production")
    assert recorder.events == []
    assert mlops.registry.audit("churn", action="promotion_refused")["total"] == 1


def test_a_started_server_follows_an_alias_on_the_event(tmp_path):
    # No background poll (interval 0): only the event can move the deployment.
    server = MLOps(root_dir=str(tmp_path), deployment_poll_interval=0.0, monitor_interval=0.0)
    with stopping_all(server):
        try:
            server.start()
            trained = register_models(server)
            deployment = server.deployments.create("churn@production", "local")
            assert deployment["version"] == 1
            server.registry.set_alias("churn", "production", 2, user="test")
            # set_alias returned: the deployment already serves v2 (same process, hot swap)
            record = server.deployments.get(deployment["id"], stats=False)
            assert record["version"] == 2 and "from v1 to v2" in record["status_reason"]
            assert record["pid"] == deployment["pid"]
            health = httpx.get(f"{deployment['url']}/health", timeout=30, trust_env=False)
            assert health.json()["version"] == 2
            body = httpx.post(
                f"{deployment['url']}/predict",
                json={"records": trained["X"].head(5).to_dict(orient="records")},
                timeout=30,
                trust_env=False,
            ).json()
            expected = trained["models"][2].predict(trained["X"].head(5)).tolist()
            assert body["predictions"] == expected
            server.registry.rollback("churn", "production", user="test")
            assert server.deployments.get(deployment["id"], stats=False)["version"] == 1
        finally:
            server.stop()
