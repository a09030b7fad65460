"""Helpers shared by the Runs and Models UI tests (own lab per module, side panel, REST)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from playwright.sync_api import Page

PANEL_ID = "jupyterlab-mlops-panel"

# ui-tests/conftest.py's server helpers, loaded by path: a plain `import conftest` could pick
# the repository's root conftest.py instead.
_spec = importlib.util.spec_from_file_location(
    "mlops_ui_conftest", Path(__file__).with_name("conftest.py")
)
ui_conftest = sys.modules.setdefault(_spec.name, importlib.util.module_from_spec(_spec))
if not hasattr(ui_conftest, "_start_lab"):
    _spec.loader.exec_module(ui_conftest)

start_lab = ui_conftest._start_lab
stop_lab = ui_conftest._stop


def api(lab, path: str) -> dict:
    """GET ``/mlops/api/<path>`` from the lab (must answer 200)."""
    status, body = lab.get(f"mlops/api/{path}")
    assert status == 200, (status, body[:500])
    return json.loads(body)


def open_panel(page: Page):
    """Show the MLOps side panel, widened as a user would for a roomier view."""
    panel = page.locator(f"#{PANEL_ID}")
    if not panel.is_visible():  # clicking the side bar tab of a shown panel would close it
        page.locator(f'.jp-SideBar .lm-TabBar-tab[data-id="{PANEL_ID}"]').click()
    panel.wait_for(state="visible")
    widen_side_panel(page, 520)
    return panel


def widen_side_panel(page: Page, width: int) -> None:
    """Drag the left side panel's splitter to ``width`` pixels from the window's left."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(width, y, steps=5)
    page.mouse.up()
