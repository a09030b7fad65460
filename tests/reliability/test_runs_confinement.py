"""Writes under the root refuse symlinks that leave it; odd paths are a 400 naming the field.

Item 1 and 7 of the reliability issue: a run's notebook swaps ``mlops-runs/<run_id>`` for a link
out of the root while it runs; ``POST /runs/{id}/output`` meets the same link; every
path-taking parameter gets a name over 255 bytes, a symlink loop, a FIFO and a directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from _runs_faults import (
    HostilePaths,
    error_of,
    fetch_json,
    ok_notebook,
    wait_finished,
    write_notebook,
)

ESCAPE = """\
import os, pathlib, shutil
run_dir = pathlib.Path('mlops-runs') / os.environ['MLOPS_RUN_ID']
shutil.rmtree(run_dir, ignore_errors=True)
run_dir.parent.mkdir(exist_ok=True)
os.symlink(outside, run_dir)
"""


async def test_output_symlinked_out_of_the_root_mid_run_is_not_written(
    jp_fetch, jp_root_dir, tmp_path_factory
):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "escape.ipynb").write_text("precious")
    write_notebook(jp_root_dir / "escape.ipynb", [ESCAPE], parameters="outside = ''")
    code, run = await fetch_json(
        jp_fetch,
        "runs",
        method="POST",
        body={"notebook_path": "escape.ipynb", "parameters": {"outside": str(outside)}},
    )
    assert code == 201
    final = await wait_finished(jp_fetch, run["id"])
    # The notebook ran: its outcome stands; the output is kept in the artifact store only.
    assert final["status"] == "succeeded", final
    assert final["output_notebook_path"] is None
    assert final["output_notebook_sha256"]
    assert "artifact store only" in final["status_reason"]
    assert "outside the server root" in final["status_reason"]
    assert (outside / "escape.ipynb").read_text() == "precious"
    assert sorted(p.name for p in outside.iterdir()) == ["escape.ipynb"]
    response = await jp_fetch("mlops", "api", "runs", run["id"], "output")
    assert json.loads(response.body)["cells"]

    # Opening it in the lab meets the same link: 403, and still nothing written outside.
    code, error = await error_of(jp_fetch, "runs", run["id"], "output", method="POST")
    assert code == 403 and "outside the server root" in error["message"]
    assert (outside / "escape.ipynb").read_text() == "precious"
    assert sorted(p.name for p in outside.iterdir()) == ["escape.ipynb"]

    # With the link gone the same request writes it under the root.
    os.unlink(jp_root_dir / "mlops-runs" / run["id"])
    code, opened = await fetch_json(jp_fetch, "runs", run["id"], "output", method="POST")
    assert code == 200
    output = jp_root_dir / opened["output_notebook_path"]
    assert output.is_file() and not output.is_symlink()

    # A link at the output's own name, to a file inside the root (the source notebook): replaced,
    # never written through.
    source = (jp_root_dir / "escape.ipynb").read_bytes()
    output.unlink()
    os.symlink(jp_root_dir / "escape.ipynb", output)
    code, _ = await fetch_json(jp_fetch, "runs", run["id"], "output", method="POST")
    assert code == 200 and not output.is_symlink()
    assert (jp_root_dir / "escape.ipynb").read_bytes() == source


def _probes(root):
    hostile = HostilePaths(root)
    ok_notebook(root)
    yield from hostile.notebooks.items()


def _bodies(kind: str, bad: str):
    """(route parts, method, body or params, field named in the 400) for one bad path."""
    return [
        (("runs",), "POST", {"notebook_path": bad}, "notebook_path"),
        (("runs",), "POST", {"notebook_path": "ok.ipynb", "input_files": [bad]}, "input_files"),
        (("runs", "sweeps"), "POST", {"notebook_path": bad, "grid": {"x": [1]}}, "notebook_path"),
        (("notebooks", "parameters"), "GET", {"path": bad}, "path"),
        (("deploy", "notebook"), "POST", {"path": bad}, "path"),
        (("schedules",), "POST", {"notebook_path": bad, "cron": "0 3 * * *"}, "notebook_path"),
    ]


async def test_every_path_parameter_refuses_odd_paths_with_a_400_naming_the_field(
    jp_fetch, jp_root_dir
):
    seen = []
    for kind, bad in _probes(jp_root_dir):
        for parts, method, payload, field in _bodies(kind, bad):
            if method == "GET":
                code, error = await error_of(jp_fetch, *parts, params=payload)
            else:
                code, error = await error_of(jp_fetch, *parts, method=method, body=payload)
            seen.append((kind, parts, code))
            assert code == 400, (kind, parts, error)
            assert error.get("details", {}).get("field") == field or field in error["message"], (
                kind,
                parts,
                error,
            )
    assert len(seen) == 5 * 6


async def test_pipeline_paths_refuse_odd_paths(jp_fetch, jp_root_dir):
    hostile = HostilePaths(jp_root_dir)
    for kind, bad in hostile.pipelines.items():
        for parts, body in (
            (("pipelines", "runs"), {"pipeline_path": bad}),
            (("schedules",), {"pipeline_path": bad, "cron": "0 3 * * *"}),
        ):
            code, error = await error_of(jp_fetch, *parts, method="POST", body=body)
            assert code == 400, (kind, parts, error)
            assert "pipeline_path" in json.dumps(error), (kind, parts, error)


def test_retrain_notebook_check_refuses_odd_paths(tmp_path):
    """A monitor's retrain notebook is checked by the runs service's ``inspect`` (app.py's
    ``check_retrain``): the same 400s, labelled ``config.retrain.notebook`` by drift."""
    from jupyterlab_mlops.app import MLOps
    from jupyterlab_mlops.errors import InvalidInput

    hostile = HostilePaths(tmp_path)
    mlops = MLOps(root_dir=str(tmp_path))
    try:
        for kind, bad in hostile.notebooks.items():
            with pytest.raises(InvalidInput) as caught:
                mlops.runs.inspect(bad)
            assert caught.value.details["field"] == "path", kind
    finally:
        mlops.stop()


def test_cli_exits_2_without_a_traceback_on_odd_paths(tmp_path):
    hostile = HostilePaths(tmp_path)
    env = {**os.environ, "MLOPS_ROOT_DIR": str(tmp_path)}
    for kind in ("long",):  # the rest share its code path (each is checked over REST)
        bad = hostile.notebooks[kind]
        result = subprocess.run(
            [sys.executable, "-m", "jupyterlab_mlops.cli", "run", bad, "--no-wait"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2, (kind, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, (kind, result.stderr)
