"""Pipelines end to end in a real JupyterLab + Chromium: a three-notebook pipeline whose middle
step fails is started from the file browser's context menu ("Run pipeline" on the
``*.pipeline.yaml``); its DAG opens in a main-area tab and shows the failed step (the lab also
gets a notification that opens the pipeline run); the notebook is fixed on disk, Repair re-runs
only the failed step and its downstream one, reusing the first step's outputs, and the pipeline
succeeds. The Pipelines tab lists the run.

This module starts its own jupyter-lab (its store gets pipeline runs).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlops_ui import (
    PANEL_ID,
    api,
    main_area_tab,
    open_panel_tab,
    start_lab,
    stop_lab,
    toast,
    write_notebook,
)
from playwright.sync_api import Page, expect

PIPELINE = "ui_flow.pipeline.yaml"
PIPELINE_NAME = "ui-flow"
# Three papermill runs one after the other (kernel starts included) on a busy 2-core machine.
PIPELINE_TIMEOUT_MS = 360_000

PIPELINE_YAML = f"""\
name: {PIPELINE_NAME}
steps:
  - {{name: prepare, notebook: prepare.ipynb}}
  - name: train
    notebook: train.ipynb
    depends_on: [prepare]
    parameters: {{rows: "${{steps.prepare.outputs.rows}}"}}
  - {{name: evaluate, notebook: evaluate.ipynb, depends_on: [train]}}
