"""Real runs through ``mlops.runs``: papermill in worker subprocesses, a real SQLite store."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import signal
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import nbformat
import psutil
import pytest
from _runs_support import (
    RUN_DEADLINE,
    failing_notebook,
    gone,
    ok_notebook,
    overlap,
    sleepy_notebook,
    train_notebook,
    wait_for,
    write_notebook,
)
from sqlalchemy import func, select

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.errors import Conflict, Forbidden, InvalidInput, NotFound
from jupyterlab_mlops.store.models import Run


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One store for the module, run like the server runs it (a warm standby worker)."""
    root = tmp_path_factory.mktemp("project")
    instance = MLOps(root_dir=str(root), max_concurrent_runs=2)
    instance.runs.long_lived = True
    yield instance
    instance.stop()


@pytest.fixture
def mlops(shared):
    shared.max_concurrent_runs = 2
    yield shared
    # Never leave workers behind: cancel whatever is still active.
    for item in shared.runs.list(0, 500, status="queued,running", kind="batch")["items"]:
        try:
            shared.runs.cancel(item["id"])
        except Conflict:
            pass
    for name in ("kernel.pid",):
        (Path(shared.root_dir) / name).unlink(missing_ok=True)


def root_of(mlops) -> Path:
    return Path(mlops.root_dir)


def run_count(mlops) -> int:
    with mlops.db.session() as session:
        return session.scalar(select(func.count()).select_from(Run))


def test_training_notebook_runs_with_injected_parameters(mlops):
    root = root_of(mlops)
    train_notebook(root)
    run = mlops.runs.submit("train.ipynb", {"C": "0.5", "label": "tuned"}, user="ada")
    assert run["status"] in ("queued", "running")
    assert run["parameters"] == {"C": 0.5, "label": "tuned"}
    final = mlops.runs.wait(run["id"], timeout=RUN_DEADLINE)
    assert final["status"] == "succeeded", final
    assert final["error"] is None
    assert 0.5 < final["metrics"]["auc"] <= 1.0
    assert final["logged_params"] == {"label": "tuned"}
    assert final["progress"]["cells_done"] == final["progress"]["cells_total"] == 4
    assert final["duration_seconds"] > 0
    assert final["created_by"] == "ada"
    assert final["notebook_path"] == "train.ipynb"
    # The output notebook: stored by sha256, written under the root, parameters injected.
    output = json.loads(mlops.runs.output_notebook(run["id"]))
    assert (
        hashlib.sha256(mlops.runs.output_notebook(run["id"])).hexdigest()
        == (final["output_notebook_sha256"])
    )
    injected = [c for c in output["cells"] if "injected-parameters" in c["metadata"]["tags"]]
    assert len(injected) == 1
    source = "".join(injected[0]["source"])
    assert "C = 0.5" in source
    assert 'label = "tuned"' in source
    printed = "".join(
        "".join(o.get("text", "")) for c in output["cells"] for o in c.get("outputs", [])
    )
    assert "C=0.5 label=tuned auc=" in printed
    assert final["output_notebook_path"] == f"mlops-runs/{run['id']}/train.ipynb"
    assert (root / final["output_notebook_path"]).read_bytes() == mlops.runs.output_notebook(
        run["id"]
    )
    # The exact input notebook is stored too, and the run can be found in the list.
    assert (
        mlops.artifacts.get_bytes(final["input_notebook_sha256"])
        == (root / "train.ipynb").read_bytes()
    )
    page = mlops.runs.list(0, 10, notebook="train", status="succeeded")
    assert [r["id"] for r in page["items"]] == [run["id"]]
    assert page["total"] == 1
    assert mlops.runs.list(0, 10, notebook="train", status="failed")["total"] == 0


