"""``jupyter mlops pipeline …`` as real subprocesses with real papermill runs and no server (the
waiting CLI advances the pipeline itself), ``%mlops pipeline …`` in a real IPython shell, and the
example pipeline of examples/ end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _runs_support import RUN_DEADLINE, wait_for, write_notebook
from IPython.testing import globalipapp
from IPython.utils.capture import capture_output

from jupyterlab_mlops.app import MLOps

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PIPELINE_DEADLINE = 3 * RUN_DEADLINE  # several notebook runs one after the other


def cli(root: Path, *args: str, timeout: float = PIPELINE_DEADLINE) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
    return subprocess.run(
        [sys.executable, "-m", "jupyterlab_mlops.cli", "--root-dir", str(root), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=str(root),
    )


def cli_json(root: Path, *args: str):
    done = cli(root, *args, "--json")
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def stored(root: Path) -> MLOps:
    return MLOps(root_dir=str(root), run_scheduler=False)


def by_name(pipeline_run):
    return {step["name"]: step for step in pipeline_run["steps"]}


def write_pipeline(root: Path, text: str, name: str = "flow.pipeline.yaml") -> str:
    (root / name).write_text(textwrap.dedent(text))
    return name


@pytest.fixture
def root(tmp_path):
    """produce (outputs doubled = 2x) → consume (reads it); a pipeline parameter x."""
    write_notebook(
        tmp_path / "produce.ipynb",
        ["import jupyterlab_mlops as mlops\nmlops.log_output('doubled', x * 2)"],
        parameters="x = 1",
    )
    write_notebook(
        tmp_path / "consume.ipynb",
        ["import jupyterlab_mlops as mlops\nmlops.log_metric('received', value)"],
        parameters="value = 0",
    )
    write_pipeline(
        tmp_path,
        """
        name: doubling
        parameters: {x: 1}
        steps:
          - {name: produce, notebook: produce.ipynb, parameters: {x: "${parameters.x}"}}
          - name: consume
            notebook: consume.ipynb
            depends_on: [produce]
            parameters: {value: "${steps.produce.outputs.doubled}"}
        """,
    )
    return tmp_path


def test_run_waits_with_progress_passes_outputs_and_exits_zero(root):
    done = cli(root, "pipeline", "run", "flow.pipeline.yaml", "-p", "x", "4")
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "step" in done.stderr  # the tqdm bar counts steps
    pipeline_run_id = done.stdout.split()[2].rstrip(":")
    assert done.stdout.startswith(f"pipeline run {pipeline_run_id}: succeeded")
    table = done.stdout.splitlines()
    header = next(line for line in table if line.startswith("STEP"))
    assert header.split() == ["STEP", "STATUS", "ATTEMPT/TRIES", "REUSED", "RUN", "ERROR"]

    mlops = stored(root)
    pipeline_run = mlops.pipelines.get(pipeline_run_id)
    steps = by_name(pipeline_run)
    assert pipeline_run["status"] == "succeeded" and pipeline_run["parameters"] == {"x": 4}
    assert pipeline_run["trigger"] == "cli"
    consume = mlops.runs.get(steps["consume"]["run_id"])
    assert consume["parameters"] == {"value": 8}  # "4" became 4, doubled by produce
    assert consume["metrics"]["received"] == 8
    for name in ("produce", "consume"):
        line = next(line for line in table if line.startswith(name))
        assert line.split()[:4] == [name, "succeeded", "1/1", steps[name]["run_id"]]

    page = cli_json(root, "pipeline", "runs", "list", "--pipeline", "./flow.pipeline.yaml")
    assert page["total"] == 1 and page["items"][0]["id"] == pipeline_run_id
    assert (
        cli_json(root, "pipeline", "runs", "list", "--pipeline", "other.pipeline.yaml")["total"]
        == 0
    )
    listed = cli(root, "pipeline", "runs", "list")
    assert listed.returncode == 0
    row = next(line for line in listed.stdout.splitlines() if line.startswith(pipeline_run_id))
    assert row.split()[1:5] == ["flow.pipeline.yaml", "succeeded", "1", "2/2"]
    shown = cli_json(root, "pipeline", "runs", "show", pipeline_run_id)
    assert by_name(shown)["produce"]["outputs"] == {"doubled": 8}


def test_a_failed_step_exits_one_and_repair_reruns_only_it_and_its_downstream(root):
    write_notebook(root / "check.ipynb", ["raise ValueError('bad rows')"])
    write_notebook(root / "report.ipynb", ["print('reported')"])
    write_pipeline(
        root,
        """
        steps:
          - {name: produce, notebook: produce.ipynb}
          - {name: check, notebook: check.ipynb, depends_on: [produce]}
          - {name: report, notebook: report.ipynb, depends_on: [check]}
        """,
        "checked.pipeline.yaml",
    )
    done = cli(root, "pipeline", "run", "checked.pipeline.yaml")
    assert done.returncode == 1, (done.stdout, done.stderr)
    pipeline_run_id = done.stdout.split()[2].rstrip(":")
    assert f"pipeline run {pipeline_run_id}: failed" in done.stdout
    check_line = next(line for line in done.stdout.splitlines() if line.startswith("check"))
    assert "failed" in check_line and "bad rows" in check_line
    report_line = next(line for line in done.stdout.splitlines() if line.startswith("report"))
    assert report_line.split()[1] == "skipped"
    before = by_name(stored(root).pipelines.get(pipeline_run_id))

    write_notebook(root / "check.ipynb", ["print('rows are fine now')"])
    done = cli(root, "pipeline", "runs", "repair", pipeline_run_id)
    assert done.returncode == 0, (done.stdout, done.stderr)
    produce_line = next(line for line in done.stdout.splitlines() if line.startswith("produce"))
    assert produce_line.split()[:5] == [
        "produce",
        "succeeded",
        "1/1",
        "reused",
        before["produce"]["run_id"],
    ]
    after = by_name(stored(root).pipelines.get(pipeline_run_id))
    assert after["produce"]["run_id"] == before["produce"]["run_id"] and after["produce"]["reused"]
    assert after["check"]["run_id"] != before["check"]["run_id"]
    assert after["check"]["attempt"] == 2 and after["check"]["status"] == "succeeded"
    assert after["report"]["status"] == "succeeded" and not after["report"]["reused"]

    again = cli(root, "pipeline", "runs", "repair", pipeline_run_id)
    assert again.returncode == 2 and "only a failed or cancelled" in again.stderr


def test_no_wait_returns_at_once_and_cancel_stops_the_running_step(root):
    write_notebook(root / "slow.ipynb", ["import time\ntime.sleep(600)"])
    write_pipeline(
        root,
        """
        steps:
          - {name: slow, notebook: slow.ipynb}
          - {name: after, notebook: produce.ipynb, depends_on: [slow]}
        """,
        "slow.pipeline.yaml",
    )
    done = cli(root, "pipeline", "run", "slow.pipeline.yaml", "--no-wait")
    assert done.returncode == 0, done.stderr
    pipeline_run_id = done.stdout.strip()
    mlops = stored(root)
    step_run = by_name(mlops.pipelines.get(pipeline_run_id))["slow"]["run_id"]
    wait_for(lambda: mlops.runs.get(step_run)["status"] == "running")

    done = cli(root, "pipeline", "runs", "cancel", pipeline_run_id)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"pipeline run {pipeline_run_id}: cancelled"
    wait_for(lambda: mlops.runs.get(step_run)["status"] == "cancelled")
    shown = cli_json(root, "pipeline", "runs", "show", pipeline_run_id)
    assert shown["status"] == "cancelled" and by_name(shown)["after"]["status"] == "skipped"
    again = cli(root, "pipeline", "runs", "cancel", pipeline_run_id)
    assert again.returncode == 2 and "already cancelled" in again.stderr


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["flow.pipeline.yaml", "-p", "nope", "1"], "unknown pipeline parameter 'nope'"),
        (["flow.pipeline.yaml", "x=lots"], "parameter 'x' expects int, got 'lots'"),
        (["flow.pipeline.yaml", "justaword"], "expected name=value"),
        (["missing.pipeline.yaml"], "no such file"),
        (["produce.ipynb"], "is not a pipeline file"),
        (["cycle.pipeline.yaml"], "cycle"),
        (["typo.pipeline.yaml"], "unknown field 'colour'"),
    ],
)
def test_refused_input_exits_two_and_starts_nothing(root, words, message):
    write_pipeline(
        root,
        """
        steps:
          - {name: a, notebook: produce.ipynb, depends_on: [b]}
          - {name: b, notebook: produce.ipynb, depends_on: [a]}
        """,
        "cycle.pipeline.yaml",
    )
    write_pipeline(
        root, "steps:\n  - {name: a, notebook: produce.ipynb, colour: red}\n", "typo.pipeline.yaml"
    )
    done = cli(root, "pipeline", "run", *words)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr
    mlops = stored(root)
    assert mlops.pipelines.list()["total"] == 0
    assert mlops.runs.list()["total"] == 0


def test_the_example_pipeline_prepares_trains_evaluates_and_registers(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    done = cli(tmp_path, "pipeline", "run", "examples/train.pipeline.yaml", "-p", "C", "0.5")
    assert done.returncode == 0, (done.stdout, done.stderr)
    pipeline_run_id = done.stdout.split()[2].rstrip(":")
    mlops = stored(tmp_path)
    pipeline_run = mlops.pipelines.get(pipeline_run_id)
    steps = by_name(pipeline_run)
    assert [s["name"] for s in pipeline_run["steps"]] == [
        "prepare",
        "train",
        "evaluate",
        "register",
    ]
    assert all(s["status"] == "succeeded" for s in steps.values()), steps
    prepared = steps["prepare"]["outputs"]
    assert Path(prepared["train_path"]).is_file() and Path(prepared["test_path"]).is_file()
    train_run = mlops.runs.get(steps["train"]["run_id"])
    assert train_run["parameters"] == {"train_path": prepared["train_path"], "C": 0.5}
    assert 0.9 < train_run["metrics"]["cv_auc"] <= 1.0
    assert [a["name"] for a in train_run["artifacts"]] == ["model.joblib"]
    assert steps["train"]["outputs"]["model_sha256"] == train_run["artifacts"][0]["sha256"]
    evaluated = steps["evaluate"]["outputs"]
    assert 0.9 <= evaluated["auc"] <= 1.0 and 0.5 < evaluated["accuracy"] <= 1.0
    register_run = mlops.runs.get(steps["register"]["run_id"])
    assert register_run["parameters"]["auc"] == evaluated["auc"]
    version = mlops.registry.resolve("breast_cancer/1")
    assert version["version"] == steps["register"]["outputs"]["version"] == 1
    assert version["run_id"] == register_run["id"]
    assert version["metrics"]["auc"] == pytest.approx(evaluated["auc"])


# -- %mlops pipeline run / %mlops pipeline runs ---------------------------------------------------


@pytest.fixture
def shell(root, monkeypatch):
    monkeypatch.chdir(root)
    monkeypatch.setenv("MLOPS_ROOT_DIR", str(root))
    monkeypatch.delenv("MLOPS_RUN_ID", raising=False)
    ip = globalipapp.start_ipython() or globalipapp.get_ipython()
    monkeypatch.setattr(ip.display_formatter, "active_types", ["text/plain", "text/html"])
    ip.run_line_magic("load_ext", "jupyterlab_mlops")
    return ip


def test_magic_pipeline_run_shows_progress_and_the_step_table(shell, root):
    with capture_output() as captured:
        pipeline_run = shell.run_line_magic("mlops", "pipeline run flow.pipeline.yaml x=3")
    assert pipeline_run["status"] == "succeeded", pipeline_run
    assert pipeline_run["trigger"] == "magic" and pipeline_run["parameters"] == {"x": 3}
    assert "step" in captured.stderr  # tqdm.auto's bar (a widget in a kernel) counts steps
    html = captured.outputs[-1].data["text/html"]
    assert "jp-mlops-pipeline-steps" in html
    for step in pipeline_run["steps"]:
        assert step["status"] == "succeeded" and step["run_id"] in html
    assert by_name(pipeline_run)["produce"]["outputs"] == {"doubled": 6}

    with capture_output() as captured:
        page = shell.run_line_magic("mlops", "pipeline runs")
    assert [item["id"] for item in page["items"]] == [pipeline_run["id"]]
    assert pipeline_run["id"] in captured.outputs[0].data["text/html"]

    with capture_output() as captured:
        started = shell.run_line_magic("mlops", "pipeline run flow.pipeline.yaml --no-wait")
    assert started["status"] in ("pending", "running")
    assert "started" in captured.outputs[0].data["text/html"]

    with capture_output() as captured:
        refused = shell.run_line_magic("mlops", "pipeline run flow.pipeline.yaml y=1")
    assert refused is None and "unknown pipeline parameter 'y'" in captured.stdout
    with capture_output() as captured:
        shell.run_line_magic("mlops", "pipeline")
    assert "pipeline run, pipeline runs" in captured.stdout
