"""One-click deploy from a notebook, in a real JupyterLab + Chromium + real backend.

A training notebook (scikit-learn on ``load_breast_cancer``, ``mlops.register_model``) is put in
the server root, opened, and deployed with the toolbar's Deploy button: the parameters form
(the notebook has no run yet), then the progress dialog through run → register → serve →
healthy, until it shows the endpoint URL and a curl call. The test then calls the endpoint
(httpx and the dialog's own curl command) and checks the predictions; then the Deployments tab.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import nbformat
import pytest
from mlops_ui import api_request, open_notebook, stop_deployments, widen_side_panel
from playwright.sync_api import expect

from conftest import Lab, _start_lab, _stop

PANEL_ID = "jupyterlab-mlops-panel"
NOTEBOOK = "train_cancer.ipynb"
MODEL = "cancer"
# A headless papermill run + a uvicorn start on a busy 2-core machine.
DEPLOY_TIMEOUT_MS = 300_000

PARAMETERS = """\
C = 1.0  # inverse regularisation strength
max_iter = 2000  # solver iterations
"""

TRAIN = """\
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import jupyterlab_mlops as mlops

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
model.fit(X_train, y_train)
accuracy = model.score(X_test, y_test)
mlops.log_metric("accuracy", accuracy)
"""

REGISTER = f"""\
version = mlops.register_model(model, "{MODEL}", X_sample=X_train, y_sample=y_train,
                               metrics={{"accuracy": accuracy}})
"""


def write_training_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    parameters = nbformat.v4.new_code_cell(PARAMETERS)
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Breast cancer classifier"),
        parameters,
        nbformat.v4.new_code_cell(TRAIN),
        nbformat.v4.new_code_cell(REGISTER),
    ]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def deploy_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A JupyterLab of its own (its store fills with runs and deployments)."""
    lab = _start_lab(tmp_path_factory.mktemp("lab-deploy"), [])
    write_training_notebook(lab.root_dir / NOTEBOOK)
    yield lab
    # Stop the serving processes this module started, then the server.
    try:
        stop_deployments(lab)
    finally:
        _stop(lab.process)


