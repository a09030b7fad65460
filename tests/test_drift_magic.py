"""``%mlops drift`` and ``mlops.drift_report`` in a real kernel (the widget and its synced state)
and in an IPython shell against a real deployment's prediction log."""

from __future__ import annotations

import re

import nbformat
import pytest
from deploy_support import stopping_all
from drift_support import (
    MODEL,
    NO_MONITOR,
    dataset,
    drifted,
    logged,
    predict,
    register_champion,
    wait_for,
)
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from jupyterlab_mlops.app import MLOps

VEGALITE_MIME = "application/vnd.vegalite.v5+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

SETUP = """\
%load_ext jupyterlab_mlops
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
ref = pd.DataFrame({"x": rng.normal(size=500), "plan": rng.choice(list("ab"), 500)})
cur = pd.DataFrame({"x": rng.normal(1, 1, 500), "plan": rng.choice(list("abz"), 500)})
"""


def test_widget_in_a_real_kernel_carries_the_report_in_its_state(tmp_path):
    nb = new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        new_code_cell(SETUP),
        new_code_cell("%mlops drift --reference ref --current cur"),
        new_code_cell("import jupyterlab_mlops as mlops\nmlops.drift_report(ref, cur, 'psi')"),
    ]
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    for cell in nb.cells[1:]:
        outputs = [o for o in cell.outputs if o.output_type in ("display_data", "execute_result")]
        assert len(outputs) == 1, cell.outputs
        data = outputs[0]["data"]
        assert WIDGET_VIEW in data  # the lab renders the widget ...
        assert "<table class='jp-mlops-drift-table'" in data["text/html"]  # ... others the table
    states = nb.metadata["widgets"][WIDGET_STATE]["state"]
    reports = [s["state"] for s in states.values() if "summary" in s.get("state", {})]
    # The histograms are Vega-Lite outputs of Output widgets, for the lab's renderer.
    charts = [
        o["data"][VEGALITE_MIME]
        for s in states.values()
        for o in s.get("state", {}).get("outputs", [])
        if VEGALITE_MIME in o.get("data", {})
    ]
    assert [c["title"]["text"] for c in charts] == ["plan", "plan"]  # drifted first, by name
    assert len(reports) == 2
    magic, psi = reports
    assert magic["summary"]["n_columns"] == 2 and magic["summary"]["drifted_columns"] == [
        "x",
        "plan",
    ]
    x = next(c for c in magic["columns"] if c["column"] == "x")
    assert x["method"] == "ks" and x["p_value"] < 1e-10 and x["histogram"]["type"] == "numeric"
    plan = next(c for c in magic["columns"] if c["column"] == "plan")
    assert plan["new_categories"] == ["z"]
    assert {c["method"] for c in psi["columns"]} == {"psi"}
    nbformat.validate(nb)


@pytest.fixture
def served(tmp_path, monkeypatch):
    mlops = MLOps(root_dir=str(tmp_path), deployment_poll_interval=0.0, monitor_interval=0.0)
    with stopping_all(mlops):
        data = dataset()
        register_champion(mlops, data)
        deployment = mlops.deployments.create(f"{MODEL}@production", "local", config=NO_MONITOR)
        predict(deployment["url"], drifted(data["X_test"].iloc[:120]))
        wait_for(lambda: logged(deployment["prediction_log"], 120))
        for key, value in mlops.child_environment().items():
            monkeypatch.setenv(key, value)
        yield {"mlops": mlops, "deployment": deployment}
    mlops.stop()


def test_magic_for_a_deployment(served, tmp_path):
    """In a kernel that shares the store (as the server's kernels do, through MLOPS_* env)."""
    nb = new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        new_code_cell(f"%load_ext jupyterlab_mlops\n%mlops drift {MODEL}@production --window 120"),
        new_code_cell("%mlops drift nobody@production"),
    ]
    NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for o in nb.cells[0].outputs if o.output_type == "display_data"]
    assert len(outputs) == 1
    html = outputs[0]["data"]["text/html"]
    assert WIDGET_VIEW in outputs[0]["data"]
    assert "cancer-production" in html and "mean radius" in html
    # Drift over time, drawn on the server from the widget's Vega-Lite spec.
    assert re.search(r"<img alt='Drift share over \d+ checks?; latest \d+% drifted'", html)
    states = nb.metadata["widgets"][WIDGET_STATE]["state"].values()
    (state,) = [s["state"] for s in states if "summary" in s.get("state", {})]
    assert state["summary"]["n_current_rows"] == 120
    assert state["summary"]["deployment"]["id"] == served["deployment"]["id"]
    assert {a["rule"] for a in state["alerts"]} >= {"mean_shift_pct", "missing_rate"}
    assert state["history"]  # the rolling windows of the deployment's log
    printed = "".join(o.get("text", "") for o in nb.cells[1].outputs)
    assert "no deployment named 'nobody@production'" in printed
