"""Schedules end to end in a real JupyterLab + Chromium: "Run with parameters" → "Schedule…" on
a notebook's toolbar creates a cron schedule (a bad time zone is refused by the server in the
dialog, naming the field); the Schedules tab lists it with the server's cron in words and its
next fire time; pause; run now (the run appears, is opened from its notification and succeeds);
the schedule's history in a main-area tab (its fire and its run, the run's output notebook);
delete with confirmation.

This module starts its own jupyter-lab (its store gets schedules and runs, which other modules'
empty-state checks must not see).
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
    open_notebook,
    open_panel,
    open_panel_tab,
    start_lab,
    stop_lab,
    toast,
    write_notebook,
)
from playwright.sync_api import Page, expect

NOTEBOOK = "sched_demo.ipynb"
CRON = "0 6 * * *"
ZONE = "Europe/Paris"
NAME = "nightly demo"
RUN_TIMEOUT_MS = 180_000  # a papermill run (kernel start included) on a busy 2-core machine


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """This module's own JupyterLab (overrides the session one), with a parameterised notebook."""
    lab = start_lab(tmp_path_factory.mktemp("lab-schedules"), [])
    write_notebook(
        lab.root_dir / NOTEBOOK,
        [
            "import jupyterlab_mlops as mlops\n"
            "score = alpha * epochs\n"
            'mlops.log_metric("score", score)\n'
            "print('scheduled', score)"
        ],
        parameters="alpha = 0.5  # regularisation strength\nepochs = 3  # passes over the data",
    )
    yield lab
    stop_lab(lab.process)


