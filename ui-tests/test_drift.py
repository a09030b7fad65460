"""Drift monitoring in a real JupyterLab + Chromium + real backend.

Two versions of a breast-cancer classifier are registered through the Python API in the
server's store, version 1 is deployed locally through the REST API (a real uvicorn process),
and its prediction log is filled by real ``/predict`` calls: first rows like the training data,
then rows whose features are shifted. A monitor is created and checked after each batch. Then,
in the browser: a notebook cell runs ``%mlops drift <deployment> --window N`` and the widget's
table and charts render in the output; the Drift tab lists the monitor with its time series,
per-feature table and alert (acknowledged from the tab); the Deployments tab sets a canary split.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nbformat
import pytest
from mlops_ui import (
    api_request,
    open_notebook,
    stop_deployments,
    switch_theme,
    widen_side_panel,
)
from playwright.sync_api import expect

from conftest import Lab, _start_lab, _stop

PANEL_ID = "jupyterlab-mlops-panel"
MODEL = "cancer-drift"
DEPLOYMENT = "cancer-drift-local"
WINDOW = 120
NOTEBOOK = "drift_check.ipynb"
KERNEL_TIMEOUT_MS = 120_000
# The ground of Vega's default and dark themes, which JupyterLab's renderer picks by the lab's.
LIGHT_GROUND = "rgb(255, 255, 255)"
DARK_GROUND = "rgb(51, 51, 51)"


def wait_logged(lab: Lab, deployment_id: str, count: int) -> None:
    """Wait until the serving process has flushed ``count`` predictions to its log (it writes
    in the background, a fraction of a second behind the answers)."""
    deadline = time.monotonic() + 60
    logged = -1
    while time.monotonic() < deadline:
        logged = api_request(lab, "GET", f"deployments/{deployment_id}").json()["stats"][
            "predictions"
        ]
        if logged >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"only {logged} of {count} predictions reached the log in 60 s")


def predict(url: str, frame) -> None:
    records = json.loads(frame.to_json(orient="records"))
    for start in range(0, len(records), 40):
        response = httpx.post(
            f"{url}/predict",
            json={"records": records[start : start + 40]},
            timeout=30,
            trust_env=False,
        )
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def drift_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A JupyterLab with a deployment whose traffic drifted, and a monitor on it."""
    lab = _start_lab(tmp_path_factory.mktemp("lab-drift"), [])
    try:
        yield setup_drifted_deployment(lab)
    finally:
        try:
            stop_deployments(lab)
        finally:
            _stop(lab.process)


def setup_drifted_deployment(lab: Lab) -> dict:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from jupyterlab_mlops.app import build_mlops

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, _ = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    mlops = build_mlops(str(lab.root_dir))
    for C in (1.0, 0.3):  # version 1 (deployed) and 2 (the canary challenger)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=2000))
        model.fit(X_train, y_train)
        mlops.registry.register(model, MODEL, X_sample=X_train, y_sample=y_train, user="ui-test")

    response = api_request(
        lab,
        "POST",
        "deployments",
        {"model": f"{MODEL}/1", "name": DEPLOYMENT, "config": {"monitor": False}},
    )
    assert response.status_code == 201, response.text
    deployment = response.json()
    assert deployment["status"] == "running", deployment
    url = deployment["url"]

    response = api_request(
        lab,
        "POST",
        "drift/monitors",
        {"deployment_id": deployment["id"], "config": {"window": {"last_n": WINDOW}}},
    )
    assert response.status_code == 201, response.text
    monitor = response.json()

    # Traffic like the training data: no drift.
    calm = X_test.sample(WINDOW, replace=True, random_state=1)
    predict(url, calm)
    wait_logged(lab, deployment["id"], WINDOW)
    first = api_request(lab, "POST", f"drift/monitors/{monitor['id']}/check")
    assert first.status_code == 200, first.text

    # Then the first ten features grow by 60 %: drift, and an alert.
    shifted = X_test.sample(WINDOW, replace=True, random_state=2).copy()
    shifted.iloc[:, :10] *= 1.6
    predict(url, shifted)
    wait_logged(lab, deployment["id"], 2 * WINDOW)
    second = api_request(lab, "POST", f"drift/monitors/{monitor['id']}/check")
    assert second.status_code == 200, second.text
    checked = second.json()
    assert checked["result"]["drift_share"] > first.json()["result"]["drift_share"], checked
    return {"lab": lab, "deployment": deployment, "monitor": monitor, "check": checked}


