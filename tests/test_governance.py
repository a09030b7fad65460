"""Governance in the services, the CLI and the notebook API: roles (by name, by group, the
default that keeps a single user's lab as it was), approvals (stale, a failed gate needs an
override, reject needs a reason) on SQLite and PostgreSQL, and the CLI / kernel identities from
``JUPYTERHUB_USER`` with the roles of the project's ``jupyter_mlops_config.py``."""

from __future__ import annotations

import csv
import io
import json

import pytest
from receivers import WebhookReceiver
from registry_utils import simple_model
from traitlets import TraitError

from jupyterlab_mlops.access import Access
from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.channels import signature
from jupyterlab_mlops.cli import main
from jupyterlab_mlops.errors import Conflict, Forbidden, GateFailed, InvalidInput
from jupyterlab_mlops.events import APPROVAL_DECIDED, APPROVAL_REQUESTED
from jupyterlab_mlops.identity import Identity, process_identity, server_user_identity

ROLES = {"carol": "viewer", "bob": "editor", "alice": "approver", "group:ml-leads": "approver"}


def test_roles_by_name_group_and_default():
    access = Access(roles=ROLES, default_role="viewer")
    assert access.role_of("bob") == "editor"
    assert access.role_of(Identity("erin", ["ml-leads", "other"])) == "approver"
    assert access.role_of(Identity("carol", ["ml-leads"])) == "viewer"  # the name wins
    assert access.role_of("stranger") == "viewer"
    with pytest.raises(Forbidden, match=r"^carol \(viewer\) may not register models$"):
        access.require("carol", "register")
    assert access.me("alice")["permissions"] == [
        "read",
        "run",
        "schedule",
        "register",
        "deploy",
        "set_alias",
        "monitor",
        "approve",
    ]
    # No roles configured: everyone is admin, as before roles existed.
    assert Access().role_of("anyone") == "admin"
    with pytest.raises(InvalidInput, match="unknown role 'boss'"):
        Access(roles={"x": "boss"})
    with pytest.raises(TraitError, match=r"c.MLOps.roles\['x'\]: unknown role 'boss'"):
        MLOps(roles={"x": "boss"})


def test_registry_webhooks_retry_off_the_registrys_path(tmp_path):
    with WebhookReceiver(fail_first=1, path="/hooks/registry") as receiver:
        mlops = MLOps(
            root_dir=str(tmp_path),
            registry_webhooks=[
                {"url": receiver.url, "events": ["version_registered"], "secret": "k"},
                {"url": "http://127.0.0.1:9/nobody-listens", "events": ["version_registered"]},
            ],
        )
        try:
            version = mlops.registry.register(simple_model(), "churn", user="alice")
            assert version["version"] == 1  # registered whatever the receivers do
            assert mlops.outbox.drain(timeout=120)
        finally:
            mlops.stop()
    first, retried = receiver.received
    assert first["raw"] == retried["raw"] and retried["body"]["model"] == "churn"
    assert retried["headers"]["X-MLOps-Signature"] == signature("k", retried["raw"])
    with pytest.raises(InvalidInput, match="unknown registry event 'deleted'"):
        MLOps(
            root_dir=str(tmp_path), registry_webhooks=[{"url": receiver.url, "events": ["deleted"]}]
        ).registry.list_models()  # building the registry checks the hooks


def test_identities(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "bob")
    assert process_identity() == "bob" and MLOps.current_user() == "bob"
    monkeypatch.delenv("JUPYTERHUB_USER")
    assert process_identity() != "bob"

    class HubUser:  # the shape of JupyterHub's identity: the hub's user model kept on it
        username = name = "alice"
        hub_user = {"name": "alice", "groups": ["ml-leads"]}

    identity = server_user_identity(HubUser())
    assert identity == "alice" and identity.groups == ("ml-leads",)


@pytest.fixture
def governed(tmp_path, store_url):
    mlops = MLOps(root_dir=str(tmp_path), store_url=store_url, roles=ROLES, default_role="viewer")
    events = []
    for name in (APPROVAL_REQUESTED, APPROVAL_DECIDED):
        mlops.events.subscribe(name, events.append)
    for seed, auc in ((0, 0.80), (1, 0.85), (2, 0.70)):
        mlops.registry.register(simple_model(seed), "churn", metrics={"auc": auc}, user="alice")
    mlops.registry.set_alias("churn", "production", 1, user="alice")
    yield mlops, events
    mlops.stop()