"""

PREPARE = "import jupyterlab_mlops as mlops\nmlops.log_output('rows', 3)\nprint('prepared')"
TRAIN_BROKEN = "raise ValueError('bad data')"
TRAIN_FIXED = "assert rows == 3, rows\nprint('trained on', rows)"
EVALUATE = "print('evaluated')"


def write_train(root: Path, source: str) -> None:
    write_notebook(root / "train.ipynb", [source], parameters="rows = 0")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """This module's own JupyterLab (overrides the session one), with the pipeline's files."""
    lab = start_lab(tmp_path_factory.mktemp("lab-pipelines"), [])
    root = lab.root_dir
    write_notebook(root / "prepare.ipynb", [PREPARE])
    write_train(root, TRAIN_BROKEN)
    write_notebook(root / "evaluate.ipynb", [EVALUATE])
    (root / PIPELINE).write_text(PIPELINE_YAML)
    yield lab
    stop_lab(lab.process)


def step(view, name: str):
    return view.locator(f'.jp-mlops-dag-node[data-step="{name}"]')


def test_failed_pipeline_is_repaired_from_its_dag(page: Page, lab, screenshots_dir: Path) -> None:
    # "Run pipeline" in the file browser's context menu of the pipeline file.
    item = page.locator(".jp-DirListing-content .jp-DirListing-item", has_text=PIPELINE)
    expect(item).to_have_attribute("data-file-type", "mlops-pipeline")
    item.click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run pipeline$")).click()

    # Its DAG opens in the main area: three boxes, one column per dependency depth.
    view = page.locator(".jp-mlops-pipeline-view")
    expect(view).to_be_visible()
    expect(view.locator(".jp-mlops-dag-node")).to_have_count(3)
    run_id = view.get_attribute("data-pipeline-run-id")
    expect(main_area_tab(page, run_id)).to_have_count(1)
    expect(view.locator(".jp-mlops-detail-title")).to_have_text(PIPELINE_NAME)
    boxes = [step(view, name).bounding_box() for name in ("prepare", "train", "evaluate")]
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"], boxes
    expect(view.locator(".jp-mlops-dag-edge")).to_have_count(2)

    # The middle step fails; the last one is skipped; Repair is offered, Cancel no more.
    expect(view).to_have_attribute("data-status", "failed", timeout=PIPELINE_TIMEOUT_MS)
    expect(step(view, "prepare")).to_have_attribute("data-status", "succeeded")
    expect(step(view, "train")).to_have_attribute("data-status", "failed")
    expect(step(view, "evaluate")).to_have_attribute("data-status", "skipped")
    expect(step(view, "train").locator(".jp-mlops-dag-node-attempts")).to_have_text(
        "attempt 1 · 1 try"
    )
    expect(view.locator('.jp-mlops-pipeline-errors [data-step="train"]')).to_contain_text(
        "bad data"
    )
    expect(view.locator(".jp-mlops-pipeline-cancel")).to_have_count(0)
    repair = view.locator(".jp-mlops-pipeline-repair")
    expect(repair).to_be_visible()
    page.screenshot(path=str(screenshots_dir / "pipeline-failed.png"))

    first = api(lab, f"pipelines/runs/{run_id}")
    assert first["status"] == "failed" and first["attempt"] == 1, first
    steps = {s["name"]: s for s in first["steps"]}
    assert steps["prepare"]["outputs"] == {"rows": 3}, steps["prepare"]
    failed_train_run = steps["train"]["run_id"]
    assert failed_train_run
    expect(step(view, "train")).to_have_attribute("data-run-id", failed_train_run)

    # Every open lab hears of the failure; its action opens the pipeline run again.
    told = toast(page, f"Pipeline failed: {PIPELINE}")
    expect(told).to_be_visible(timeout=30_000)
    main_area_tab(page, run_id).locator(".lm-TabBar-tabCloseIcon").click()
    expect(view).to_have_count(0)
    told.get_by_role("button", name="Open pipeline run").click()
    expect(view).to_have_attribute("data-pipeline-run-id", run_id)
    expect(view).to_have_attribute("data-status", "failed")

    # Fix the notebook on disk, then Repair: a second attempt of the same pipeline run.
    write_train(lab.root_dir, TRAIN_FIXED)
    view.locator(".jp-mlops-pipeline-repair").click()
    expect(view).to_have_attribute("data-attempt", "2")
    expect(view).to_have_attribute("data-status", "succeeded", timeout=PIPELINE_TIMEOUT_MS)
    expect(step(view, "prepare")).to_have_attribute("data-reused", "true")
    expect(step(view, "prepare").locator(".jp-mlops-dag-reused")).to_have_text("reused")
    expect(step(view, "prepare")).to_have_attribute("data-run-id", steps["prepare"]["run_id"])
    expect(step(view, "train")).to_have_attribute("data-status", "succeeded")
    expect(step(view, "train")).to_have_attribute("data-reused", "false")
    expect(step(view, "train")).not_to_have_attribute("data-run-id", failed_train_run)
    expect(step(view, "evaluate")).to_have_attribute("data-status", "succeeded")
    expect(view.locator(".jp-mlops-pipeline-repair")).to_have_count(0)
    expect(view.locator(".jp-mlops-pipeline-errors")).to_have_count(0)
    page.screenshot(path=str(screenshots_dir / "pipeline-repaired.png"))

    # Only the failed step and its downstream one ran again, with the reused outputs.
    second = api(lab, f"pipelines/runs/{run_id}")
    assert second["status"] == "succeeded" and second["attempt"] == 2, second
    after = {s["name"]: s for s in second["steps"]}
    assert after["prepare"]["reused"] and after["prepare"]["run_id"] == steps["prepare"]["run_id"]
    assert after["train"]["previous_runs"] == [failed_train_run], after["train"]
    assert not after["evaluate"]["reused"]
    assert api(lab, f"runs/{after['train']['run_id']}")["parameters"] == {"rows": 3}

    # The repaired step's output notebook opens from its box.
    step(view, "train").locator(".jp-mlops-dag-open-output").click()
    expect(main_area_tab(page, after["train"]["run_id"])).to_have_count(1)
    expect(page.locator(".jp-OutputArea-output", has_text="trained on 3").first).to_be_visible()

    # The Pipelines tab lists the run; its row opens the DAG.
    panel = open_panel_tab(page, "Pipelines")
    row = panel.locator(f'.jp-mlops-pipeline-run[data-pipeline-run-id="{run_id}"]')
    expect(row).to_have_attribute("data-status", "succeeded")
    expect(row.locator(".jp-mlops-pipeline-attempt")).to_have_text("attempt 2")
    expect(row.locator(".jp-mlops-pipeline-steps")).to_have_text("3 succeeded")
    panel.screenshot(path=str(screenshots_dir / "pipelines.png"))
    row.locator(".jp-mlops-row-open").click()
    expect(page.locator(f"#{PANEL_ID}")).to_be_visible()
    expect(view).to_be_visible()
    expect(view).to_have_attribute("data-pipeline-run-id", run_id)