def write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell(
            f"%load_ext jupyterlab_mlops\n%mlops drift {DEPLOYMENT} --window {WINDOW}"
        )
    ]
    nbformat.write(nb, path)


def test_drift_magic_shows_the_widget(open_lab, drift_lab: dict, screenshots_dir: Path) -> None:
    lab = drift_lab["lab"]
    write_notebook(lab.root_dir / NOTEBOOK)
    page = open_lab(lab)
    open_notebook(page, NOTEBOOK)
    # The kernel is started and connected (status bar), then the cell is run from the menu.
    status = page.locator("#jp-main-statusbar").get_by_role("button", name=re.compile(r"\| Idle$"))
    expect(status).to_be_visible(timeout=KERNEL_TIMEOUT_MS)
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()

    widget = page.locator(".jp-OutputArea-output .jp-mlops-drift-widget")
    expect(widget).to_be_visible(timeout=KERNEL_TIMEOUT_MS)
    table = widget.locator("table.jp-mlops-drift-table")
    expect(table).to_be_visible()
    # One row per feature of the data set (30), the shifted ones drifted.
    expect(table.locator("tbody tr")).to_have_count(30)
    expect(widget.locator(".jp-mlops-drift-summary")).to_contain_text("drift")
    # The charts are Vega-Lite outputs drawn by the lab's own renderer: the selected feature's
    # histogram and the drift share of the monitor's two checks.
    charts = widget.locator(".vega-embed")
    expect(charts).to_have_count(2)
    feature = widget.locator(".widget-dropdown select").last.input_value()
    expect(charts.first).to_have_attribute(
        "aria-label", f"Reference and current distributions of {feature}"
    )
    expect(charts.nth(1)).to_have_attribute(
        "aria-label", re.compile(r"^Drift share over 2 checks; latest \d+% drifted$")
    )
    expect(charts.nth(1).locator('[aria-roledescription="point"]')).to_have_count(2)
    expect(charts.first.locator("svg")).to_have_css("background-color", LIGHT_GROUND)
    # A tall window, so the whole widget (summary, table, histogram, time series) is on screen.
    page.set_viewport_size({"width": 1280, "height": 2400})
    widget.scroll_into_view_if_needed()
    widget.screenshot(path=str(screenshots_dir / "drift-widget.png"))

    # In the dark theme the renderer draws them in Vega's dark theme (the cell run again).
    switch_theme(page, "JupyterLab Dark")
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    for index in range(2):
        expect(charts.nth(index).locator("svg")).to_have_css(
            "background-color", DARK_GROUND, timeout=KERNEL_TIMEOUT_MS
        )
    expect(charts.nth(1).locator('[aria-roledescription="point"]')).to_have_count(2)
    widget.scroll_into_view_if_needed()
    widget.screenshot(path=str(screenshots_dir / "drift-widget-dark.png"))
    switch_theme(page, "JupyterLab Light")


