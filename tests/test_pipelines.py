"""Pipelines of notebooks: a DAG of real papermill runs, failure, repair, cancel, validation."""

from __future__ import annotations

import textwrap

import pytest
from _runs_support import RUN_DEADLINE, wait_for, write_notebook

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.errors import Conflict, InvalidInput


@pytest.fixture
def mlops(tmp_path):
    instance = MLOps(root_dir=str(tmp_path))
    instance.start()
    yield instance
    instance.stop()


def write_pipeline(root, text: str, name: str = "flow.pipeline.yaml"):
    (root / name).write_text(textwrap.dedent(text))
    return name


def finished(mlops, run_id):
    def check():
        run = mlops.pipelines.get(run_id)
        return run if run["status"] in ("succeeded", "failed", "cancelled") else None

    return wait_for(check, RUN_DEADLINE)


def by_name(run):
    return {step["name"]: step for step in run["steps"]}


def test_a_failed_middle_step_is_repaired_and_only_it_and_its_downstream_run_again(mlops, tmp_path):
    write_notebook(tmp_path / "prepare.ipynb", ["print('prepared')"], parameters="n = 1")
    write_notebook(tmp_path / "train.ipynb", ["raise ValueError('bad data')"])
    write_notebook(tmp_path / "evaluate.ipynb", ["print('evaluated')"])
    write_notebook(tmp_path / "lint.ipynb", ["print('independent')"])
    path = write_pipeline(
        tmp_path,
        """
        name: churn
        parameters: {n: 3}
        steps:
          - {name: prepare, notebook: prepare.ipynb, parameters: {n: "${parameters.n}"}}
          - {name: lint, notebook: lint.ipynb}
          - {name: train, notebook: train.ipynb, depends_on: [prepare]}
          - {name: evaluate, notebook: evaluate.ipynb, depends_on: [train, lint]}
        """,
    )
    started = mlops.pipelines.start(path, {"n": 7}, user="alice")
    assert started["name"] == "churn" and started["parameters"] == {"n": 7}
    first = finished(mlops, started["id"])
    steps = by_name(first)
    assert first["status"] == "failed"
    assert {n: s["status"] for n, s in steps.items()} == {
        "prepare": "succeeded",
        "lint": "succeeded",
        "train": "failed",
        "evaluate": "skipped",
    }
    assert "bad data" in steps["train"]["error"]
    prepare_run = mlops.runs.get(steps["prepare"]["run_id"])
    assert prepare_run["parameters"] == {"n": 7}
    assert prepare_run["trigger"] == "pipeline"
    assert prepare_run["trigger_details"]["pipeline_run_id"] == started["id"]

    write_notebook(tmp_path / "train.ipynb", ["print('fixed')"])
    mlops.pipelines.repair(started["id"], user="alice")
    second = finished(mlops, started["id"])
    after = by_name(second)
    assert second["status"] == "succeeded" and second["attempt"] == 2
    # Only the failed step and its downstream ran again; the others were reused as they were.
    assert after["prepare"]["run_id"] == steps["prepare"]["run_id"] and after["prepare"]["reused"]
    assert after["lint"]["run_id"] == steps["lint"]["run_id"] and after["lint"]["reused"]
    assert after["train"]["run_id"] != steps["train"]["run_id"]
    assert after["train"]["previous_runs"] == [steps["train"]["run_id"]]
    assert after["evaluate"]["status"] == "succeeded" and not after["evaluate"]["reused"]
    with pytest.raises(Conflict, match="only a failed or cancelled"):
        mlops.pipelines.repair(started["id"])


def test_a_failing_step_is_retried_before_the_pipeline_fails(mlops, tmp_path):
    write_notebook(
        tmp_path / "flaky.ipynb",
        [
            "import pathlib\n"
            "marker = pathlib.Path('tried-once')\n"
            "if not marker.exists():\n"
            "    marker.write_text('x')\n"
            "    raise RuntimeError('first try fails')\n"
            "print('second try works')"
        ],
    )
    path = write_pipeline(
        tmp_path, "steps:\n  - {name: flaky, notebook: flaky.ipynb, retries: 1}\n"
    )
    run = finished(mlops, mlops.pipelines.start(path)["id"])
    assert run["status"] == "succeeded"
    assert by_name(run)["flaky"]["tries"] == 2


