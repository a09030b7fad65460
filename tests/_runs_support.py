"""Notebooks and helpers shared by the ``test_runs*`` suites (tiny notebooks: fast kernels)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from polling import wait_for  # noqa: F401 - re-exported for the suites
from tornado.httpclient import HTTPClientError

from jupyterlab_mlops.runs import TERMINAL_STATES

RUN_DEADLINE = 180.0  # generous: the test machine is shared; nothing asserts on speed


def write_notebook(path: Path, cells: list[str], *, parameters: str | None = None) -> Path:
    """A python3 notebook; ``parameters`` becomes the cell tagged ``parameters``."""
    nb = new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells.append(new_markdown_cell("# test notebook"))
    if parameters is not None:
        nb.cells.append(new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nb.cells.extend(new_code_cell(source) for source in cells)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


TRAIN_PARAMETERS = """\
C: float = 1.0  # inverse regularisation strength
max_iter = 200
test_size = 0.25
label = "baseline"
"""

TRAIN_CELLS = [
    """\
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
import jupyterlab_mlops as mlops

data = load_breast_cancer(as_frame=True)
X, y = data.data.iloc[:, :5], data.target
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=test_size, random_state=0, stratify=y
)
model = LogisticRegression(C=C, max_iter=max_iter).fit(X_train, y_train)
auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
mlops.log_metric("auc", auc)
mlops.log_param("label", label)
print(f"C={C} label={label} auc={auc:.4f}")
""",
]


def train_notebook(root: Path, name: str = "train.ipynb") -> Path:
    return write_notebook(root / name, TRAIN_CELLS, parameters=TRAIN_PARAMETERS)


def ok_notebook(root: Path, name: str = "ok.ipynb") -> Path:
    return write_notebook(
        root / name,
        [
            "import jupyterlab_mlops as mlops\nmlops.log_metric('score', x * 2)",
            "print('x is', x, 'and name is', name)",
        ],
        parameters="x = 1\nname = 'a'",
    )


def failing_notebook(root: Path, name: str = "fails.ipynb") -> Path:
    return write_notebook(
        root / name, ["a = 1", "raise ValueError('bad data in row 7')", "print('never')"]
    )


def sleepy_notebook(root: Path, name: str = "sleepy.ipynb") -> Path:
    """Writes its kernel's pid (to prove the kernel is killed), then sleeps."""
    return write_notebook(
        root / name,
        [
            "import os, pathlib\npathlib.Path(pid_file).write_text(str(os.getpid()))",
            "import time\ntime.sleep(seconds)",
        ],
        parameters="seconds = 300\npid_file = 'kernel.pid'",
    )


def gone(pid: int) -> bool:
    """The process no longer runs (a zombie awaiting its reaper counts as gone)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def overlap(intervals: list[tuple[float, float]]) -> int:
    """The largest number of intervals open at the same moment."""
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    current = peak = 0
    for _, delta in events:  # at equal times the end (-1) sorts first: touching is not overlap
        current += delta
        peak = max(peak, current)
    return peak


# -- the REST API of a real Jupyter server (``jp_fetch``) ----------------------------------------


async def fetch_json(jp_fetch, *parts, method="GET", body=None, params=None):
    """``(status, decoded body)``; ``body`` is JSON-encoded unless it is a string already."""
    kwargs = {"method": method}
    if body is None and method == "POST":
        body = ""
    if body is not None:
        kwargs["body"] = body if isinstance(body, str) else json.dumps(body)
    if params:
        kwargs["params"] = params
    response = await jp_fetch("mlops", "api", *parts, **kwargs)
    return response.code, json.loads(response.body)


async def error_of(jp_fetch, *parts, method="GET", body=None, params=None):
    """``(status, error object)`` of a request that must fail with a JSON error."""
    with pytest.raises(HTTPClientError) as error:
        await fetch_json(jp_fetch, *parts, method=method, body=body, params=params)
    response = error.value.response
    assert response.headers["Content-Type"].startswith("application/json")
    data = json.loads(response.body)
    assert set(data["error"]) >= {"code", "message"}
    assert "Traceback" not in data["error"]["message"]
    return error.value.code, data["error"]


async def wait_finished(jp_fetch, run_id: str) -> dict:
    """Poll ``GET /runs/{id}`` until the run is in a final state."""
    deadline = time.monotonic() + RUN_DEADLINE
    while True:
        _, run = await fetch_json(jp_fetch, "runs", run_id)
        if run["status"] in TERMINAL_STATES:
            return run
        assert time.monotonic() < deadline, run
        await asyncio.sleep(0.3)


def came_due(mlops, schedule_id: str, at: datetime | None = None) -> datetime:
    """Arrange a schedule whose fire time passed a moment ago while no scheduler looked (within
    the misfire grace), instead of waiting up to a minute for the clock to reach a cron time:
    its ``next_fire_at`` becomes ``at`` (default: the start of the current minute)."""
    from jupyterlab_mlops.store import models

    at = at or datetime.now(timezone.utc).replace(second=0, microsecond=0)
    with mlops.db.write_session() as session:
        session.get(models.Schedule, schedule_id).next_fire_at = at
    return at