def test_drift_tab_lists_the_monitor(open_lab, drift_lab: dict, screenshots_dir: Path) -> None:
    lab = drift_lab["lab"]
    monitor = drift_lab["monitor"]
    check = drift_lab["check"]
    page = open_lab(lab)
    page.locator(f'.jp-SideBar .lm-TabBar-tab[data-id="{PANEL_ID}"]').click()
    panel = page.locator(f"#{PANEL_ID}")
    widen_side_panel(page, 480)
    panel.get_by_role("tab", name="Drift").click()

    row = panel.locator(f'.jp-mlops-item [data-monitor-id="{monitor["id"]}"]')
    expect(row).to_be_visible()
    expect(row.locator(".jp-mlops-row-title")).to_have_text(DEPLOYMENT)
    expect(row.locator(".jp-mlops-status")).to_have_text(check["status"].replace("_", " "))
    share = round(check["result"]["drift_share"] * 100)
    expect(row.locator(".jp-mlops-drift-share")).to_have_text(f"{share} % of features drifted")

    row.locator(".jp-mlops-row-open").click()
    detail = panel.locator(f'.jp-mlops-detail[data-monitor-id="{monitor["id"]}"]')
    expect(detail).to_be_visible()
    # The same chart as the notebook widget's, from the server, drawn by the lab's renderer.
    chart = detail.locator(".jp-mlops-drift-chart")
    expect(chart.locator("figcaption")).to_have_text(
        re.compile(r"^Drift share over 2 checks; latest \d+% drifted$")
    )
    expect(chart.locator('.vega-embed [aria-roledescription="point"]')).to_have_count(2)
    expect(chart.locator(".vega-embed svg")).to_have_css("background-color", LIGHT_GROUND)
    table = detail.locator(".jp-mlops-feature-table")
    expect(table.locator("tbody tr")).to_have_count(30)
    drifted = check["result"]["drifted_columns"]
    assert drifted, check
    expect(table.locator("tbody tr.jp-mod-drifted")).to_have_count(len(drifted))
    expect(table.locator("tbody tr").first).to_have_attribute("data-column", re.compile("."))
    if check["alerts"]:
        alert = detail.locator(".jp-mlops-alert").first
        expect(alert).to_be_visible()
    panel.screenshot(path=str(screenshots_dir / "drift-tab.png"))

    # The dark theme: the table follows the theme's variables, the chart is drawn again dark.
    switch_theme(page, "JupyterLab Dark")
    expect(chart.locator(".vega-embed svg")).to_have_css("background-color", DARK_GROUND)
    expect(chart.locator('.vega-embed [aria-roledescription="point"]')).to_have_count(2)
    panel.screenshot(path=str(screenshots_dir / "drift-tab-dark.png"))
    switch_theme(page, "JupyterLab Light")
    expect(chart.locator(".vega-embed svg")).to_have_css("background-color", LIGHT_GROUND)

    if check["alerts"]:
        detail.locator(".jp-mlops-alert-ack").first.click()
        expect(detail.locator(".jp-mlops-alert-acked").first).to_be_visible()
        alerts = api_request(lab, "GET", f"drift/alerts?monitor_id={monitor['id']}").json()["items"]
        assert any(a["acknowledged"] for a in alerts), alerts


def test_deployments_tab_sets_a_canary(open_lab, drift_lab: dict) -> None:
    lab = drift_lab["lab"]
    deployment = drift_lab["deployment"]
    page = open_lab(lab)
    page.locator(f'.jp-SideBar .lm-TabBar-tab[data-id="{PANEL_ID}"]').click()
    panel = page.locator(f"#{PANEL_ID}")
    panel.get_by_role("tab", name="Deployments").click()
    panel.locator(f'[data-deployment-id="{deployment["id"]}"] .jp-mlops-row-open').click()
    detail = panel.locator(f'.jp-mlops-detail[data-deployment-id="{deployment["id"]}"]')
    canary = detail.locator(".jp-mlops-canary")
    expect(canary.locator(".jp-mlops-canary-current")).to_have_text("All traffic goes to v1.")
    expect(canary.get_by_label("Challenger")).to_have_value("2")
    canary.get_by_label("Share (%)").fill("25")
    canary.locator(".jp-mlops-canary-apply").click()
    expect(canary.locator(".jp-mlops-canary-current")).to_have_text(
        "v2 gets 25 % of traffic, v1 75 %.", timeout=60_000
    )
    record = api_request(lab, "GET", f"deployments/{deployment['id']}?stats=0").json()
    assert record["config"]["canary"] == {"version": 2, "percent": 25}, record
    # Both versions answer through the same endpoint now.
    from sklearn.datasets import load_breast_cancer

    X, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    # Requests are routed at random (25 % to v2): 100 requests miss v2 with p = 0.75**100.
    versions = set()
    records = json.loads(X.iloc[:1].to_json(orient="records"))
    for _ in range(100):
        answer = httpx.post(
            f"{deployment['url']}/predict",
            json={"records": records},
            timeout=30,
            trust_env=False,
        ).json()
        versions.add(answer["version"])
        if versions == {1, 2}:
            break
    assert versions == {1, 2}, versions

    canary.locator(".jp-mlops-canary-remove").click()
    expect(canary.locator(".jp-mlops-canary-current")).to_have_text(
        "All traffic goes to v1.", timeout=60_000
    )