def test_failing_notebook_records_cell_and_exception(mlops):
    failing_notebook(root_of(mlops))
    run = mlops.runs.submit("fails.ipynb")
    final = mlops.runs.wait(run["id"], timeout=RUN_DEADLINE)
    assert final["status"] == "failed"
    # Cell 2 of the user's notebook (0: markdown, 1: "a = 1", 2: the raise).
    assert final["error"] == {"cell_index": 2, "ename": "ValueError", "evalue": "bad data in row 7"}
    assert final["status_reason"] == "ValueError in cell 2"
    output = json.loads(mlops.runs.output_notebook(run["id"]))
    errors = [
        o for c in output["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"
    ]
    assert errors and errors[0]["evalue"] == "bad data in row 7"


def test_timeout_kills_the_kernel_and_records_timed_out(mlops):
    root = root_of(mlops)
    sleepy_notebook(root)
    run = mlops.runs.submit("sleepy.ipynb", timeout=4)
    final = mlops.runs.wait(run["id"], timeout=RUN_DEADLINE)
    assert final["status"] == "timed_out"
    assert final["status_reason"] == "timed out after 4s"
    kernel_pid = int((root / "kernel.pid").read_text())
    wait_for(lambda: gone(kernel_pid) and gone(final["pid"]), deadline=30)


def _running_with_kernel(mlops, run_id: str, pid_file: Path):
    def ready():
        run = mlops.runs.get(run_id)
        mlops.runs.tick()
        if run["status"] == "running" and pid_file.is_file() and pid_file.read_text():
            return run
        assert run["status"] in ("queued", "running"), run
        return None

    return wait_for(ready)


def test_cancel_kills_the_whole_process_tree(mlops):
    root = root_of(mlops)
    sleepy_notebook(root)
    run = mlops.runs.submit("sleepy.ipynb")
    running = _running_with_kernel(mlops, run["id"], root / "kernel.pid")
    kernel_pid = int((root / "kernel.pid").read_text())
    worker = psutil.Process(running["pid"])
    assert kernel_pid in [p.pid for p in worker.children(recursive=True)]
    cancelled = mlops.runs.cancel(run["id"], user="bob")
    assert cancelled["status"] == "cancelled"
    assert cancelled["status_reason"] == "cancelled by bob"
    assert gone(running["pid"]) and gone(kernel_pid)
    with pytest.raises(Conflict, match="already finished"):
        mlops.runs.cancel(run["id"])


def test_queued_run_cancelled_never_starts(mlops):
    ok_notebook(root_of(mlops))
    mlops.max_concurrent_runs = 1
    sleepy_notebook(root_of(mlops))
    blocker = mlops.runs.submit("sleepy.ipynb")
    queued = mlops.runs.submit("ok.ipynb")
    assert mlops.runs.get(queued["id"])["status"] == "queued"
    assert mlops.runs.cancel(queued["id"])["status"] == "cancelled"
    mlops.runs.cancel(blocker["id"])
    mlops.runs.tick()
    after = mlops.runs.get(queued["id"])
    assert after["status"] == "cancelled" and after["started_at"] is None


def test_restart_recovery_fails_runs_whose_process_is_gone(mlops, monkeypatch):
    root = root_of(mlops)
    sleepy_notebook(root)
    run = mlops.runs.submit("sleepy.ipynb")
    running = _running_with_kernel(mlops, run["id"], root / "kernel.pid")
    kernel_pid = int((root / "kernel.pid").read_text())
    # An interactive run of this (live) process must survive recovery.
    monkeypatch.delenv("MLOPS_RUN_ID", raising=False)
    interactive = mlops.runs.start_interactive("analysis.ipynb", user="ada")
    # The machine "crashes": worker and kernel die without writing anything.
    for pid in (running["pid"], kernel_pid):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: gone(running["pid"]) and gone(kernel_pid), deadline=30)
    assert mlops.runs.get(run["id"])["status"] == "running"
    restarted = MLOps(root_dir=str(root))  # a new server process on the same store
    assert restarted.runs.recover() == [run["id"]]
    recovered = restarted.runs.get(run["id"])
    assert recovered["status"] == "failed"
    assert recovered["status_reason"] == "server restarted"
    assert recovered["finished_at"] is not None
    assert restarted.runs.get(interactive["id"])["status"] == "running"
    restarted.stop()


