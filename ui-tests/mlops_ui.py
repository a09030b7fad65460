"""Helpers shared by the UI tests (own lab per module, side panel, notebooks, REST)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

PANEL_ID = "jupyterlab-mlops-panel"
# Width of JupyterLab's left side bar (the icon strip) in pixels.
SIDE_BAR_WIDTH = 33

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
    widen_side_panel(page, 520 - SIDE_BAR_WIDTH)
    return panel


def widen_side_panel(page: Page, width: int) -> None:
    """Drag the left side panel's split handle so the panel is ``width`` px wide."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    box = handle.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(width + SIDE_BAR_WIDTH, y, steps=5)
    page.mouse.up()


def api_request(lab, method: str, path: str, body: dict | None = None) -> httpx.Response:
    """Any ``/mlops/api/<path>`` request with the lab's token; the caller checks the status."""
    return httpx.request(
        method,
        f"{lab.url}mlops/api/{path}",
        headers={"Authorization": f"token {lab.token}"},
        json=body,
        timeout=120,
        trust_env=False,
    )


def stop_deployments(lab) -> None:
    """Stop the serving processes a test module started (they outlive the lab otherwise)."""
    for item in api_request(lab, "GET", "deployments?stats=0").json().get("items", []):
        if item["status"] not in ("stopped", "failed"):
            api_request(lab, "POST", f"deployments/{item['id']}/stop")


def open_notebook(page: Page, name: str) -> None:
    """Open ``name`` from the file browser and wait for the notebook to show."""
    page.locator(".jp-DirListing-content").get_by_text(name, exact=True).dblclick()
    expect(page.locator(".jp-NotebookPanel .jp-Notebook")).to_be_visible()


# -- continuous training (schedules, pipelines, notifications) ----------------------------------


def write_notebook(path: Path, cells: list[str], *, parameters: str | None = None) -> Path:
    """A python3 notebook: ``parameters`` becomes the cell tagged ``parameters``, then ``cells``."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}")]
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def open_panel_tab(page: Page, label: str):
    """Show the MLOps side panel on the tab named ``label``; returns the panel locator."""
    panel = open_panel(page)
    tab = panel.get_by_role("tab", name=label, exact=True)
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    return panel


def toast(page: Page, text: str):
    """The JupyterLab notification toast whose message contains ``text``."""
    return page.locator(".Toastify__toast").filter(has_text=text)


def main_area_tab(page: Page, title_part: str):
    """The main-area tab whose tooltip (``title``) contains ``title_part``."""
    return page.locator(f'.lm-DockPanel-tabBar .lm-TabBar-tab[title*="{title_part}"]')


def switch_theme(page: Page, name: str) -> None:
    """Settings → Theme → ``name`` (the lab's ``apputils:change-theme``), as a user does; the
    choice is saved in the lab's settings, so a test that leaves the light theme comes back."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(name)}$")).click()
    light = "false" if "Dark" in name else "true"
    expect(page.locator("body")).to_have_attribute("data-jp-theme-light", light)
