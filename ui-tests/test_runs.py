"""Runs end to end in a real JupyterLab + Chromium: "Run with parameters" from a notebook's
toolbar, the run reaching ``succeeded`` in the Runs tab with the changed parameter, its detail
view (provenance, Open output) and a reproduction compared with the original.

This module starts its own jupyter-lab (its root gets runs, which other modules' empty-state
checks must not see).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from mlops_ui import PANEL_ID, api, api_request, open_panel, start_lab, stop_lab
from mlops_ui import write_notebook as write_cells
from playwright.sync_api import Page, expect

NOTEBOOK = "params_demo.ipynb"
RUN_TIMEOUT_MS = 180_000  # a papermill run (kernel start included) on a busy 2-core machine


def write_notebook(root: Path) -> Path:
    """A small notebook with a `parameters` cell that logs a metric computed from them."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell(
        'alpha = 0.5  # regularisation strength\nepochs = 3  # passes over the data\nlabel = "demo"'
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Parameterised demo"),
        params,
        nbformat.v4.new_code_cell(
            "import jupyterlab_mlops as mlops\n"
            "score = alpha * epochs\n"
            'mlops.log_metric("score", score)\n'
            "print(label, score)"
        ),
    ]
    path = root / NOTEBOOK
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """This module's own JupyterLab (overrides the session one), with the demo notebook."""
    tmp = tmp_path_factory.mktemp("lab-runs")
    lab = start_lab(tmp, [])
    write_notebook(lab.root_dir)
    yield lab
    stop_lab(lab.process)


def open_notebook(page: Page, name: str) -> None:
    page.locator(".jp-DirListing-content .jp-DirListing-itemText", has_text=name).dblclick()
    expect(page.locator(".jp-NotebookPanel").first).to_be_visible()


def run_detail(page: Page):
    return page.locator(f"#{PANEL_ID} .jp-mlops-run-detail")


def test_run_with_parameters_reaches_succeeded(page: Page, lab, screenshots_dir: Path) -> None:
    open_notebook(page, NOTEBOOK)
    button = page.locator(
        '.jp-NotebookPanel-toolbar [data-jp-item-name="mlops-run-with-parameters"]'
    )
    expect(button).to_be_visible()
    button.click()

    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".jp-Dialog-header")).to_contain_text(f"Run {NOTEBOOK} with parameters")
    # The form is generated from the detected parameters, typed, with defaults and help.
    alpha = dialog.locator("#jp-mlops-param-alpha")
    expect(alpha).to_be_focused()  # the dialog has finished its set-up (focus) first
    expect(alpha).to_have_attribute("type", "number")
    expect(alpha).to_have_value("0.5")
    expect(dialog.locator('[data-parameter="alpha"] .jp-mlops-param-help')).to_have_text(
        "regularisation strength"
    )
    expect(dialog.locator("#jp-mlops-param-epochs")).to_have_value("3")
    expect(dialog.locator('[data-parameter="epochs"]')).to_have_attribute("data-kind", "integer")
    expect(dialog.locator("#jp-mlops-param-label")).to_have_value("demo")

    alpha.fill("0.25")
    page.screenshot(path=str(screenshots_dir / "run-with-parameters.png"))
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    expect(dialog).to_have_count(0)

    # On success the panel opens on the Runs tab, showing the new run live.
    panel = page.locator(f"#{PANEL_ID}")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("tab", name="Runs")).to_have_attribute("aria-selected", "true")
    open_panel(page)  # already shown: only widens it, for a readable screenshot
    detail = run_detail(page)
    expect(detail).to_have_attribute("data-status", "succeeded", timeout=RUN_TIMEOUT_MS)
    run_id = detail.get_attribute("data-run-id")
    expect(detail.locator('.jp-mlops-parameters [data-key="alpha"] td')).to_have_text("0.25")
    expect(detail.locator('.jp-mlops-metrics [data-key="score"] td')).to_have_text("0.75")

    # The server recorded exactly what the dialog sent (only the changed value).
    run = api(lab, f"runs/{run_id}")
    assert run["status"] == "succeeded"
    assert run["parameters"] == {"alpha": 0.25}
    assert run["metrics"] == {"score": 0.75}
    notebook_sha = run["provenance"]["notebook_sha256"]
    expect(detail.locator('[data-key="notebook_sha256"] .jp-mlops-hash')).to_have_attribute(
        "title", notebook_sha
    )
    packages = len(run["provenance"]["packages"])
    expect(detail.locator(".jp-mlops-packages > summary")).to_have_text(f"{packages} packages")
    page.screenshot(path=str(screenshots_dir / "run-detail.png"))

    # The list: status badge and the changed parameter.
    detail.get_by_role("button", name="← All runs").click()
    row = panel.locator(f'.jp-mlops-row[data-run-id="{run_id}"]')
    expect(row.locator(".jp-mlops-status")).to_have_text("succeeded")
    expect(row.locator(".jp-mlops-row-params")).to_have_text("alpha=0.25")
    expect(row.locator(".jp-mlops-metric")).to_have_text("score=0.75")
    page.screenshot(path=str(screenshots_dir / "runs.png"))

    # Filters are server-side query arguments.
    panel.get_by_label("Filter by status").select_option("failed")
    expect(panel.locator(".jp-mlops-empty")).to_have_text("No runs match these filters.")
    panel.get_by_label("Filter by status").select_option("succeeded")
    expect(row).to_be_visible()