def test_schedule_from_the_run_dialog(page: Page, lab, screenshots_dir: Path) -> None:
    open_notebook(page, NOTEBOOK)
    page.locator(
        '.jp-NotebookPanel-toolbar [data-jp-item-name="mlops-run-with-parameters"]'
    ).click()

    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator(".jp-Dialog-header")).to_contain_text(f"Run {NOTEBOOK} with parameters")
    alpha = dialog.locator("#jp-mlops-param-alpha")
    expect(alpha).to_be_focused()  # the dialog has finished its set-up (focus) first
    alpha.fill("0.25")
    # "Schedule…" sits next to "Run".
    choice = dialog.locator(".jp-Dialog-button.jp-mlops-schedule-choice")
    expect(choice).to_have_text("Schedule…")
    expect(dialog.locator(".jp-Dialog-button.jp-mod-accept")).to_have_text("Run")
    choice.click()

    # The schedule dialog takes over with what was typed.
    expect(dialog.locator(".jp-Dialog-header")).to_contain_text(f"Schedule {NOTEBOOK}")
    cron = dialog.locator("#jp-mlops-schedule-cron")
    expect(cron).to_be_focused()
    expect(dialog.locator("#jp-mlops-param-alpha")).to_have_value("0.25")
    cron.fill(CRON)
    zone = dialog.locator("#jp-mlops-schedule-timezone")
    dialog.locator("#jp-mlops-schedule-name").fill(NAME)

    # An unknown zone: the server's 400 is shown at the field it names, nothing is stored.
    zone.fill("Mars/Olympus")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    refused = dialog.locator('[data-field="timezone"] .jp-mlops-param-error')
    expect(refused).to_contain_text("Mars/Olympus")
    expect(dialog.locator(".jp-Dialog-header")).to_contain_text(f"Schedule {NOTEBOOK}")
    assert api(lab, "schedules")["total"] == 0

    zone.fill(ZONE)
    page.screenshot(path=str(screenshots_dir / "schedule-dialog.png"))
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    expect(dialog).to_have_count(0)
    created = toast(page, f'Schedule "{NAME}" created')
    expect(created).to_be_visible()

    # The server stored what the dialog sent, and says when it fires, in the zone.
    page_of_schedules = api(lab, "schedules")
    assert page_of_schedules["total"] == 1, page_of_schedules
    schedule = page_of_schedules["items"][0]
    schedule_id = schedule["id"]
    assert schedule["name"] == NAME
    assert schedule["target_kind"] == "notebook" and schedule["target_path"] == NOTEBOOK
    assert schedule["cron"] == CRON and schedule["timezone"] == ZONE
    assert schedule["parameters"] == {"alpha": 0.25}
    assert schedule["active"] is True
    assert schedule["next_fire_at"][11:16] == "06:00", schedule
    assert schedule["next_fire_at"].endswith(("+01:00", "+02:00")), schedule
    description = schedule["description"]
    assert "06:00" in description and description.endswith(f"({ZONE})"), description
    expect(created).to_contain_text(description)

    # The panel shows it on the Schedules tab: cron in words with the zone, next fire.
    panel = page.locator(f"#{PANEL_ID}")
    expect(panel.get_by_role("tab", name="Schedules")).to_have_attribute("aria-selected", "true")
    open_panel(page)  # already shown: only widens it, for a readable screenshot
    row = panel.locator(f'.jp-mlops-schedule[data-schedule-id="{schedule_id}"]')
    expect(row).to_have_class(re.compile(r"\bjp-mod-selected\b"))
    expect(row).to_have_attribute("data-active", "true")
    expect(row.locator(".jp-mlops-schedule-name")).to_have_text(NAME)
    expect(row.locator(".jp-mlops-schedule-target")).to_have_text(NOTEBOOK)
    expect(row.locator(".jp-mlops-schedule-description")).to_have_text(description)
    next_fire = row.locator(".jp-mlops-schedule-next")
    expect(next_fire).to_have_text(re.compile(r"^next run in \d+ (s|min|h)$"))
    expect(next_fire).to_have_attribute(
        "title", re.compile(re.escape(f"({schedule['next_fire_at']})") + "$")
    )
    page.screenshot(path=str(screenshots_dir / "schedules.png"))

    # Pause: no next fire any more.
    row.locator(".jp-mlops-schedule-toggle").click()
    expect(row).to_have_attribute("data-active", "false")
    expect(row.locator(".jp-mlops-schedule-paused")).to_have_text("paused")
    expect(row.locator(".jp-mlops-schedule-toggle")).to_have_text("Resume")
    expect(next_fire).to_have_text("paused: no next run")
    paused = api(lab, f"schedules/{schedule_id}")
    assert paused["active"] is False and paused["next_fire_at"] is None, paused

    # Run now (paused or not): a run of the schedule starts; its notification opens it.
    row.locator(".jp-mlops-schedule-trigger").click()
    started = toast(page, f'of "{NAME}" started.')
    expect(started).to_be_visible()
    started.get_by_role("button", name="Open run").click()
    detail = panel.locator(".jp-mlops-run-detail")
    expect(panel.get_by_role("tab", name="Runs")).to_have_attribute("aria-selected", "true")
    expect(detail).to_have_attribute("data-status", "succeeded", timeout=RUN_TIMEOUT_MS)
    run_id = detail.get_attribute("data-run-id")
    expect(detail.locator('.jp-mlops-parameters [data-key="alpha"] td')).to_have_text("0.25")
    expect(detail.locator('.jp-mlops-metrics [data-key="score"] td')).to_have_text("0.75")
    expect(detail).to_contain_text("trigger: schedule")
    runs = api(lab, f"runs?schedule_id={schedule_id}")["items"]
    assert [run["id"] for run in runs] == [run_id], runs
    assert runs[0]["trigger"] == "schedule" and runs[0]["schedule_id"] == schedule_id
    assert runs[0]["parameters"] == {"alpha": 0.25}

    # The schedule's history, in a main-area tab: the manual fire and its run.
    panel = open_panel_tab(page, "Schedules")
    expect(row.locator(".jp-mlops-schedule-last .jp-mlops-status")).to_have_text("succeeded")
    row.locator(".jp-mlops-schedule-history").click()
    expect(main_area_tab(page, schedule_id)).to_have_count(1)
    history = page.locator(f'.jp-mlops-schedule-view[data-schedule-id="{schedule_id}"]')
    expect(history).to_be_visible()
    expect(history.locator(".jp-mlops-detail-title")).to_have_text(NAME)
    expect(history.locator(".jp-mlops-schedule-description")).to_have_text(description)
    expect(history.locator(".jp-mlops-schedule-next")).to_have_text("paused: no next run")
    history_run = history.locator(f'.jp-mlops-history-run[data-run-id="{run_id}"]')
    expect(history_run).to_have_attribute("data-status", "succeeded")
    fire = history.locator(".jp-mlops-history-fire")
    expect(fire).to_have_count(1)
    expect(fire).to_have_attribute("data-status", "submitted")
    expect(fire).to_contain_text("run now")
    expect(fire).to_contain_text(f"run {run_id}")
    page.screenshot(path=str(screenshots_dir / "schedule-history.png"))

    # The run's executed notebook opens from the history.
    history_run.locator(".jp-mlops-history-open-output").click()
    expect(main_area_tab(page, run_id)).to_have_count(1)
    assert (lab.root_dir / f"mlops-runs/{run_id}/{NOTEBOOK}").is_file()
    expect(page.locator(".jp-OutputArea-output", has_text="scheduled 0.75").first).to_be_visible()

    # Delete, after the confirmation; its runs stay.
    panel = open_panel_tab(page, "Schedules")
    row.locator(".jp-mlops-schedule-delete").click()
    confirm = page.locator(".jp-Dialog")
    expect(confirm.locator(".jp-Dialog-header")).to_contain_text("Delete schedule")
    expect(confirm.locator(".jp-Dialog-body")).to_contain_text(NAME)
    confirm.locator(".jp-Dialog-button.jp-mod-accept").click()
    expect(confirm).to_have_count(0)
    expect(row).to_have_count(0)
    expect(panel.locator(".jp-mlops-empty")).to_contain_text("No schedules yet.")
    assert api(lab, "schedules")["total"] == 0
    assert api(lab, f"runs/{run_id}")["status"] == "succeeded"