def test_provenance_is_recorded_before_the_run_starts(mlops):
    root = root_of(mlops)
    (root / "data").mkdir()
    (root / "data" / "train.csv").write_text("a,b\n1,2\n")
    (root / "data" / "extra.csv").write_text("c\n3\n")
    write_notebook(
        root / "nb" / "prov.ipynb",
        ["print(open(data_path).read())"],
        parameters="data_path = '../data/train.csv'\nother = 'not-a-file'",
    )
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    git = ["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "add", "nb/prov.ipynb"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    head = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    mlops.max_concurrent_runs = 1
    sleepy_notebook(root)
    blocker = mlops.runs.submit("sleepy.ipynb")  # keeps the next run queued
    run = mlops.runs.submit(
        "nb/prov.ipynb", {"other": "x"}, input_files=["data/extra.csv"], user="ada"
    )
    assert run["status"] == "queued"
    prov = run["provenance"]

    def sha256sum(path: Path) -> str:
        out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
        return out.stdout.split()[0]

    assert prov["notebook_sha256"] == sha256sum(root / "nb" / "prov.ipynb")
    assert run["input_notebook_sha256"] == prov["notebook_sha256"]
    assert (
        mlops.artifacts.get_bytes(prov["notebook_sha256"])
        == (root / "nb" / "prov.ipynb").read_bytes()
    )
    assert prov["parameters"] == {"other": "x"}
    # The kernel's interpreter: this venv's python (its kernelspec may name python or python3).
    interpreter = prov["kernel"].pop("interpreter")
    assert os.path.samefile(interpreter, sys.executable)
    assert prov["kernel"] == {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "language_version": platform.python_version(),
    }
    assert prov["python"]["version"] == platform.python_version()
    assert os.path.samefile(prov["python"]["executable"], sys.executable)
    assert prov["packages"]["papermill"] == importlib.metadata.version("papermill")
    assert prov["packages"]["scikit-learn"] == importlib.metadata.version("scikit-learn")
    assert prov["platform"]["hostname"] == socket.gethostname()
    assert prov["platform"]["system"] == platform.system()
    assert prov["git"] == {"root": str(root), "commit": head, "branch": "main", "dirty": False}
    # Declared inputs are hashed; so is a parameter default? No: only *given* values and
    # declared files. Here: the declared file only ("x" is no file).
    assert prov["inputs"] == {"data/extra.csv": sha256sum(root / "data" / "extra.csv")}
    assert prov["user"] == "ada"
    # A parameter value naming a file under the root is hashed (relative to the notebook).
    second = mlops.runs.submit("nb/prov.ipynb", {"data_path": "../data/train.csv"})
    assert second["provenance"]["inputs"] == {
        "data/train.csv": sha256sum(root / "data" / "train.csv")
    }
    # A modified tracked file makes the repository dirty.
    (root / "nb" / "prov.ipynb").write_text((root / "nb" / "prov.ipynb").read_text() + " ")
    third = mlops.runs.submit("nb/prov.ipynb")
    assert third["provenance"]["git"]["dirty"] is True
    for item in (third, second, run, blocker):
        mlops.runs.cancel(item["id"])


def test_bad_input_records_nothing(mlops):
    root = root_of(mlops)
    before = run_count(mlops)
    ok_notebook(root)
    (root / "broken.ipynb").write_text("{not json")
    cases = [
        (lambda: mlops.runs.submit("ok.ipynb", {"nope": 1}), InvalidInput, "'nope'"),
        (lambda: mlops.runs.submit("ok.ipynb", {"x": "one"}), InvalidInput, "'x' expects int"),
        (lambda: mlops.runs.submit("broken.ipynb"), InvalidInput, "not a valid notebook"),
        (lambda: mlops.runs.submit("../outside.ipynb"), Forbidden, "outside the server root"),
        (lambda: mlops.runs.submit("missing.ipynb"), NotFound, "no such file"),
        (lambda: mlops.runs.submit("ok.ipynb", kernel_name="nokernel"), InvalidInput, "kernel"),
        (lambda: mlops.runs.submit("ok.ipynb", timeout=-1), InvalidInput, "timeout"),
        (lambda: mlops.runs.submit("ok.ipynb", input_files=["nope.csv"]), NotFound, "nope.csv"),
    ]
    for call, error, message in cases:
        with pytest.raises(error, match=message):
            call()
    assert run_count(mlops) == before


def test_four_runs_with_a_limit_of_two_never_overlap_more_than_two(mlops):
    root = root_of(mlops)
    write_notebook(
        root / "nap.ipynb", ["import time\ntime.sleep(seconds)"], parameters="seconds = 2"
    )
    runs = [mlops.runs.submit("nap.ipynb") for _ in range(4)]
    statuses = [mlops.runs.get(r["id"])["status"] for r in runs]
    assert statuses.count("running") <= 2
    assert statuses.count("queued") >= 2
    finals = [mlops.runs.wait(r["id"], timeout=RUN_DEADLINE) for r in runs]
    assert [f["status"] for f in finals] == ["succeeded"] * 4
    intervals = [
        (
            datetime.fromisoformat(f["started_at"]).timestamp(),
            datetime.fromisoformat(f["finished_at"]).timestamp(),
        )
        for f in finals
    ]
    assert overlap(intervals) == 2


def test_reproduce_reports_matching_and_differing_cells_and_environment(mlops):
    root = root_of(mlops)
    (root / "data.csv").write_text("v\n1\n")
    write_notebook(
        root / "repro.ipynb",
        [
            # same result every time; the timestamp and the address differ but don't count
            "import datetime\nprint('total', 6 * 7, datetime.datetime.now())\nprint(object())",
            "import random\nprint(random.random())",  # differs on every run
        ],
        parameters="n = 1",
    )
    original = mlops.runs.submit("repro.ipynb", {"n": 2}, input_files=["data.csv"])
    original = mlops.runs.wait(original["id"], timeout=RUN_DEADLINE)
    assert original["status"] == "succeeded"
    (root / "data.csv").write_text("v\n2\n")  # the data changed since
    (root / "repro.ipynb").unlink()  # the stored copy is what gets re-run
    again = mlops.runs.reproduce(original["id"], user="ada")
    assert again["trigger"] == "reproduce" and again["reproduces_run_id"] == original["id"]
    assert again["parameters"] == {"n": 2}
    assert again["input_notebook_sha256"] == original["input_notebook_sha256"]
    done = mlops.runs.wait(again["id"], timeout=RUN_DEADLINE)
    assert done["status"] == "succeeded"
    comparison = done["comparison"]
    assert comparison["original_run_id"] == original["id"]
    cells = comparison["outputs"]["cells"]
    # code cells: 0 parameters, 1 injected parameters, 2 deterministic, 3 random
    assert [c["match"] for c in cells] == [True, True, True, False]
    assert comparison["outputs_match"] is False
    assert "random" in cells[3]["source"] and cells[3]["diff"]
    env = comparison["environment"]
    assert env["inputs"]["changed"] == {
        "data.csv": {
            "original": original["provenance"]["inputs"]["data.csv"],
            "reproduced": hashlib.sha256(b"v\n2\n").hexdigest(),
        }
    }
    assert env["packages"] == {"added": {}, "removed": {}, "changed": {}}
    assert env["git"] == {}
    assert env["notebook_sha256_equal"] is True
    assert env["same"] is False


def test_sweep_runs_the_grid_as_one_group_and_picks_the_best(mlops):
    ok_notebook(root_of(mlops))
    sweep = mlops.runs.sweep(
        "ok.ipynb", {"x": [1, "3"], "name": ["b"]}, metric="score", mode="max", user="ada"
    )
    assert sweep["total"] == 2
    assert sorted((r["parameters"]["x"], r["parameters"]["name"]) for r in sweep["runs"]) == [
        (1, "b"),
        (3, "b"),
    ]
    for item in sweep["runs"]:
        mlops.runs.wait(item["id"], timeout=RUN_DEADLINE)
    done = mlops.runs.get_sweep(sweep["id"])
    assert done["status"] == "finished"
    assert done["counts"] == {"succeeded": 2}
    assert done["best"]["value"] == 6.0
    assert done["best"]["parameters"]["x"] == 3
    sweeps = mlops.runs.list_sweeps()["total"]
    with pytest.raises(InvalidInput, match="'x' expects int"):
        mlops.runs.sweep("ok.ipynb", {"x": [1, "many"]})
    with pytest.raises(InvalidInput, match="non-empty list"):
        mlops.runs.sweep("ok.ipynb", {"x": []})
    assert mlops.runs.list_sweeps()["total"] == sweeps


def test_tracking_outside_a_run_creates_an_interactive_run(mlops, monkeypatch):
    import jupyterlab_mlops as api
    from jupyterlab_mlops.facade import tracking

    monkeypatch.delenv("MLOPS_RUN_ID", raising=False)
    monkeypatch.setenv("MLOPS_ROOT_DIR", mlops.root_dir)
    monkeypatch.setenv("JPY_SESSION_NAME", str(root_of(mlops) / "explore.ipynb"))
    tracking.end_interactive_run()  # start from a clean slate: a new interactive run
    api.log_metric("loss", 0.5)
    api.log_metric("loss", 0.25)
    api.log_param("optimizer", {"name": "adam"})
    (root_of(mlops) / "notes.txt").write_text("hello")
    art = api.log_artifact(root_of(mlops) / "notes.txt")
    run = mlops.runs.get(api.current_run_id())
    assert run["kind"] == "interactive" and run["status"] == "running"
    assert run["notebook_path"] == "explore.ipynb"
    assert run["metrics"] == {"loss": 0.25}
    assert [(m["value"], m["step"]) for m in run["metric_history"]] == [(0.5, 0), (0.25, 1)]
    assert run["logged_params"] == {"optimizer": '{"name": "adam"}'}
    assert run["artifacts"][0]["sha256"] == hashlib.sha256(b"hello").hexdigest() == art["sha256"]
    with pytest.raises(InvalidInput, match="finite number"):
        api.log_metric("loss", float("inf"))
    assert mlops.runs.close_interactive(run["id"]) is True
    assert mlops.runs.get(run["id"])["status"] == "succeeded"


def test_notebook_without_kernel_metadata_runs_as_python(mlops):
    """Notebooks written by other tools may have no kernelspec or language_info at all."""
    root = root_of(mlops)
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("n = 2", metadata={"tags": ["parameters"]}))
    nb.cells.append(nbformat.v4.new_code_cell("print('n squared is', n * n)"))
    nbformat.write(nb, root / "bare.ipynb")
    assert [p["name"] for p in mlops.runs.inspect("bare.ipynb")["parameters"]] == ["n"]
    run = mlops.runs.submit("bare.ipynb", {"n": 7})
    final = mlops.runs.wait(run["id"], timeout=RUN_DEADLINE)
    assert final["status"] == "succeeded", final
    assert final["kernel_name"] == "python3"
    output = json.loads(mlops.runs.output_notebook(run["id"]))
    printed = "".join("".join(o.get("text", "")) for c in output["cells"] for o in c["outputs"])
    assert "n squared is 49" in printed