def test_cancel_stops_the_running_step(mlops, tmp_path):
    write_notebook(tmp_path / "slow.ipynb", ["import time\ntime.sleep(600)"])
    write_notebook(tmp_path / "after.ipynb", ["print('never')"])
    path = write_pipeline(
        tmp_path,
        "steps:\n  - {name: slow, notebook: slow.ipynb}\n"
        "  - {name: after, notebook: after.ipynb, depends_on: [slow]}\n",
    )
    started = mlops.pipelines.start(path)
    run_id = by_name(started)["slow"]["run_id"]
    wait_for(lambda: mlops.runs.get(run_id)["status"] == "running", RUN_DEADLINE)
    cancelled = mlops.pipelines.cancel(started["id"], user="bob")
    assert cancelled["status"] == "cancelled"
    assert by_name(cancelled)["after"]["status"] == "skipped"
    wait_for(lambda: mlops.runs.get(run_id)["status"] == "cancelled", RUN_DEADLINE)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps: []\n", "steps"),
        ("steps:\n  - {name: a, notebook: a.ipynb, depends_on: [zz]}\n", "unknown step 'zz'"),
        (
            "steps:\n  - {name: a, notebook: a.ipynb, depends_on: [b]}\n"
            "  - {name: b, notebook: a.ipynb, depends_on: [a]}\n",
            "cycle",
        ),
        (
            "steps:\n  - {name: a, notebook: a.ipynb}\n"
            "  - {name: b, notebook: a.ipynb, parameters: {x: '${steps.a.outputs.y}'}}\n",
            "not upstream",
        ),
        ("steps:\n  - {name: a, notebook: a.ipynb, retries: -1}\n", "retries"),
        ("steps:\n  - {name: a, notebook: a.ipynb, colour: red}\n", "unknown field 'colour'"),
        ("steps: [oops\n", "not valid YAML"),
        ("steps:\n  - {name: a, notebook: missing.ipynb}\n", "no such file"),
    ],
)
def test_bad_pipeline_files_are_refused_before_anything_runs(mlops, tmp_path, text, message):
    write_notebook(tmp_path / "a.ipynb", ["print(1)"])
    path = write_pipeline(tmp_path, text)
    with pytest.raises(Exception, match=message):
        mlops.pipelines.start(path)
    assert mlops.pipelines.list()["total"] == 0
    assert mlops.runs.list()["total"] == 0


def test_unknown_pipeline_parameters_and_wrong_file_names_are_400s(mlops, tmp_path):
    write_notebook(tmp_path / "a.ipynb", ["print(1)"])
    path = write_pipeline(
        tmp_path, "parameters: {n: 1}\nsteps:\n  - {name: a, notebook: a.ipynb}\n"
    )
    with pytest.raises(InvalidInput, match="unknown pipeline parameter 'm'"):
        mlops.pipelines.start(path, {"m": 2})
    (tmp_path / "flow.yaml").write_text("steps: []")
    with pytest.raises(InvalidInput, match="must end with .pipeline.yaml"):
        mlops.pipelines.start("flow.yaml")


def test_a_step_reads_what_an_upstream_step_declared_with_log_output(mlops, tmp_path):
    write_notebook(
        tmp_path / "prepare.ipynb",
        [
            "import jupyterlab_mlops as mlops\n"
            "path = f'data-{rows}.csv'\n"
            "open(path, 'w').write('x\\n' * rows)\n"
            "mlops.log_output('train_path', path)\n"
            "mlops.log_output('stats', {'rows': rows, 'ok': True})"
        ],
        parameters="rows = 3",
    )
    write_notebook(
        tmp_path / "train.ipynb",
        ["assert open(train_path).read().count('x') == expected, train_path\nprint(note)"],
        parameters="train_path = ''\nexpected = 0\nnote = ''",
    )
    path = write_pipeline(
        tmp_path,
        """
        parameters: {rows: 5}
        steps:
          - {name: prepare, notebook: prepare.ipynb, parameters: {rows: "${parameters.rows}"}}
          - name: train
            notebook: train.ipynb
            depends_on: [prepare]
            parameters:
              train_path: "${steps.prepare.outputs.train_path}"
              expected: "${steps.prepare.outputs.stats.rows}"
              note: "trained on ${steps.prepare.outputs.train_path}"
        """,
    )
    run = finished(mlops, mlops.pipelines.start(path)["id"])
    steps = by_name(run)
    assert run["status"] == "succeeded", {n: s["error"] for n, s in steps.items()}
    assert steps["prepare"]["outputs"] == {
        "train_path": "data-5.csv",
        "stats": {"rows": 5, "ok": True},
    }
    train = mlops.runs.get(steps["train"]["run_id"])
    assert train["parameters"] == {
        "train_path": "data-5.csv",
        "expected": 5,
        "note": "trained on data-5.csv",
    }


def test_outputs_must_be_json_values(mlops, tmp_path):
    from jupyterlab_mlops.runs import records  # noqa: F401 - the run exists below

    write_notebook(tmp_path / "a.ipynb", ["print(1)"])
    run = mlops.runs.submit("a.ipynb")
    with pytest.raises(InvalidInput, match="must be a JSON value"):
        mlops.runs.log_output(run["id"], "x", float("nan"))
    with pytest.raises(InvalidInput, match="over 65536"):
        mlops.runs.log_output(run["id"], "x", "y" * 70_000)
