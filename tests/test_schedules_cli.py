"""``jupyter mlops schedules …`` as real subprocesses on a real store, and ``%mlops schedule`` /
``%mlops schedules`` in a real IPython shell: output, exit codes, refusals that store nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from _runs_support import RUN_DEADLINE, ok_notebook, wait_for
from IPython.testing import globalipapp
from IPython.utils.capture import capture_output

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


def cli_json(root: Path, *args: str):
    done = cli(root, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def root(tmp_path):
    ok_notebook(tmp_path)  # parameters: x = 1, name = 'a'
    return tmp_path


def stored(root: Path) -> MLOps:
    return MLOps(root_dir=str(root), run_scheduler=False)


def test_create_shows_the_cron_in_words_and_the_next_fire_and_stores_typed_parameters(root):
    done = cli(
        root,
        *("schedules", "create", "ok.ipynb", "0 6 * * *", "x=3", "-p", "name", "daily"),
        *("--timezone", "Europe/Paris", "--name", "morning", "--overlap", "queue"),
        *("--catch-up", "latest", "--timeout", "300"),
    )
    assert done.returncode == 0, done.stderr
    assert "At 06:00 (Europe/Paris)" in done.stdout
    schedule_id = done.stdout.split()[1]
    schedule = stored(root).schedules.get(schedule_id)
    assert schedule["parameters"] == {"x": 3, "name": "daily"}  # "3" became the int 3
    assert (schedule["name"], schedule["timezone"]) == ("morning", "Europe/Paris")
    assert (schedule["overlap"], schedule["catch_up"], schedule["timeout"]) == (
        "queue",
        "latest",
        300,
    )
    assert schedule["active"] is True
    next_fire = datetime.fromisoformat(schedule["next_fire_at"])
    assert (next_fire.hour, next_fire.minute) == (6, 0)
    assert next_fire.utcoffset().total_seconds() in (3600, 7200)  # CET or CEST
    assert f"next fire: {next_fire.isoformat(sep=' ')}" in done.stdout

    listed = cli(root, "schedules", "list")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(schedule_id))
    assert "morning" in row and "At 06:00 (Europe/Paris)" in row and "active" in row
    assert next_fire.isoformat(sep=" ") in row

    page = cli_json(root, "schedules", "list")
    assert page["total"] == 1 and page["items"][0]["id"] == schedule_id
    assert page["items"][0]["description"] == "At 06:00 (Europe/Paris)"

    paused = cli_json(root, "schedules", "create", "ok.ipynb", "*/15 * * * *", "--paused")
    assert paused["active"] is False and paused["next_fire_at"] is None
    assert paused["timezone"] == "UTC" and paused["parameters"] == {}


def test_pause_resume_trigger_show_and_delete(root):
    created = cli_json(root, "schedules", "create", "ok.ipynb", "0 6 * * *", "x=4")
    schedule_id = created["id"]

    done = cli(root, "schedules", "pause", schedule_id)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"schedule {schedule_id}: paused"
    assert stored(root).schedules.get(schedule_id)["active"] is False

    done = cli(root, "schedules", "resume", schedule_id)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"schedule {schedule_id}: active, next fire ")
    assert stored(root).schedules.get(schedule_id)["active"] is True

    done = cli(root, "schedules", "trigger", schedule_id)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip().rsplit(" ", 1)[-1]
    mlops = stored(root)
    run = mlops.runs.get(run_id)
    assert run["trigger"] == "schedule" and run["schedule_id"] == schedule_id
    assert run["parameters"] == {"x": 4}
    done_run = wait_for(
        lambda: (
            mlops.runs.get(run_id)["status"] in ("succeeded", "failed") and mlops.runs.get(run_id)
        )
    )
    assert done_run["status"] == "succeeded"

    shown = cli(root, "schedules", "show", schedule_id)
    assert shown.returncode == 0, shown.stderr
    assert "recent fires:" in shown.stdout
    fire_line = next(line for line in shown.stdout.splitlines() if run_id in line)
    assert "submitted (run now)" in fire_line and "succeeded" in fire_line
    detail = cli_json(root, "schedules", "show", schedule_id)
    assert [f["run_id"] for f in detail["fires"]] == [run_id]
    assert [r["id"] for r in detail["runs"]] == [run_id]
    assert detail["last_status"] == "succeeded"

    done = cli(root, "schedules", "delete", schedule_id)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"schedule {schedule_id} deleted"
    assert stored(root).schedules.list()["total"] == 0
    assert stored(root).runs.get(run_id)["status"] == "succeeded"  # its runs are kept
    missing = cli(root, "schedules", "show", schedule_id)
    assert missing.returncode == 2 and f"no schedule '{schedule_id}'" in missing.stderr


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["0 6 * *"], "'cron' must have 5 fields"),
        (["61 * * * *"], "'cron' is not a valid cron expression"),
        (["0 6 * * *", "--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["0 6 * * *", "nope=1"], "unknown parameter 'nope'"),
        (["0 6 * * *", "-p", "x", "lots"], "parameter 'x' expects int, got 'lots'"),
        (["0 6 * * *", "--timeout", "-5"], "timeout"),
        (["0 6 * * *", "--name", ""], "name"),
    ],
)
def test_bad_input_exits_two_naming_it_and_stores_nothing(root, words, message):
    done = cli(root, "schedules", "create", "ok.ipynb", *words)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr
    assert stored(root).schedules.list()["total"] == 0


def test_a_missing_notebook_or_schedule_is_refused(root):
    done = cli(root, "schedules", "create", "nowhere.ipynb", "0 6 * * *")
    assert done.returncode == 2 and "nowhere.ipynb" in done.stderr
    for action in ("pause", "resume", "trigger", "delete"):
        done = cli(root, "schedules", action, "doesnotexist")
        assert done.returncode == 2 and "no schedule 'doesnotexist'" in done.stderr, action
    assert stored(root).schedules.list()["total"] == 0


# -- %mlops schedule / %mlops schedules ----------------------------------------------------------


@pytest.fixture
def shell(root, monkeypatch):
    monkeypatch.chdir(root)
    monkeypatch.setenv("MLOPS_ROOT_DIR", str(root))
    monkeypatch.delenv("MLOPS_RUN_ID", raising=False)
    ip = globalipapp.start_ipython() or globalipapp.get_ipython()
    monkeypatch.setattr(ip.display_formatter, "active_types", ["text/plain", "text/html"])
    ip.run_line_magic("load_ext", "jupyterlab_mlops")
    return ip


def test_magic_schedule_and_schedules(shell, root):
    with capture_output() as captured:
        schedule = shell.run_line_magic(
            "mlops", 'schedule ok.ipynb "0 6 * * *" x=5 --timezone Europe/Paris'
        )
    assert schedule["parameters"] == {"x": 5}
    assert schedule["description"] == "At 06:00 (Europe/Paris)"
    html = captured.outputs[0].data["text/html"]
    assert schedule["id"] in html and "At 06:00 (Europe/Paris)" in html
    assert datetime.fromisoformat(schedule["next_fire_at"]).isoformat(sep=" ") in html

    with capture_output() as captured:
        page = shell.run_line_magic("mlops", "schedules")
    assert [s["id"] for s in page["items"]] == [schedule["id"]]
    assert schedule["id"] in captured.outputs[0].data["text/html"]

    with capture_output() as captured:
        refused = shell.run_line_magic("mlops", 'schedule ok.ipynb "every day" x=5')
    assert refused is None
    assert "%mlops schedule: 'cron' must have 5 fields" in captured.stdout
    with capture_output() as captured:
        refused = shell.run_line_magic("mlops", 'schedule ok.ipynb "0 6 * * *" x=many')
    assert refused is None and "parameter 'x' expects int" in captured.stdout
    assert stored(root).schedules.list()["total"] == 1