def test_end_interactive_run_closes_it_and_each_store_gets_its_own(
    mlops, monkeypatch, tmp_path_factory
):
    import jupyterlab_mlops as api
    from jupyterlab_mlops.facade import tracking

    monkeypatch.delenv("MLOPS_RUN_ID", raising=False)
    monkeypatch.setenv("MLOPS_ROOT_DIR", mlops.root_dir)
    monkeypatch.setenv("JPY_SESSION_NAME", str(root_of(mlops) / "session.ipynb"))
    tracking.end_interactive_run()
    api.log_metric("m", 1.0)
    first = api.current_run_id()
    assert tracking.end_interactive_run() == [first]
    closed = mlops.runs.get(first)
    assert closed["status"] == "succeeded" and closed["metrics"] == {"m": 1.0}
    api.log_metric("m", 2.0)
    second = api.current_run_id()
    assert second != first and mlops.runs.get(second)["metrics"] == {"m": 2.0}
    # another store (the environment names it): another interactive run, in that store
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.setenv("MLOPS_ROOT_DIR", str(elsewhere))
    api.log_metric("m", 3.0)
    third = api.current_run_id()
    other = MLOps(root_dir=str(elsewhere))
    assert other.runs.get(third)["metrics"] == {"m": 3.0}
    monkeypatch.setenv("MLOPS_ROOT_DIR", mlops.root_dir)
    assert api.current_run_id() == second
    assert sorted(tracking.end_interactive_run()) == sorted([second, third])
    assert other.runs.get(third)["status"] == "succeeded"
    assert mlops.runs.get(second)["status"] == "succeeded"
    other.stop()
