"""The MLOps side panel in a real JupyterLab + Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import Page, expect

PANEL_ID = "jupyterlab-mlops-panel"
REPO = Path(__file__).resolve().parent.parent
FRONTEND_VERSION = json.loads((REPO / "package.json").read_text())["version"]

TAB_LABELS = ["Runs", "Models", "Deployments", "Drift", "Schedules", "Pipelines"]
RUNS_EMPTY = (
    "No runs yet. Open a notebook and click 'Run with parameters' in its toolbar, or run "
    "%mlops run notebook.ipynb / jupyter mlops run notebook.ipynb."
)
SERVER_EXTENSION_MISSING_TOAST = (
    "jupyterlab-mlops server extension missing (GET /mlops/api/health: 404). "
    "Run `jupyter server extension enable jupyterlab_mlops` and restart."
)
SERVER_EXTENSION_MISSING = (
    "The jupyterlab-mlops server extension is not installed or not enabled "
    "(GET /mlops/api/health returned 404). Run "
    "`jupyter server extension enable jupyterlab_mlops` and restart."
)


def open_panel(page: Page):
    """Click the MLOps side bar tab; returns the panel locator."""
    page.locator(f'.jp-SideBar .lm-TabBar-tab[data-id="{PANEL_ID}"]').click()
    panel = page.locator(f"#{PANEL_ID}")
    expect(panel).to_be_visible()
    return panel


def test_panel_shows_its_tabs_and_runs_empty_state(page: Page, screenshots_dir: Path) -> None:
    tab = page.locator(f'.jp-SideBar .lm-TabBar-tab[data-id="{PANEL_ID}"]')
    expect(tab).to_have_attribute("title", "MLOps")

    panel = open_panel(page)

    tabs = panel.get_by_role("tab")
    expect(tabs).to_have_text(TAB_LABELS)
    for label in TAB_LABELS:
        expect(panel.get_by_role("tab", name=label)).to_be_visible()
    expect(panel.locator('[data-tab="runs"][role="tab"]')).to_have_attribute(
        "aria-selected", "true"
    )
    # A fresh root directory has no runs: the honest empty state, no rows, no error.
    tabpanel = panel.get_by_role("tabpanel")
    expect(tabpanel.locator(".jp-mlops-empty")).to_have_text(RUNS_EMPTY)
    expect(tabpanel.locator(".jp-mlops-item")).to_have_count(0)
    expect(tabpanel.get_by_role("alert")).to_have_count(0)

    page.screenshot(path=str(screenshots_dir / "panel.png"))


def test_tabs_switch_and_show_their_empty_states(page: Page) -> None:
    panel = open_panel(page)
    tabpanel = panel.get_by_role("tabpanel")
    expected = {
        "Models": 'mlops.register_model(model, "name", X_sample=X_train)',
        "Deployments": "%mlops deploy name@production",
        "Drift": "%mlops drift name@production",
        "Schedules": "No schedules yet.",
        "Pipelines": "No pipeline runs yet.",
        "Runs": "No runs yet.",
    }
    for label, text in expected.items():
        tab = panel.get_by_role("tab", name=label)
        tab.click()
        expect(tab).to_have_attribute("aria-selected", "true")
        expect(tabpanel.locator(".jp-mlops-empty")).to_contain_text(text)
        expect(tabpanel.get_by_role("alert")).to_have_count(0)


def test_commands_are_in_the_palette_and_open_the_panel(page: Page) -> None:
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="View").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Activate Command Palette$")).click()
    palette_input = page.locator(".lm-CommandPalette-input")
    expect(palette_input).to_be_visible()
    palette_input.fill("MLOps")
    items = page.locator(".lm-CommandPalette-item .lm-CommandPalette-itemLabel")
    expect(items.filter(has_text="MLOps: Refresh")).to_have_count(1)
    open_item = items.filter(has_text="MLOps: Open panel")
    expect(open_item).to_have_count(1)
    open_item.click()
    expect(page.locator(f"#{PANEL_ID}")).to_be_visible()


def test_server_check_passes_with_the_server_extension(page: Page, lab) -> None:
    status, body = lab.get("mlops/api/health")
    assert status == 200, body
    assert json.loads(body)["version"] == FRONTEND_VERSION

    panel = page.locator(f"#{PANEL_ID}")
    # Set by the plugin once its health check has finished.
    expect(panel).to_have_attribute("data-mlops-server", "ok")
    expect(page.locator(".Toastify__toast").filter(has_text="jupyterlab-mlops")).to_have_count(0)
    expect(panel.locator(".jp-mlops-banner")).to_have_count(0)


def test_missing_server_extension_is_reported(
    open_lab, lab_without_server_extension, screenshots_dir: Path
) -> None:
    lab = lab_without_server_extension
    status, _ = lab.get("mlops/api/health")
    assert status == 404

    page = open_lab(lab)
    panel = page.locator(f"#{PANEL_ID}")
    expect(panel).to_have_attribute("data-mlops-server", "missing")
    toast = page.locator(".Toastify__toast").filter(has_text="server extension missing")
    # Complete: JupyterLab would cut a message over 140 characters.
    expect(toast.locator(".jp-toast-message")).to_have_text(SERVER_EXTENSION_MISSING_TOAST)
    expect(toast.get_by_role("button", name="Copy command")).to_be_visible()
    expect(toast).not_to_have_class(re.compile(r"Toastify--animate"))  # slid in

    open_panel(page)
    expect(panel.locator(".jp-mlops-banner")).to_have_text(SERVER_EXTENSION_MISSING)
    # The lists behave as for an endpoint not installed yet: the empty state only.
    tabpanel = panel.get_by_role("tabpanel")
    expect(tabpanel.locator(".jp-mlops-empty")).to_have_text(RUNS_EMPTY)
    expect(tabpanel.get_by_role("alert")).to_have_count(0)
    page.screenshot(path=str(screenshots_dir / "panel-no-server-extension.png"))


def _background(page: Page, selector: str) -> str:
    return page.locator(selector).first.evaluate("el => getComputedStyle(el).backgroundColor")


def _choose_theme(page: Page, theme: str) -> None:
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(theme)}$")).click()
    expect(page.locator("body")).to_have_attribute("data-jp-theme-name", theme)
    # JupyterLab shows its splash screen while it swaps the theme's CSS.
    page.locator("#jupyterlab-splash").wait_for(state="detached")


def test_panel_follows_the_dark_theme(page: Page, screenshots_dir: Path) -> None:
    panel = open_panel(page)
    expect(panel.locator(".jp-mlops-empty")).to_have_text(RUNS_EMPTY)
    theme_before = page.locator("body").get_attribute("data-jp-theme-name") or "JupyterLab Light"
    light = {sel: _background(page, sel) for sel in (f"#{PANEL_ID}", ".jp-mlops-empty code")}

    _choose_theme(page, "JupyterLab Dark")
    try:
        expect(page.locator("body")).to_have_attribute("data-jp-theme-light", "false")
        for selector, colour in light.items():
            # Only theme variables are used, so every surface changes with the theme.
            assert _background(page, selector) != colour, selector
        page.screenshot(path=str(screenshots_dir / "panel-dark.png"))
    finally:
        # The theme is a server-side setting of this session's lab: restore it.
        _choose_theme(page, theme_before)
