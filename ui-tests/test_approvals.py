"""Approvals in the Models tab, in a real JupyterLab + Chromium: an editor's (bob's) promotion of
v2 to production waits; the lab's user (the server's account: an approver here) sees it with the
gate result and the metrics side by side, approves it with a reason, and the production badge
moves to v2.

The request is made through the Python API in the test process, as bob, in the same store as the
server, whose roles come from a config file (``c.MLOps.roles``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from mlops_ui import api, open_panel, start_lab, stop_lab
from playwright.sync_api import Page, expect
from sklearn.linear_model import LogisticRegression

from jupyterlab_mlops.app import build_mlops

MODEL = "churn"
ROLES = {"bob": "editor"}  # everyone else: the default role, admin


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    tmp = tmp_path_factory.mktemp("lab-approvals")
    config = tmp / "jupyter_governance_config.py"
    config.write_text(f"c.MLOps.roles = {ROLES!r}\n")
    lab = start_lab(tmp, [f"--config={config}"])
    yield lab
    stop_lab(lab.process)


@pytest.fixture(scope="module")
def pending(lab):
    """churn v1 in production, and bob's pending request to put v2 there."""
    mlops = build_mlops(str(lab.root_dir))
    mlops.roles = ROLES
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    for auc in (0.81, 0.87):
        mlops.registry.register(
            LogisticRegression().fit(X, y), MODEL, X_sample=X, metrics={"auc": auc}, user="ui"
        )
    mlops.registry.set_gate(MODEL, {"thresholds": {"auc": {">=": 0.8}}}, user="ui")
    mlops.registry.set_alias(MODEL, "production", 1, user="ui", reason="first release")
    result = mlops.registry.set_alias(MODEL, "production", 2, user="bob", reason="better auc")
    return result["approval"]


def test_a_pending_approval_is_shown_and_approved(
    page: Page, lab, pending, screenshots_dir: Path
) -> None:
    assert api(lab, "me")["role"] == "admin"
    panel = open_panel(page)
    panel.get_by_role("tab", name="Models").click()
    card = panel.locator(f'.jp-mlops-approval[data-approval-id="{pending["id"]}"]')
    expect(card).to_contain_text("churn@production → v2")
    expect(card).to_contain_text("requested by bob")
    expect(card.locator(".jp-mlops-approval-gate")).to_have_attribute("data-gate", "passed")
    auc = card.locator('.jp-mlops-approval-comparison tr[data-metric="auc"] td')
    expect(auc).to_have_text(["auc", "0.8700", "0.8100"])
    row = panel.locator(f'.jp-mlops-row[data-model-name="{MODEL}"]')
    expect(row.locator('.jp-mlops-alias-badge[data-alias="production"]')).to_have_attribute(
        "data-version", "1"
    )
    page.screenshot(path=str(screenshots_dir / "approval-pending.png"))

    card.get_by_role("button", name="Approve…").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".jp-Dialog-header")).to_contain_text("Approve churn@production → v2")
    dialog.locator("input").fill("reviewed: auc up")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    expect(page.locator(".jp-Dialog")).to_have_count(0)

    expect(card).to_have_count(0)
    expect(row.locator('.jp-mlops-alias-badge[data-alias="production"]')).to_have_attribute(
        "data-version", "2"
    )
    approval = api(lab, f"approvals/{pending['id']}")
    assert approval["status"] == "approved" and approval["decision_reason"] == "reviewed: auc up"
    assert api(lab, f"models/{MODEL}")["aliases"] == {"production": 2}
