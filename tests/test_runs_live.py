"""Live output: a running notebook's cells and outputs, as they happen, through the store —
read by the service, over REST and by ``jupyter mlops runs logs --follow`` (a real subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from _runs_support import RUN_DEADLINE, fetch_json, wait_finished, write_notebook
from polling import wait_for

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.errors import NotFound

PIXEL = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJ"
    "RU5ErkJggg=="
)


def gated_notebook(root: Path, name: str = "gated.ipynb") -> Path:
    """Prints, then waits for the file ``go`` (created by the test once it saw the print),
    then shows an image and fails."""
    return write_notebook(
        root / name,
        [
            "print('hello from the first cell')",
            "import pathlib, time\nprint('waiting for go', flush=True)\n"
            "while not pathlib.Path(gate).exists():\n    time.sleep(0.05)\nprint('got go')",
            "import base64\nfrom IPython.display import Image, display\n"
            f"display(Image(data=base64.b64decode('{PIXEL}')))\n"
            "raise ValueError('after the picture')",
        ],
        parameters="gate = 'go'",
    )


def outputs_text(cells: list[dict]) -> str:
    return "".join("".join(o.get("text", "")) for c in cells for o in c["outputs"] if "text" in o)


@pytest.fixture(scope="module")
def mlops(tmp_path_factory):
    instance = MLOps(root_dir=str(tmp_path_factory.mktemp("live")), max_concurrent_runs=2)
    yield instance
    instance.stop()


def test_cells_are_visible_while_the_run_executes_and_complete_after(mlops):
    root = Path(mlops.root_dir)
    gated_notebook(root)
    run = mlops.runs.submit("gated.ipynb", {"gate": "go"})

    def waiting():
        live = mlops.runs.live(run["id"])
        return live if "waiting for go" in outputs_text(live["cells"]) else None

    seen = wait_for(waiting, RUN_DEADLINE)
    assert seen["status"] == "running"
    assert "hello from the first cell" in outputs_text(seen["cells"])
    running = [c for c in seen["cells"] if c["status"] == "running"]
    assert [c["source"].splitlines()[0] for c in running] == ["import pathlib, time"]
    assert any(c["injected"] for c in seen["cells"])  # papermill's parameters cell
    assert mlops.runs.live(run["id"], seen["seq"])["cells"] == []  # nothing new yet

    (root / "go").write_text("")
    final = mlops.runs.wait(run["id"], timeout=RUN_DEADLINE)
    assert final["status"] == "failed"
    later = mlops.runs.live(run["id"], seen["seq"])
    assert "got go" in outputs_text(later["cells"])
    assert "hello from the first cell" not in outputs_text(later["cells"])  # unchanged cell
    last = later["cells"][-1]
    assert last["status"] == "failed"
    assert [o["output_type"] for o in last["outputs"]] == ["display_data", "error"]
    assert last["outputs"][0]["data"]["image/png"].strip() == PIXEL
    assert last["outputs"][1]["ename"] == "ValueError"
    with pytest.raises(NotFound):
        mlops.runs.live("nosuchrun")


def test_runs_logs_follow_prints_output_as_it_comes(mlops):
    root = Path(mlops.root_dir)
    gated_notebook(root, "follow.ipynb")
    run = mlops.runs.submit("follow.ipynb", {"gate": "go-follow"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
    follower = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab_mlops.cli", "--root-dir", str(root)]
        + ["runs", "logs", run["id"], "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(root),
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(follower.stdout), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("waiting for go" in line for line in lines), RUN_DEADLINE)
        assert mlops.runs.get(run["id"])["status"] == "running"
        (root / "go-follow").write_text("")
        assert follower.wait(timeout=RUN_DEADLINE) == 1  # the run failed
    finally:
        follower.kill()
    reader.join(timeout=10)
    text = "".join(lines)
    assert text.index("hello from the first cell") < text.index("waiting for go")
    assert "got go" in text and "[image/png]" in text
    assert "ValueError: after the picture" in text
    assert text.count("waiting for go") == 1  # each output printed once


async def test_live_route(jp_fetch, jp_root_dir):
    gated_notebook(jp_root_dir)
    (jp_root_dir / "go").write_text("")
    _, run = await fetch_json(
        jp_fetch, "runs", method="POST", body={"notebook_path": "gated.ipynb"}
    )
    await wait_finished(jp_fetch, run["id"])
    _, live = await fetch_json(jp_fetch, "runs", run["id"], "live")
    assert live["status"] == "failed" and live["seq"] >= 1
    assert "got go" in outputs_text(live["cells"])
    _, none = await fetch_json(jp_fetch, "runs", run["id"], "live", params={"after": live["seq"]})
    assert none["cells"] == []