def test_deploy_button_gives_a_working_endpoint(
    open_lab, deploy_lab: Lab, screenshots_dir: Path
) -> None:
    lab = deploy_lab
    page = open_lab(lab)
    open_notebook(page, NOTEBOOK)

    deploy = page.locator(".jp-NotebookPanel-toolbar .jp-mlops-deploy-button")
    expect(deploy).to_be_visible()
    expect(deploy).to_contain_text("Deploy")
    deploy.click()

    # No run yet and a parameters cell: the parameters form comes first.
    form = page.locator(".jp-Dialog .jp-mlops-deploy-params")
    expect(form).to_be_visible()
    expect(form.locator('[data-parameter="C"]')).to_be_visible()
    expect(form.locator('[data-parameter="max_iter"]')).to_be_visible()
    form.locator("#jp-mlops-param-C").fill("0.5")
    page.locator(".jp-Dialog").get_by_role("button", name="Run and deploy").click()

    dialog = page.locator(".jp-Dialog .jp-mlops-deploy")
    expect(dialog).to_be_visible()
    # The steps are followed live: the run step is in progress before it is done.
    steps = dialog.locator(".jp-mlops-deploy-step")
    expect(steps).to_have_count(4)
    expect(dialog).to_have_attribute(
        "data-phase", re.compile("succeeded|failed"), timeout=DEPLOY_TIMEOUT_MS
    )
    error = dialog.locator(".jp-mlops-deploy-error")
    assert error.count() == 0, f"deploy failed: {error.inner_text()}\n{lab.log_tail()}"
    for name in ("run", "register", "serve", "healthy"):
        expect(dialog.locator(f'[data-step="{name}"]')).to_have_attribute("data-state", "done")
    expect(dialog.locator('[data-step="register"] .jp-mlops-deploy-step-detail')).to_have_text(
        f"{MODEL}/1"
    )

    url = dialog.locator(".jp-mlops-deploy-url").inner_text().strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
    curl = dialog.locator(".jp-mlops-deploy-curl").inner_text().strip()
    assert curl.startswith("curl ") and f"{url}/predict" in curl
    expect(dialog.get_by_role("button", name="Copy curl command")).to_be_visible()
    page.screenshot(path=str(screenshots_dir / "deploy-dialog.png"))

    # The endpoint answers real rows of the data set with sensible predictions.
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    rows = X.iloc[:60]
    response = httpx.post(
        f"{url}/predict",
        json={"records": json.loads(rows.to_json(orient="records"))},
        timeout=30,
        trust_env=False,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    predictions = body["predictions"]
    assert len(predictions) == len(rows)
    assert set(predictions) <= {0, 1}
    accuracy = sum(int(p == t) for p, t in zip(predictions, y.iloc[:60], strict=True)) / len(rows)
    assert accuracy > 0.85, accuracy

    # The dialog's curl call works as pasted.
    result = subprocess.run(
        ["bash", "-c", curl], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert len(answer["predictions"]) == 1, answer

    job_id = dialog.get_attribute("data-job-id")
    job = api_request(lab, "GET", f"deploy/jobs/{job_id}").json()
    assert job["parameters"] == {"C": 0.5}
    page.locator(".jp-Dialog").get_by_role("button", name="Close").first.click()
    expect(page.locator(".jp-Dialog")).to_have_count(0)

    # A second click deploys the latest successful run's model: no form, run skipped, and
    # the running deployment of that version is reused.
    deploy.click()
    dialog = page.locator(".jp-Dialog .jp-mlops-deploy")
    expect(dialog).to_have_attribute(
        "data-phase", re.compile("succeeded|failed"), timeout=DEPLOY_TIMEOUT_MS
    )
    expect(dialog.locator('[data-step="run"]')).to_have_attribute("data-state", "skipped")
    expect(dialog.locator(".jp-mlops-deploy-url")).to_have_text(url)
    # "Show in the Deployments panel" closes the dialog and opens the deployment's detail.
    dialog.get_by_role("button", name="Show in the Deployments panel").click()
    expect(page.locator(".jp-Dialog")).to_have_count(0)
    panel = page.locator(f"#{PANEL_ID}")
    expect(panel.get_by_role("tab", name="Deployments")).to_have_attribute("aria-selected", "true")
    detail = panel.locator(f'.jp-mlops-detail[data-deployment-id="{job["deployment_id"]}"]')
    expect(detail).to_be_visible()
    widen_side_panel(page, 420)

    # The list: status, URL; back into the detail from the row.
    detail.locator(".jp-mlops-back").click()
    row = panel.locator(f'[data-deployment-id="{job["deployment_id"]}"]')
    expect(row).to_be_visible()
    expect(row.locator(".jp-mlops-status")).to_have_text("running")
    expect(row.locator(".jp-mlops-deployment-url")).to_have_text(url)
    row.locator(".jp-mlops-row-open").click()
    expect(detail).to_be_visible()
    # 60 + 1 rows were predicted in two requests: the prediction log and /metrics say so.
    expect(detail.locator('[data-stat="predictions"] dd')).to_have_text("61")
    expect(detail.locator('[data-stat="requests"] dd')).to_have_text("2")
    expect(detail.locator('[data-stat="error rate"] dd')).to_have_text("0 %")
    expect(detail.locator('[data-stat="p50"] dd')).to_have_text(re.compile(r"ms$"))
    expect(detail.locator(".jp-mlops-deploy-curl")).to_contain_text(f"{url}/predict")
    detail.locator(".jp-mlops-logs-toggle").click()
    expect(detail.locator(".jp-mlops-log-text")).to_contain_text("/predict")
    panel.screenshot(path=str(screenshots_dir / "deployments.png"))

    detail.locator(".jp-mlops-stop").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Stop").click()
    expect(detail.locator(".jp-mlops-detail-title .jp-mlops-status")).to_have_text(
        "stopped", timeout=60_000
    )
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/health", timeout=5, trust_env=False)