def test_approvals_go_stale_need_overrides_and_reasons(governed):
    mlops, events = governed
    registry = mlops.registry
    # An editor sets unprotected aliases directly, protected ones by request.
    assert registry.set_alias("churn", "staging", 2, user="bob")["changed"]
    with pytest.raises(Forbidden, match="may not force a promotion of protected alias"):
        registry.set_alias("churn", "production", 2, user="bob", reason="x", force=True)
    with pytest.raises(Forbidden, match=r"bob \(editor\) may not roll back protected alias"):
        registry.rollback("churn", "production", user="bob")

    first = registry.set_alias("churn", "production", 2, user="bob")["approval"]
    # A newer promotion supersedes it: stale, and cannot be approved.
    second = registry.set_alias("churn", "production", 3, user="bob")["approval"]
    assert registry.get_approval(first["id"])["status"] == "stale"
    with pytest.raises(Conflict, match="stale"):
        registry.approve(first["id"], user="alice")
    assert [a["id"] for a in registry.list_approvals(status="pending")["items"]] == [second["id"]]

    with pytest.raises(InvalidInput, match="reason is required to reject"):
        registry.reject(second["id"], user="alice")
    rejected = registry.reject(second["id"], user="alice", reason="auc dropped")
    assert rejected["status"] == "rejected" and rejected["decision_reason"] == "auc dropped"
    assert registry.resolve("churn@production")["version"] == 1

    # A failed gate: approving needs an override with a reason.
    mlops.roles = {**ROLES, "dana": "admin"}
    registry.set_gate("churn", {"thresholds": {"auc": {">=": 0.75}}}, user="dana")
    failing = registry.set_alias("churn", "production", 3, user="bob", reason="try")["approval"]
    assert failing["gate"]["passed"] is False
    with pytest.raises(GateFailed, match="needs an override and a reason"):
        registry.approve(failing["id"], user="alice")
    with pytest.raises(InvalidInput, match="reason is required to override"):
        registry.approve(failing["id"], user="alice", override=True)
    approved = registry.approve(failing["id"], user="alice", override=True, reason="hotfix")
    assert approved["status"] == "approved" and approved["overridden"] is True
    assert registry.resolve("churn@production")["version"] == 3
    forced = registry.audit("churn", action="set_alias")["items"][0]
    assert forced["forced"] is True and forced["details"]["approval_id"] == failing["id"]
    # An alias moved otherwise makes pending requests stale.
    pending = registry.set_alias("churn", "production", 2, user="bob")["approval"]
    registry.rollback("churn", "production", user="alice", reason="back")
    assert registry.get_approval(pending["id"])["status"] == "stale"
    # Nobody approves their own request, not even once they are an approver.
    own = registry.set_alias("churn", "production", 2, user="bob", reason="mine")["approval"]
    mlops.roles = {**ROLES, "bob": "approver"}
    with pytest.raises(Forbidden, match=f"bob may not approve their own request {own['id']}"):
        registry.approve(own["id"], user="bob", reason="looks good to me")
    assert registry.get_approval(own["id"])["status"] == "pending"

    assert [(e.name, e.get("status")) for e in events] == [
        (APPROVAL_REQUESTED, None),
        (APPROVAL_REQUESTED, None),
        (APPROVAL_DECIDED, "rejected"),
        (APPROVAL_REQUESTED, None),
        (APPROVAL_DECIDED, "approved"),
        (APPROVAL_REQUESTED, None),
        (APPROVAL_REQUESTED, None),
    ]


def test_cli_and_notebook_api_act_as_jupyterhub_user_with_the_projects_roles(
    tmp_path, monkeypatch, capsys
):
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "jupyter_mlops_config.py").write_text(
        f"c.MLOps.roles = {ROLES!r}\nc.MLOps.default_role = 'viewer'\n"
    )
    monkeypatch.chdir(root / "notebooks")  # as a kernel: in the notebook's directory
    monkeypatch.setenv("MLOPS_ROOT_DIR", str(root))
    import jupyterlab_mlops as mlops_api

    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    mlops_api.register_model(simple_model(0), "churn", metrics={"auc": 0.8})
    mlops_api.register_model(simple_model(1), "churn", metrics={"auc": 0.9})
    monkeypatch.setenv("JUPYTERHUB_USER", "carol")
    with pytest.raises(Forbidden, match=r"carol \(viewer\) may not register models"):
        mlops_api.register_model(simple_model(2), "churn")

    def cli(user: str, *argv: str) -> tuple[int, str, str]:
        monkeypatch.setenv("JUPYTERHUB_USER", user)
        code = main(["--root-dir", str(root), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    code, _, err = cli("carol", "models", "promote", "churn", "1", "production")
    assert code == 2 and "carol (viewer) may not set aliases" in err
    code, out, _ = cli("alice", "models", "promote", "churn", "1", "production")
    assert code == 0
    code, _, err = cli("carol", "models", "register", "churn", "--run", "r", "--artifact", "m")
    assert code == 2 and "carol (viewer) may not register models" in err

    code, out, _ = cli("bob", "models", "promote", "churn", "2", "production", "--reason", "auc")
    request_id = out.splitlines()[0]
    assert code == 3 and "pending" in out
    code, out, _ = cli("bob", "models", "show", "churn@production", "--json")
    assert json.loads(out)["version"] == 1  # the alias did not move
    code, out, _ = cli("carol", "approvals", "list")
    assert code == 0 and request_id in out and "churn@production → v2" in out
    code, _, err = cli("bob", "approvals", "approve", request_id)
    assert code == 2 and "may not approve" in err
    code, out, _ = cli("alice", "approvals", "approve", request_id, "--reason", "ok")
    assert code == 0 and out.startswith(f"approved {request_id}")
    code, out, _ = cli("alice", "whoami", "--json")
    assert json.loads(out)["role"] == "approver"

    code, out, _ = cli("carol", "audit", "export", "--since", "2000-01-01", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert [(r["action"], r["user"], r["to_version"], r["reason"]) for r in rows] == [
        ("register", "alice", "1", ""),
        ("register", "alice", "2", ""),
        ("set_alias", "alice", "1", ""),
        ("approval_requested", "bob", "2", "auc"),
        ("set_alias", "alice", "2", "ok"),
        ("approval_approved", "alice", "2", "ok"),
    ]
    code, out, _ = cli("carol", "audit", "export", "--format", "jsonl", "--since", "2999-01-01")
    assert code == 0 and out == ""
    target = tmp_path / "audit.jsonl"
    code, out, _ = cli("carol", "audit", "export", "--format", "jsonl", "-o", str(target))
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert code == 0 and len(lines) == 6 and lines[3]["details"]["approval_id"] == request_id
    code, _, err = cli("carol", "audit", "export", "--since", "March")
    assert code == 2 and "--since" in err
