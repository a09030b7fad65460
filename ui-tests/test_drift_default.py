"""Every deployment is monitored from the start, in a real JupyterLab + Chromium + real backend.

A breast-cancer classifier is registered in the server's store and deployed through the REST
API (a real uvicorn process), nothing else: the Drift tab lists its monitor with a monitored
status. Then real ``/predict`` traffic with the seeds' drift (a key feature's mean 20 % higher,
10 % of the requests without a key feature) reaches the log; the server's scheduled checks
(``monitor_interval`` 1 s here) raise the alerts, which the deployment's Drift section shows.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from mlops_ui import api_request, stop_deployments, switch_theme, widen_side_panel
from playwright.sync_api import expect

from conftest import Lab, _start_lab, _stop

PANEL_ID = "jupyterlab-mlops-panel"
MODEL = "cancer-watched"
DEPLOYMENT = "cancer-watched-local"


def until(check, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)  # polling interval of a deadline-bounded wait
    raise AssertionError(f"{what}: not within {timeout} s")


@pytest.fixture(scope="module")
def watched_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    lab = _start_lab(tmp_path_factory.mktemp("lab-watched"), ["--MLOps.monitor_interval=1"])
    try:
        yield deploy(lab)
    finally:
        try:
            stop_deployments(lab)
        finally:
            _stop(lab.process)


def deploy(lab: Lab) -> dict:
    from sklearn.datasets import load_breast_cancer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from jupyterlab_mlops.app import build_mlops

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.copy()
    # A few missing textures in training: the signature accepts requests without one.
    X.iloc[::50, X.columns.get_loc("mean texture")] = np.nan
    model = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(X, y)
    build_mlops(str(lab.root_dir)).registry.register(
        model, MODEL, X_sample=X, y_sample=y, user="ui-test"
    )
    response = api_request(lab, "POST", "deployments", {"model": f"{MODEL}/1", "name": DEPLOYMENT})
    assert response.status_code == 201, response.text
    return {"lab": lab, "deployment": response.json(), "X": X}


def drifted_traffic(url: str, X) -> None:
    frame = X.copy()
    frame["mean radius"] *= 1.2
    frame.iloc[: len(frame) // 10, frame.columns.get_loc("mean texture")] = np.nan
    records = json.loads(frame.to_json(orient="records"))
    # One request, logged at once: a scheduled check sees none of it or all of it, never a part
    # (whose shift and missing rate would differ from the seeds').
    answer = httpx.post(f"{url}/predict", json={"records": records}, timeout=60, trust_env=False)
    assert answer.status_code == 200, answer.text


def test_a_fresh_deployment_is_monitored_and_its_drift_section_shows_the_alerts(
    open_lab, watched_lab: dict, screenshots_dir: Path
) -> None:
    lab, deployment = watched_lab["lab"], watched_lab["deployment"]
    page = open_lab(lab)
    page.locator(f'.jp-SideBar .lm-TabBar-tab[data-id="{PANEL_ID}"]').click()
    panel = page.locator(f"#{PANEL_ID}")
    widen_side_panel(page, 520)

    # No extra step: the Drift tab lists the deployment's monitor.
    panel.get_by_role("tab", name="Drift").click()
    row = panel.locator(".jp-mlops-item .jp-mlops-row", has_text=DEPLOYMENT)
    expect(row).to_be_visible()
    # Monitored: waiting for its first check, or checked (no traffic yet: too few rows).
    expect(row.locator(".jp-mlops-status")).to_have_text(
        re.compile(r"^(unknown|insufficient data)$")
    )

    drifted_traffic(deployment["url"], watched_lab["X"])

    def alerts():
        items = api_request(lab, "GET", "drift/alerts?acknowledged=false").json()["items"]
        rules = {a["rule"] for a in items}
        return {"mean_shift_pct", "missing_rate"} <= rules and items

    until(alerts, "the scheduled check raised the seeds' alerts")

    panel.get_by_role("tab", name="Deployments").click()
    panel.locator(f'[data-deployment-id="{deployment["id"]}"] .jp-mlops-row-open').click()
    section = panel.locator(
        f'.jp-mlops-detail[data-deployment-id="{deployment["id"]}"] [data-section="drift"]'
    )
    expect(section.locator(".jp-mlops-status").first).to_have_text("alert", timeout=30_000)
    messages = section.locator(".jp-mlops-alert-message")
    expect(messages.filter(has_text="mean of 'mean radius' shifted by +20.0 %")).to_be_visible()
    expect(messages.filter(has_text="miss 'mean texture'")).to_be_visible()
    # The drift share over the stored checks: the Vega-Lite chart the notebook widget shows,
    # drawn by the lab's renderer. Every check since the traffic saw the same rows.
    (monitor,) = api_request(lab, "GET", "drift/monitors").json()["items"]
    latest = round(monitor["drift_share"] * 100)
    chart = section.locator(".jp-mlops-drift-chart")
    expect(chart.locator("figcaption")).to_have_text(
        re.compile(rf"^Drift share over \d+ checks?; latest {latest}% drifted$")
    )
    points = chart.locator('.vega-embed [aria-roledescription="point"]')
    expect(points.first).to_be_visible()
    expect(chart.locator(".vega-embed svg")).to_have_css("background-color", "rgb(255, 255, 255)")
    expect(section.locator(".jp-mlops-feature-table tbody tr")).to_have_count(30)
    section.screenshot(path=str(screenshots_dir / "deployment-drift.png"))

    # JupyterLab Dark: the renderer draws the chart again in Vega's dark theme.
    switch_theme(page, "JupyterLab Dark")
    expect(chart.locator(".vega-embed svg")).to_have_css("background-color", "rgb(51, 51, 51)")
    expect(points.first).to_be_visible()
    section.screenshot(path=str(screenshots_dir / "deployment-drift-dark.png"))
    switch_theme(page, "JupyterLab Light")
