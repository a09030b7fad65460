"""The Models tab end to end in a real JupyterLab + Chromium, against a real registry: promote
version 2 to production (dialog + reason) and see the badge move; a quality-gate refusal shown
in the dialog, forced with a reason; rollback; the audit log.

This module starts its own jupyter-lab; the models are registered through the Python API in
the test process, in the same store as the server (``build_mlops(root)``).
"""

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


def _fit(seed: int) -> tuple[LogisticRegression, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + 0.1 * rng.normal(size=60) > 0).astype(int)
    return LogisticRegression().fit(X, y), X


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """This module's own JupyterLab (overrides the session one)."""
    tmp = tmp_path_factory.mktemp("lab-models")
    lab = start_lab(tmp, [])
    yield lab
    stop_lab(lab.process)


@pytest.fixture(scope="module")
def registry(lab):
    """The server's registry, opened from this process: churn v1 (production) and v2."""
    mlops = build_mlops(str(lab.root_dir))
    for seed, auc in ((1, 0.81), (2, 0.87)):
        model, X = _fit(seed)
        mlops.registry.register(
            model, MODEL, X_sample=X, metrics={"auc": auc, "log_loss": 1 - auc}, user="ui-test"
        )
    mlops.registry.set_alias(MODEL, "production", 1, user="ui-test", reason="first release")
    return mlops.registry


def open_models_tab(page: Page):
    panel = open_panel(page)
    panel.get_by_role("tab", name="Models").click()
    return panel


def badge(scope, alias: str):
    return scope.locator(f'.jp-mlops-alias-badge[data-alias="{alias}"]')


def promote(page: Page, panel, version: int, reason: str) -> None:
    """Select the version's row, click Promote…, fill the reason (alias: production)."""
    panel.locator(f'.jp-mlops-versions tr[data-version="{version}"]').click()
    selected = panel.locator(f'.jp-mlops-selected-version[data-version="{version}"]')
    selected.get_by_role("button", name="Promote…").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".jp-Dialog-header")).to_have_text(f"Promote {MODEL} v{version}")
    alias = dialog.locator("#jp-mlops-promote-alias")
    expect(alias).to_have_value("production")
    expect(alias).to_be_focused()  # the dialog has finished its set-up (focus) first
    dialog.locator("#jp-mlops-promote-reason").fill(reason)


def test_promote_version_2_moves_the_production_badge(
    page: Page, lab, registry, screenshots_dir: Path
) -> None:
    panel = open_models_tab(page)
    row = panel.locator(f'.jp-mlops-row[data-model-name="{MODEL}"]')
    expect(row.locator(".jp-mlops-version")).to_have_text("v2")
    expect(badge(row, "production")).to_have_attribute("data-version", "1")

    row.click()
    detail = panel.locator(".jp-mlops-model-detail")
    # Versions as rows, metrics side by side; the best value per metric marked.
    versions = detail.locator(".jp-mlops-versions")
    expect(versions.locator("thead th")).to_have_text(["version", "auc", "log_loss"])
    expect(versions.locator("tbody tr")).to_have_count(2)
    expect(versions.locator('tr[data-version="2"] td[data-metric="auc"]')).to_have_text("0.87")
    expect(versions.locator('tr[data-version="2"] td[data-metric="auc"]')).to_have_class(
        "jp-mlops-num jp-mod-best"
    )
    expect(badge(versions.locator('tr[data-version="1"]'), "production")).to_be_visible()

    promote(page, panel, 2, "v2 beats v1 on auc")
    page.screenshot(path=str(screenshots_dir / "model-promote-dialog.png"))
    page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    expect(page.locator(".jp-Dialog")).to_have_count(0)

    # The badge moved: in the aliases, in the versions table, in the audit log.
    expect(badge(detail.locator(".jp-mlops-aliases"), "production")).to_have_attribute(
        "data-version", "2"
    )
    expect(badge(versions.locator('tr[data-version="2"]'), "production")).to_be_visible()
    expect(badge(versions.locator('tr[data-version="1"]'), "production")).to_have_count(0)
    entry = detail.locator('.jp-mlops-audit-entry[data-action="set_alias"]').first
    expect(entry).to_contain_text("production: v1 → v2")
    expect(entry).to_contain_text("“v2 beats v1 on auc”")
    assert api(lab, f"models/{MODEL}")["aliases"] == {"production": 2}

    # The selected version (v2) shows its lineage under the table.
    expect(versions.locator('tr[data-version="2"]')).to_have_attribute("aria-selected", "true")
    lineage = detail.locator(".jp-mlops-lineage")
    expect(lineage).to_have_attribute("data-version", "2")
    expect(lineage.locator('[data-key="run"]')).to_contain_text("registered outside a run")
    page.screenshot(path=str(screenshots_dir / "models.png"))

    detail.get_by_role("button", name="← All models").click()
    expect(badge(row, "production")).to_have_attribute("data-version", "2")


def test_gate_refusal_is_shown_and_can_be_forced_then_rolled_back(
    page: Page, lab, registry, screenshots_dir: Path
) -> None:
    assert api(lab, f"models/{MODEL}")["aliases"] == {"production": 2}
    registry.set_gate(
        MODEL,
        {"compare": {"metric": "auc", "mode": "max"}},
        user="ui-test",
        reason="no regressions",
    )
    panel = open_models_tab(page)
    panel.locator(f'.jp-mlops-row[data-model-name="{MODEL}"]').click()
    detail = panel.locator(".jp-mlops-model-detail")

    # v1 is worse than the production holder (v2) on auc: the server refuses with a 409.
    promote(page, panel, 1, "hotfix: v2 misbehaves")
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    gate = dialog.locator(".jp-mlops-gate")
    expect(gate.locator(".jp-mlops-gate-message")).to_contain_text(
        f"quality gate refused {MODEL} v1 → production"
    )
    page.screenshot(path=str(screenshots_dir / "model-gate-refused.png"))
    gate.get_by_role("checkbox").check()
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    expect(dialog).to_have_count(0)
    aliases = detail.locator(".jp-mlops-aliases")
    expect(badge(aliases, "production")).to_have_attribute("data-version", "1")
    expect(detail.locator('.jp-mlops-audit-entry[data-action="set_alias"]').first).to_contain_text(
        "production: v2 → v1 (forced)"
    )
    expect(detail.locator('.jp-mlops-audit-entry[data-action="promotion_refused"]')).to_have_count(
        1
    )

    # Rollback: production goes back to v2, with a reason.
    aliases.locator('li[data-alias="production"] .jp-mlops-rollback').click()
    expect(dialog.locator(".jp-Dialog-header")).to_have_text(f"Roll back {MODEL}@production")
    dialog.locator("#jp-mlops-promote-reason").fill("hotfix withdrawn")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    expect(dialog).to_have_count(0)
    expect(badge(aliases, "production")).to_have_attribute("data-version", "2")
    expect(detail.locator(".jp-mlops-audit-entry").first).to_contain_text(
        "production rolled back: v1 → v2"
    )
    assert api(lab, f"models/{MODEL}")["aliases"] == {"production": 2}
