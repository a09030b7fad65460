"""Browser tests of the jupyterlab-mlops frontend in a real JupyterLab.

A session fixture starts ``jupyter-lab`` (the venv's, with this repository's labextension as
installed by ``pip install`` or ``jupyter labextension develop . --overwrite``) in a temporary
root directory, and Debian's Chromium (``/usr/bin/chromium``) is driven by Python Playwright.
Browsers are never downloaded: set ``MLOPS_UI_CHROMIUM`` to use another Chromium binary.

Without a Chromium binary the tests are skipped locally and fail under ``CI``.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from jupyterlab_mlops.serving.deployers.base import free_port

UI_TESTS = Path(__file__).resolve().parent
SCREENSHOTS = UI_TESTS / "screenshots"
LABEXTENSION_NAME = "jupyterlab-mlops"
PANEL_ID = "jupyterlab-mlops-panel"
CHROMIUM = os.environ.get("MLOPS_UI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 120  # seconds; a cold start on a busy 2-core machine takes ~10 s
UI_TIMEOUT_MS = 60_000  # default Playwright wait for locators and navigation
# Default wait of ``expect(...)`` assertions (Playwright's own is 5 s). A promotion or a list
# refresh answers in well under a second, but a 2-core CI machine under load has been seen
# taking longer than 5 s.
EXPECT_TIMEOUT_MS = 30_000


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def _jupyter_lab_executable() -> str:
    candidate = Path(sys.executable).with_name("jupyter-lab")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("jupyter-lab")
    if not found:
        pytest.fail("jupyter-lab not found next to the Python running pytest nor on PATH")
    return found


@dataclass
class Lab:
    """A running JupyterLab server."""

    url: str  # base URL, ending in "/"
    token: str
    root_dir: Path
    log_path: Path
    process: subprocess.Popen

    def lab_url(self, workspace: str | None = None) -> str:
        path = f"lab/workspaces/{workspace}" if workspace else "lab"
        return f"{self.url}{path}?token={self.token}"

    def get(self, path: str) -> tuple[int, bytes]:
        """GET ``path`` (relative to the base URL) with the token; returns (status, body)."""
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"token {self.token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _start_lab(tmp_root: Path, extra_args: list[str]) -> Lab:
    root_dir = tmp_root / "root"
    root_dir.mkdir()
    token = secrets.token_hex(16)
    port = free_port()
    env = dict(os.environ)
    # Isolate what JupyterLab writes (settings, workspace layout) from the developer's.
    env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp_root / "settings")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_root / "workspaces")
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_root / "runtime")
    # No "official Jupyter news?" prompt: it would cover the panel in screenshots.
    notification_settings = tmp_root / "settings" / "@jupyterlab" / "apputils-extension"
    notification_settings.mkdir(parents=True)
    (notification_settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false"})
    )
    log_path = tmp_root / "jupyter-lab.log"
    args = [
        _jupyter_lab_executable(),
        "--no-browser",
        f"--ServerApp.token={token}",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        "--allow-root",
        f"--ServerApp.root_dir={root_dir}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        *extra_args,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
    lab = Lab(f"http://127.0.0.1:{port}/", token, root_dir, log_path, process)

    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(
                f"jupyter-lab exited with code {process.returncode} during start-up:\n"
                + lab.log_tail()
            )
        try:
            status, _ = lab.get("api/status")
            if status == 200:
                break
        except OSError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            _stop(process)
            pytest.fail(
                f"jupyter-lab did not answer /api/status within {SERVER_START_TIMEOUT} s:\n"
                + lab.log_tail()
            )
        time.sleep(0.2)  # polling interval of the readiness probe, not a wait-and-hope

    # Fail with a clear message when the labextension is not installed (instead of a
    # locator timeout on a missing side bar tab).
    names = {ext.get("name") for ext in _page_config(lab).get("federated_extensions", [])}
    if LABEXTENSION_NAME not in names:
        _stop(process)
        pytest.fail(
            f"The {LABEXTENSION_NAME} labextension is not installed in this environment "
            f"(found {sorted(names)}). Build and link it first: "
            "`jlpm build && jupyter labextension develop . --overwrite`."
        )
    return lab


def _page_config(lab: Lab) -> dict:
    """JupyterLab's page config (the ``jupyter-config-data`` JSON in ``/lab``)."""
    status, body = lab.get("lab")
    html = body.decode("utf-8", errors="replace")
    match = re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S
    )
    if status != 200 or not match:
        pytest.fail(f"GET /lab answered {status} without a page config:\n{html[:500]}")
    return json.loads(match.group(1))


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# The root conftest loads pytest-jupyter, whose autouse fixtures take the thread's current
# asyncio loop and close it after every test. Playwright's sync API runs its own loop in this
# thread (suspended in a greenlet, so "running"): closing it fails. These tests start their own
# jupyter-lab process and use no in-process server, so neither fixture has work to do here.
@pytest.fixture
def jp_asyncio_loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def jp_server_cleanup():
    yield


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab with the jupyterlab_mlops server extension as configured in the venv."""
    lab = _start_lab(tmp_path_factory.mktemp("lab"), [])
    yield lab
    _stop(lab.process)


@pytest.fixture(scope="session")
def lab_without_server_extension(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab with the labextension but the jupyterlab_mlops server extension disabled."""
    lab = _start_lab(
        tmp_path_factory.mktemp("lab-no-server-ext"),
        ["--ServerApp.jpserver_extensions", "jupyterlab_mlops=False"],
    )
    yield lab
    _stop(lab.process)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    """On a failure, keep what explains it: a screenshot of the page, the browser console and
    the tail of the lab's log, printed in the report (CI shows nothing else)."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    funcargs = getattr(item, "funcargs", {})
    page = funcargs.get("page")
    if page is not None:
        SCREENSHOTS.mkdir(exist_ok=True)
        target = SCREENSHOTS / f"failed-{item.name}.png"
        try:
            page.screenshot(path=str(target))
            report.sections.append(("screenshot", str(target)))
        except Exception as err:  # the page may be what broke
            report.sections.append(("screenshot", f"none: {err}"))
        console = getattr(page, "mlops_console", None)
        if console:
            report.sections.append(("browser console", "\n".join(console[-40:])))
        requests = getattr(page, "mlops_requests", None)
        if requests:
            report.sections.append(("MLOps API requests", "\n".join(requests[-40:])))
        try:
            state = page.evaluate("document.visibilityState")
            report.sections.append(("page visibility", str(state)))
        except Exception:
            pass
    lab = funcargs.get("lab")
    if hasattr(lab, "log_tail"):  # Lab (also the copy mlops_ui loads by path)
        report.sections.append(("jupyter-lab log (tail)", lab.log_tail(80)))


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _keep_for_the_report(page) -> None:
    """Record what a failure report shows of ``page``: the warnings and errors it logs, and its
    MLOps API requests with how each ended (``pytest_runtest_makereport``)."""
    page.mlops_console = []
    page.mlops_requests = []

    def on_console(message) -> None:
        if message.type in ("error", "warning"):
            page.mlops_console.append(f"{message.type}: {message.text}")

    def on_request(stage: str, outcome):
        def record(request) -> None:
            if "/mlops/api/" in request.url:
                page.mlops_requests.append(
                    f"{stage} {request.method} {request.url}{outcome(request)}"
                )

        return record

    page.on("console", on_console)
    page.on("request", on_request("sent", lambda request: ""))
    page.on("requestfinished", on_request("done", lambda r: f" {r.response().status}"))
    page.on("requestfailed", on_request("failed", lambda request: f" {request.failure}"))


@pytest.fixture
def open_lab(browser):
    """Open JupyterLab in a new browser context: ``open_lab(lab)`` -> page (splash gone).

    Contexts are closed after the test.
    """
    contexts = []

    def open_lab(lab: Lab):
        # A fresh workspace per page, so no layout leaks from one test to the next.
        workspace = f"ui-test-{secrets.token_hex(4)}"
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        context.set_default_timeout(UI_TIMEOUT_MS)
        context.set_default_navigation_timeout(UI_TIMEOUT_MS)
        page = context.new_page()
        _keep_for_the_report(page)
        page.goto(lab.lab_url(workspace))
        page.locator("#jupyterlab-splash").wait_for(state="detached")
        return page

    yield open_lab
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_lab, lab: Lab):
    """JupyterLab (with the server extension) loaded in a fresh browser context."""
    return open_lab(lab)


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS
