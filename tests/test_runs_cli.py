"""``jupyter mlops run`` / ``jupyter mlops runs …`` as real subprocesses: output and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _runs_support import RUN_DEADLINE, failing_notebook, ok_notebook, sleepy_notebook, wait_for

from jupyterlab_mlops.app import MLOps


def cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
    return subprocess.run(
        [sys.executable, "-m", "jupyterlab_mlops.cli", "--root-dir", str(root), *args],
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE,
        env=env,
        cwd=str(root),
    )


@pytest.fixture
def root(tmp_path):
    ok_notebook(tmp_path)
    failing_notebook(tmp_path)
    return tmp_path


def test_run_succeeds_with_progress_and_exit_zero(root):
    done = cli(root, "run", "ok.ipynb", "-p", "x", "4", "-p", "name", "cli")
    assert done.returncode == 0, done.stderr
    assert "succeeded" in done.stdout
    assert "score=8" in done.stdout
    assert "cell" in done.stderr  # the tqdm bar counts cells
    run_id = done.stdout.split()[1].rstrip(":")
    listed = cli(root, "runs", "list", "--json")
    assert listed.returncode == 0
    page = json.loads(listed.stdout)
    assert page["total"] == 1 and page["items"][0]["id"] == run_id
    assert page["items"][0]["parameters"] == {"x": 4, "name": "cli"}
    assert page["items"][0]["trigger"] == "cli"
    # A free slot: the CLI executed the run itself (no worker process, so no worker log).
    assert not (root / ".mlops" / "logs" / "runs" / f"{run_id}.log").exists()
    assert page["items"][0]["peak_memory_bytes"] > 0


def test_failing_run_exits_one_and_reports_the_cell(root):
    done = cli(root, "run", "fails.ipynb")
    assert done.returncode == 1
    assert "failed" in done.stdout
    assert "error in cell 2: ValueError: bad data in row 7" in done.stdout


def test_refused_input_exits_two_and_records_nothing(root):
    done = cli(root, "run", "ok.ipynb", "-p", "nope", "1")
    assert done.returncode == 2
    assert "unknown parameter 'nope'" in done.stderr
    done = cli(root, "run", "ok.ipynb", "x=lots")  # NAME=VALUE, as in the magic
    assert done.returncode == 2 and "parameter 'x' expects int" in done.stderr
    assert MLOps(root_dir=str(root)).runs.list()["total"] == 0


def test_no_wait_then_cancel(root):
    sleepy_notebook(root)
    done = cli(root, "run", "sleepy.ipynb", "--no-wait", "--timeout", "120")
    assert done.returncode == 0
    run_id = done.stdout.strip()
    cancelled = cli(root, "runs", "cancel", run_id)
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"run {run_id}: cancelled" in cancelled.stdout
    assert MLOps(root_dir=str(root)).runs.get(run_id)["status"] == "cancelled"


def test_a_waiting_cli_respects_the_queue_and_the_concurrency_limit(root):
    """With the one slot taken, ``run`` does not start its run: it stays queued until the slot
    frees (then a worker, or the CLI itself, executes it)."""
    sleepy_notebook(root)
    mlops = MLOps(root_dir=str(root), max_concurrent_runs=1)
    blocker = mlops.runs.submit("sleepy.ipynb")
    wait_for(lambda: mlops.runs.get(blocker["id"])["status"] == "running", RUN_DEADLINE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
    env["MLOPS_MAX_CONCURRENT_RUNS"] = "1"
    waiting = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab_mlops.cli", "--root-dir", str(root)]
        + ["run", "ok.ipynb", "-p", "x", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(root),
    )
    try:
        queued = wait_for(lambda: mlops.runs.list(notebook="ok.ipynb")["items"], RUN_DEADLINE)[0]
        assert mlops.runs.get(queued["id"])["status"] == "queued"
        mlops.runs.cancel(blocker["id"])
        out, err = waiting.communicate(timeout=RUN_DEADLINE)
    finally:
        waiting.kill()
        mlops.stop()
    assert waiting.returncode == 0, err
    assert f"run {queued['id']}: succeeded" in out
    # It started only once the slot was free: after the blocker ended.
    done, ended = mlops.runs.get(queued["id"]), mlops.runs.get(blocker["id"])
    assert done["started_at"] >= ended["finished_at"]


def test_the_cli_goes_without_the_iri_checker_and_still_validates_notebooks(tmp_path):
    """``skip_iri_format_checker``: jsonschema loads without rfc3987_syntax (1.3 s of Lark
    grammars), keeps its other format checkers, and nbformat still validates — and rejects."""
    script = (
        "import json, sys\n"
        "from jupyterlab_mlops.cli import skip_iri_format_checker\n"
        "skip_iri_format_checker()\n"
        "import jsonschema, nbformat\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
        "nbformat.validate(nb)\n"
        "del nb.cells[0]['source']\n"
        "try:\n"
        "    nbformat.validate(nb)\n"
        "    rejected = False\n"
        "except nbformat.ValidationError:\n"
        "    rejected = True\n"
        "checkers = jsonschema.FormatChecker.checkers\n"
        "print(json.dumps({'loaded': sys.modules.get('rfc3987_syntax') is not None,\n"
        "                  'iri': 'iri' in checkers, 'email': 'email' in checkers,\n"
        "                  'rejected': rejected}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "loaded": False,
        "iri": False,
        "email": True,
        "rejected": True,
    }
