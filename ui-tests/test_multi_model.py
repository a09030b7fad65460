"""A multi-model deployment in a real JupyterLab + Chromium + real backend.

Two classifiers are registered through the Python API in the server's store and deployed in
one serving process through the REST API (``config.models``, ``max_loaded_models`` 1). The
Deployments tab lists both hosted models on the deployment's row and tabulates them in its
detail; a request for the unloaded one loads it (and unloads the other), which the detail shows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from mlops_ui import api_request, open_panel_tab, stop_deployments
from playwright.sync_api import expect

from conftest import Lab, _start_lab, _stop

# A uvicorn start with two scikit-learn models on a busy 2-core machine.
LOADED_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def multi_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    lab = _start_lab(tmp_path_factory.mktemp("lab-multi"), [])
    try:
        yield deploy_two_models(lab)
    finally:
        try:
            stop_deployments(lab)
        finally:
            _stop(lab.process)


def deploy_two_models(lab: Lab) -> dict:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    from jupyterlab_mlops.app import build_mlops

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    mlops = build_mlops(str(lab.root_dir))
    churn = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
    fraud = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    mlops.registry.register(churn, "churn", X_sample=X.head(100), user="ui-test")
    mlops.registry.set_alias("churn", "production", 1, user="ui-test")
    mlops.registry.register(fraud, "fraud", X_sample=X.head(100), user="ui-test")
    response = api_request(
        lab,
        "POST",
        "deployments",
        {
            "config": {
                "models": ["churn@production", "fraud/1"],
                "max_loaded_models": 1,
                "monitor": False,
            }
        },
    )
    assert response.status_code == 201, response.text
    deployment = response.json()
    assert deployment["status"] == "running", deployment
    return {"lab": lab, "deployment": deployment, "X": X, "fraud": fraud}


def test_deployments_tab_shows_the_hosted_models_and_what_is_loaded(
    open_lab, multi_lab: dict, screenshots_dir: Path
) -> None:
    lab, deployment = multi_lab["lab"], multi_lab["deployment"]
    page = open_lab(lab)
    panel = open_panel_tab(page, "Deployments")

    row = panel.locator(f'[data-deployment-id="{deployment["id"]}"]')
    expect(row.locator(".jp-mlops-hosted-count")).to_have_text("2 models")
    expect(row.locator(".jp-mlops-hosted-model")).to_have_text(
        ["churn/1 @production", "fraud/1 (unloaded)"]
    )

    row.locator(".jp-mlops-row-open").click()
    detail = panel.locator(f'.jp-mlops-detail[data-deployment-id="{deployment["id"]}"]')
    expect(detail.locator(".jp-mlops-section-title").first).to_have_text(
        "2 models in one process, at most 1 loaded"
    )
    table = detail.locator(".jp-mlops-hosted-table")
    expect(table.locator('[data-hosted-model="churn"] td')).to_have_text(
        ["/models/churn", "churn@production", "v1", "loaded"]
    )
    expect(table.locator('[data-hosted-model="fraud"] .jp-mlops-hosted-loaded')).to_have_text(
        "unloaded"
    )
    expect(detail.locator(".jp-mlops-canary")).to_have_count(0)
    expect(detail.locator(".jp-mlops-deploy-curl")).to_contain_text(
        f"{deployment['url']}/models/churn/predict"
    )

    # a request for fraud loads it, and churn is unloaded to make room
    frame = multi_lab["X"].head(5)
    answer = httpx.post(
        f"{deployment['url']}/models/fraud/predict",
        json={"records": json.loads(frame.to_json(orient="records"))},
        timeout=30,
        trust_env=False,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == multi_lab["fraud"].predict(frame).tolist()
    panel.locator(".jp-mlops-refresh").click()
    expect(table.locator('[data-hosted-model="fraud"] .jp-mlops-hosted-loaded')).to_have_text(
        "loaded", timeout=LOADED_TIMEOUT_MS
    )
    expect(table.locator('[data-hosted-model="churn"] .jp-mlops-hosted-loaded')).to_have_text(
        "unloaded"
    )
    page.screenshot(path=str(screenshots_dir / "deployments-multi-model.png"))
