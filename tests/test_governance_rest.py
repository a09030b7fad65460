"""Governance through the real server, as three people (a viewer, an editor, an approver — see
``governance_support.TokenUsers``): refusals with nothing recorded, an editor's promotion to
production waiting for approval, the approver's approval moving the alias and the local
deployment that follows it, the audit export, and the registry webhooks with their signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import pytest
from deploy_support import dataset, predict, stopping_all, trained_models
from governance_support import ROLES, TokenUsers, call
from polling import wait_for
from receivers import WebhookReceiver

from jupyterlab_mlops.identity import Identity

SECRET = "s3cret"


@pytest.fixture
def receiver():
    with WebhookReceiver(path="/hooks/registry") as receiver:
        yield receiver


@pytest.fixture
def jp_server_config(jp_server_config, receiver):
    return {
        "ServerApp": {
            **jp_server_config["ServerApp"],
            "identity_provider_class": TokenUsers,
        },
        "MLOps": {
            "roles": ROLES,
            "default_role": "viewer",
            "deployment_poll_interval": 0.0,  # following happens on alias_changed, at once
            "monitor_interval": 0.0,
            "registry_webhooks": [
                {
                    "url": receiver.url,
                    "events": [
                        "version_registered",
                        "alias_changed",
                        "approval_requested",
                        "approval_decided",
                    ],
                    "secret": SECRET,
                }
            ],
        },
    }


@pytest.fixture
def mlops(jp_serverapp):
    mlops = jp_serverapp.web_app.settings["mlops"]
    with stopping_all(mlops):
        yield mlops


def count_versions(mlops) -> int:
    return mlops.counts()["model_versions"]


async def test_viewer_editor_approver(jp_fetch, mlops, receiver):
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    alice = Identity("alice", ["ml-leads"])
    X, y = dataset()
    v1, v2 = trained_models()
    for model, auc in ((v1, 0.91), (v2, 0.95)):
        mlops.registry.register(
            model,
            "churn",
            X_sample=X.head(50),
            y_sample=y.head(50),
            metrics={"auc": auc},
            user=alice,
        )
    mlops.registry.set_gate("churn", {"thresholds": {"auc": {">=": 0.9}}}, user="dana")

    # Who am I: roles by name and by group.
    assert (await call(jp_fetch, "carol", "me"))[1]["role"] == "viewer"
    code, me = await call(jp_fetch, "alice", "me")
    assert code == 200 and me["username"] == "alice" and me["groups"] == ["ml-leads"]
    assert me["role"] == "approver" and "approve" in me["permissions"]
    assert "delete" not in me["permissions"]

    # The viewer is refused, and nothing is recorded.
    versions_before = count_versions(mlops)
    code, body = await call(
        jp_fetch,
        "carol",
        "models",
        "churn",
        "versions",
        method="POST",
        body={"run_id": "r1", "artifact": "model.skops"},
    )
    assert (code, body) == (
        403,
        {"error": {"code": "forbidden", "message": "carol (viewer) may not register models"}},
    )
    code, body = await call(
        jp_fetch,
        "carol",
        "models",
        "churn",
        "aliases",
        "production",
        method="PUT",
        body={"version": 1},
    )
    assert code == 403 and body["error"]["message"] == "carol (viewer) may not set aliases"
    assert count_versions(mlops) == versions_before
    assert mlops.registry.audit("churn", action="set_alias")["total"] == 0
    assert mlops.registry.list_approvals()["total"] == 0

    # The approver puts v1 in production; a deployment follows the alias.
    code, moved = await call(
        jp_fetch,
        "alice",
        "models",
        "churn",
        "aliases",
        "production",
        method="PUT",
        body={"version": 1, "reason": "first release"},
    )
    assert code == 200 and moved["version"] == 1 and moved["changed"]
    deployment = mlops.deployments.create("churn@production", "local", user=alice)
    assert deployment["created_by"] == "alice"
    assert predict(deployment["url"], X.head(5))["version"] == 1

    # The editor's promotion to production waits for an approver; the alias does not move.
    code, body = await call(
        jp_fetch,
        "bob",
        "models",
        "churn",
        "aliases",
        "production",
        method="PUT",
        body={"version": 2, "reason": "better auc"},
    )
    assert code == 202 and set(body) == {"approval"}
    approval = body["approval"]
    assert approval["status"] == "pending" and approval["requested_by"] == "bob"
    assert approval["gate"]["passed"] is True and approval["gate"]["applies"] is True
    assert approval["comparison"] == {
        "candidate": {"version": 2, "metrics": {"auc": 0.95}},
        "current": {"version": 1, "metrics": {"auc": 0.91}},
    }
    assert mlops.registry.resolve("churn@production")["version"] == 1
    code, pending = await call(jp_fetch, "carol", "approvals", params={"status": "pending"})
    assert code == 200 and pending["total"] == 1 and pending["items"][0]["id"] == approval["id"]

    # Nobody approves their own request; a viewer approves nothing.
    code, body = await call(
        jp_fetch,
        "bob",
        "approvals",
        approval["id"],
        "approve",
        method="POST",
        body={"reason": "mine"},
    )
    assert (
        code == 403
        and body["error"]["message"]
        == "bob (editor) may not approve promotions to protected aliases"
    )
    code, body = await call(
        jp_fetch,
        "carol",
        "approvals",
        approval["id"],
        "reject",
        method="POST",
        body={"reason": "no"},
    )
    assert code == 403 and body["error"]["code"] == "forbidden"

    # The approver approves: the alias moves and the deployment serves v2.
    code, decided = await call(
        jp_fetch,
        "alice",
        "approvals",
        approval["id"],
        "approve",
        method="POST",
        body={"reason": "reviewed the comparison"},
    )
    assert code == 200 and decided["status"] == "approved" and decided["decided_by"] == "alice"
    assert mlops.registry.resolve("churn@production")["version"] == 2
    wait_for(lambda: mlops.deployments.get(deployment["id"], stats=False)["version"] == 2)
    wait_for(lambda: predict(deployment["url"], X.head(5))["version"] == 2)
    code, body = await call(
        jp_fetch, "alice", "approvals", approval["id"], "approve", method="POST", body={}
    )
    assert code == 409 and "approved" in body["error"]["message"]

    # The audit export: request, move and approval, with users and reasons.
    code, audit = await call(
        jp_fetch, "carol", "audit", params={"since": started.isoformat(), "limit": "4"}
    )
    assert code == 200 and audit["total"] == 7 and len(audit["items"]) == 4
    code, rest = await call(
        jp_fetch, "carol", "audit", params={"since": started.isoformat(), "offset": "4"}
    )
    entries = [(e["action"], e["user"], e["to_version"], e["reason"]) for e in audit["items"]]
    entries += [(e["action"], e["user"], e["to_version"], e["reason"]) for e in rest["items"]]
    assert entries == [
        ("register", "alice", 1, ""),
        ("register", "alice", 2, ""),
        ("set_gate", "dana", None, ""),
        ("set_alias", "alice", 1, "first release"),
        ("approval_requested", "bob", 2, "better auc"),
        ("set_alias", "alice", 2, "reviewed the comparison"),
        ("approval_approved", "alice", 2, "reviewed the comparison"),
    ]
    move = rest["items"][1]
    assert move["action"] == "set_alias"
    assert move["details"]["approval_id"] == approval["id"]
    assert move["details"]["requested_by"] == "bob"
    code, none = await call(jp_fetch, "carol", "audit", params={"since": "2999-01-01"})
    assert code == 200 and none["total"] == 0
    code, body = await call(jp_fetch, "carol", "audit", params={"since": "yesterday"})
    assert code == 400 and "since" in body["error"]["message"]

    # The registry webhooks: the four events, each signed with the secret.
    def events():
        return [r["body"]["event"] for r in receiver.received]

    wait_for(lambda: events().count("alias_changed") == 2 and "approval_decided" in events())
    assert events() == [
        "version_registered",
        "version_registered",
        "alias_changed",
        "approval_requested",
        "alias_changed",
        "approval_decided",
    ]
    for request in receiver.received:
        expected = "sha256=" + hmac.new(SECRET.encode(), request["raw"], hashlib.sha256).hexdigest()
        assert request["headers"]["X-MLOps-Signature"] == expected
        assert request["headers"]["X-MLOps-Event"] == request["body"]["event"]
    requested = receiver.received[3]["body"]
    assert requested["approval_id"] == approval["id"] and requested["user"] == "bob"
    assert json.loads(receiver.received[5]["raw"])["status"] == "approved"