def test_open_output_and_reproduce(page: Page, lab, screenshots_dir: Path) -> None:
    runs = api(lab, "runs?status=succeeded")["items"]
    assert runs, "test_run_with_parameters_reaches_succeeded must run first"
    original = runs[-1]["id"]

    panel = open_panel(page)
    panel.locator(f'.jp-mlops-row[data-run-id="{original}"]').click()
    detail = run_detail(page)
    expect(detail).to_have_attribute("data-run-id", original)

    # Open output: the executed notebook opens in the lab from its path under the root.
    detail.get_by_role("button", name="Open output").click()
    output_path = f"mlops-runs/{original}/{NOTEBOOK}"
    tab = page.locator(".jp-MainAreaWidget .jp-NotebookPanel-notebook").first
    expect(tab).to_be_visible()
    output_tab = f'.lm-DockPanel-tabBar .lm-TabBar-tab[title*="{original}"]'
    expect(page.locator(output_tab)).to_have_count(1)
    assert (lab.root_dir / output_path).is_file()
    expect(page.locator(".jp-OutputArea-output", has_text="demo 0.75").first).to_be_visible()

    # Reproduce: a new run of the stored notebook, compared cell by cell when it ends.
    detail.get_by_role("button", name="Reproduce").click()
    expect(detail).not_to_have_attribute("data-run-id", original)
    expect(detail).to_have_attribute("data-status", "succeeded", timeout=RUN_TIMEOUT_MS)
    comparison = detail.locator(".jp-mlops-comparison")
    expect(comparison).to_have_attribute("data-outputs-match", "true")
    # Every code cell (papermill's injected-parameters cell included) matches.
    expect(comparison.locator("p").first).to_have_text(
        re.compile(r"^Outputs match: (\d+)/\1 code cells\. Original: " + original + "$")
    )
    expect(comparison.locator('.jp-mlops-cell[data-match="true"]')).not_to_have_count(0)
    expect(comparison.locator('.jp-mlops-cell[data-match="false"]')).to_have_count(0)
    expect(comparison).to_contain_text("Same environment")
    reproduction = api(lab, f"runs/{detail.get_attribute('data-run-id')}")
    assert reproduction["reproduces_run_id"] == original
    assert reproduction["parameters"] == {"alpha": 0.25}
    page.screenshot(path=str(screenshots_dir / "run-reproduce.png"))


def test_live_output_shows_while_the_run_executes(page: Page, lab, screenshots_dir: Path) -> None:
    """The run view shows a cell's output before the run ends: the notebook prints, then waits
    for a file this test creates only once it has seen that output in the page."""
    gate = lab.root_dir / "live-go"
    write_cells(
        lab.root_dir / "live_demo.ipynb",
        [
            "print('first cell says hello')",
            "import pathlib, time\nprint('waiting for the gate', flush=True)\n"
            f"while not pathlib.Path({str(gate)!r}).exists():\n    time.sleep(0.05)\n"
            "print('through the gate')",
        ],
    )
    response = api_request(lab, "POST", "runs", {"notebook_path": "live_demo.ipynb"})
    assert response.status_code == 201, response.text
    run_id = response.json()["id"]

    panel = open_panel(page)
    panel.locator(f'.jp-mlops-row[data-run-id="{run_id}"]').click()
    detail = run_detail(page)
    output = detail.locator(".jp-mlops-live")
    expect(output.locator(".jp-mlops-live-stream", has_text="waiting for the gate")).to_be_visible(
        timeout=RUN_TIMEOUT_MS
    )
    expect(detail).to_have_attribute("data-status", "running")
    expect(output.locator('.jp-mlops-live-cell[data-status="running"]')).to_have_count(1)
    expect(output).to_contain_text("first cell says hello")
    page.screenshot(path=str(screenshots_dir / "run-live-output.png"))
    assert api(lab, f"runs/{run_id}")["status"] == "running"

    gate.write_text("")
    expect(detail).to_have_attribute("data-status", "succeeded", timeout=RUN_TIMEOUT_MS)
    expect(output.locator(".jp-mlops-live-stream", has_text="through the gate")).to_be_visible()
    expect(output.locator('.jp-mlops-live-cell[data-status="running"]')).to_have_count(0)
    expect(detail.locator(".jp-mlops-run-usage")).to_contain_text("peak memory")
