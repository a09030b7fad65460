"""The team set-up end to end: a Jupyter server on PostgreSQL and an S3-compatible store, runs on a
Dask cluster of separate processes that shares no disk with the lab.

Every component is really started here: PostgreSQL (``postgres_cluster``), moto's S3 server (a
stand-in for S3: the same API, in memory; ``s3_server``), one ``dask scheduler`` and two ``dask
worker --nthreads 1`` processes. Each worker runs in a mount and UTS namespace of its own
(``unshare -m -u``, we run as root): an empty tmpfs is mounted over the directory holding every
lab root of this test session, so the worker cannot see the lab's files even by their absolute
path, and it has a hostname of its own, as if it were another machine. Its working directory,
HOME and TMPDIR are its own. It is told only the run id and the store's and artifact store's
URLs; the notebook and its declared inputs reach it through the artifact store.

``MLOPS_TEST_SWEEP_SIZE`` sets the size of the sweep (the issue's 100 combinations take longer
than this suite's budget on the shared test machine; the default is smaller).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from _runs_support import error_of, fetch_json, gone, write_notebook

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.runs import TERMINAL_STATES
from jupyterlab_mlops.serving.deployers.base import free_port
from jupyterlab_mlops.store.artifacts import sha256_bytes

distributed = pytest.importorskip("distributed")
pytest.importorskip("skops")

DASK = "jupyterlab_mlops.runs.executors.dask.DaskExecutor"
HEARTBEAT_TIMEOUT = (
    20.0  # short, so a lost worker is noticed soon; not so short that a loaded machine looks lost
)
DEADLINE = 240.0  # generous: the test machine is shared; nothing asserts on speed
SWEEP_SIZE = int(os.environ.get("MLOPS_TEST_SWEEP_SIZE") or 6)
REPO = Path(__file__).resolve().parents[1]


def namespaces_work() -> str | None:
    """None if this process may make mount and UTS namespaces, else why not."""
    if shutil.which("unshare") is None:
        return "unshare is not installed"
    probe = subprocess.run(
        ["unshare", "-m", "-u", "sh", "-c", "mount -t tmpfs none /mnt && hostname probe"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"cannot make a mount namespace here: {probe.stderr.strip()}"
    return None


class DaskCluster:
    """A ``dask scheduler`` and ``dask worker`` processes, each worker "on another machine"."""

    def __init__(self, hidden: Path):
        self.hidden = hidden
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.base = Path(tempfile.mkdtemp(prefix="mlops-dask-"))
        self.processes: dict[str, subprocess.Popen] = {}
        self.homes: dict[str, Path] = {}

    def _environment(self, home: Path | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "JUPYTER"))}
        env["PYTHONPATH"] = str(REPO)  # the package under test (code, not the lab's data)
        if home is not None:
            env.update(HOME=str(home), TMPDIR=str(home / "tmp"))
        return env

    def _log(self, name: str):
        return open(self.base / f"{name}.log", "ab")

    def start(self, workers: int) -> None:
        dask = str(Path(sys.executable).parent / "dask")
        with self._log("scheduler") as log:
            self.processes["scheduler"] = subprocess.Popen(
                [dask, "scheduler", "--host", "127.0.0.1", "--port", str(self.port)]
                + ["--no-dashboard"],
                env=self._environment(None),
                cwd=self.base,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        for n in range(1, workers + 1):
            self.start_worker(f"dask-w{n}")
        with distributed.Client(self.address, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=120)

    def start_worker(self, name: str) -> None:
        home = self.base / name
        (home / "tmp").mkdir(parents=True)
        self.homes[name] = home
        dask = str(Path(sys.executable).parent / "dask")
        # In its own namespaces: the lab's files are under an empty tmpfs, the hostname is its own.
        script = (
            f"mount -t tmpfs none '{self.hidden}' && "
            f"hostname {name} && exec {dask} worker {self.address} --nthreads 1 --no-nanny "
            f"--no-dashboard --name {name} --local-directory '{home / 'dask'}'"
        )
        with self._log(name) as log:
            self.processes[name] = subprocess.Popen(
                ["unshare", "-m", "-u", "sh", "-c", script],
                env=self._environment(home),
                cwd=home,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill_tree(self, name: str) -> list[int]:
        """``kill -9`` a worker and everything below it, as a machine that is lost."""
        root = psutil.Process(self.processes[name].pid)
        tree = [root, *root.children(recursive=True)]
        for proc in tree:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(tree, timeout=10)
        return [p.pid for p in tree]

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.base.glob("*.log"))
        )

    def stop(self) -> None:
        for name, process in reversed(list(self.processes.items())):
            if process.poll() is None:
                try:
                    self.kill_tree(name) if name != "scheduler" else process.terminate()
                except psutil.NoSuchProcess:
                    pass
                process.wait(timeout=30)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    reason = namespaces_work()
    if reason:
        pytest.skip(reason)
    cluster = DaskCluster(hidden=tmp_path_factory.getbasetemp())
    try:
        cluster.start(workers=2)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def team_stores(postgres_cluster, s3_server):
    """A PostgreSQL database and an S3 bucket for this module's labs."""
    bucket = s3_server.create_bucket()
    return {
        "store_url": postgres_cluster.create_database(),
        "artifact_root": f"s3://{bucket}/artifacts",
        "artifact_storage_options": s3_server.storage_options,
    }


@pytest.fixture
def jp_server_config(team_stores, dask_cluster):
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyterlab_mlops": True},
            "allow_unauthenticated_access": False,
        },
        "MLOps": {
            **team_stores,
            "executor_class": DASK,
            "dask_scheduler_address": dask_cluster.address,
            "run_heartbeat_timeout": HEARTBEAT_TIMEOUT,
        },
    }


TRAIN_PARAMETERS = "C = 1.0\nlabel = 'baseline'"


def train_notebook(root: Path) -> Path:
    """Reads its declared input ``data.csv`` next to it, trains, logs, saves a skops model; and
    reports what it sees of the machine it ran on."""
    lab_notebook = str(root / "team" / "train.ipynb")
    cells = [
        "import os, socket, pandas as pd, skops.io as sio\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "import jupyterlab_mlops as mlops\n"
        "frame = pd.read_csv('data.csv')\n"
        "model = LogisticRegression(C=C).fit(frame[['a', 'b']], frame['y'])\n"
        "mlops.log_metric('accuracy', float(model.score(frame[['a', 'b']], frame['y'])))\n"
        "mlops.log_metric('rows', len(frame))\n"
        "sio.dump(model, 'model.skops')\n"
        "mlops.log_artifact('model.skops')",
        "mlops.log_output('host', socket.gethostname())\n"
        "mlops.log_output('cwd', os.getcwd())\n"
        f"mlops.log_output('sees_lab_notebook', os.path.exists({lab_notebook!r}))\n"
        "print('trained', label)",
    ]
    path = write_notebook(root / "team" / "train.ipynb", cells, parameters=TRAIN_PARAMETERS)
    rows = ["a,b,y"] + [f"{i},{(i * 7) % 5},{int(i % 3 == 0)}" for i in range(30)]
    (root / "team" / "data.csv").write_text("\n".join(rows) + "\n")
    return path


def sleepy_notebook(root: Path) -> Path:
    return write_notebook(
        root / "sleepy.ipynb",
        [
            "import os, time, jupyterlab_mlops as mlops\n"
            "mlops.log_output('kernel_pid', os.getpid())",
            "time.sleep(seconds)",
        ],
        parameters="seconds = 600",
    )


def sweep_notebook(root: Path) -> Path:
    return write_notebook(
        root / "tiny.ipynb",
        ["import jupyterlab_mlops as mlops\nmlops.log_metric('score', -((x - 7) ** 2))"],
        parameters="x = 0",
    )


async def run_of(jp_fetch, run_id: str) -> dict:
    return (await fetch_json(jp_fetch, "runs", run_id))[1]


async def until(jp_fetch, run_id: str, predicate, cluster: DaskCluster, timeout=DEADLINE):
    """Poll the run over REST until ``predicate(run)`` holds; the run."""
    deadline = time.monotonic() + timeout
    while True:
        run = await run_of(jp_fetch, run_id)
        if predicate(run):
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run never got there: {run}\n{cluster.logs()}")
        await asyncio.sleep(0.3)


def finished(run: dict) -> bool:
    return run["status"] in TERMINAL_STATES


async def test_a_notebook_with_a_declared_input_runs_on_a_worker_without_the_lab_disk(
    jp_fetch, jp_root_dir, dask_cluster, team_stores
):
    train_notebook(jp_root_dir)
    code, run = await fetch_json(
        jp_fetch,
        "runs",
        method="POST",
        body={
            "notebook_path": "team/train.ipynb",
            "parameters": {"C": 0.5, "label": "remote"},
            "input_files": ["team/data.csv"],
        },
    )
    assert code == 201 and run["executor"] == "dask"
    final = await until(jp_fetch, run["id"], finished, dask_cluster)
    assert final["status"] == "succeeded", (final, dask_cluster.logs())
    assert final["metrics"]["rows"] == 30.0 and 0 < final["metrics"]["accuracy"] <= 1
    assert final["parameters"] == {"C": 0.5, "label": "remote"}
    # It ran on a "machine" of its own that could not see the lab's files, in a private
    # workspace under its own TMPDIR (not the lab's root, not its cwd).
    outputs = final["outputs"]
    assert final["host"] in ("dask-w1", "dask-w2") and outputs["host"] == final["host"]
    assert outputs["sees_lab_notebook"] is False
    assert outputs["cwd"].startswith(str(dask_cluster.homes[final["host"]] / "tmp"))
    assert outputs["cwd"].endswith("/team") and str(jp_root_dir) not in outputs["cwd"]
    # the input file went by its sha256 through the artifact store
    data_sha = sha256_bytes((jp_root_dir / "team" / "data.csv").read_bytes())
    assert final["provenance"]["inputs"]["team/data.csv"] == data_sha
    # The output notebook is in the artifact store only, until the lab opens it.
    assert final["output_notebook_path"] is None
    assert not (jp_root_dir / "mlops-runs").exists()
    code, opened = await fetch_json(jp_fetch, "runs", run["id"], "output", method="POST")
    assert code == 200 and opened["output_notebook_path"] == f"mlops-runs/{run['id']}/train.ipynb"
    output = json.loads((jp_root_dir / opened["output_notebook_path"]).read_text())
    assert "trained remote" in json.dumps(output["cells"])
    # Its live output came through the store, not a file on the lab's disk.
    code, live = await fetch_json(jp_fetch, "runs", run["id"], "live")
    assert code == 200 and live["status"] == "succeeded"
    assert "trained remote" in json.dumps([c["outputs"] for c in live["cells"]])
    assert (
        sha256_bytes((jp_root_dir / opened["output_notebook_path"]).read_bytes())
        == (final["output_notebook_sha256"])
    )
    again = await run_of(jp_fetch, run["id"])
    assert again["output_notebook_path"] == opened["output_notebook_path"]

    # Register the model it produced and load it back, verified by its sha256.
    assert [a["name"] for a in final["artifacts"]] == ["model.skops"]
    code, version = await fetch_json(
        jp_fetch,
        "models",
        "team-model",
        "versions",
        method="POST",
        body={"run_id": run["id"], "artifact": "model.skops"},
    )
    assert code == 201 and version["version"] == 1 and version["run_id"] == run["id"]
    response = await jp_fetch("mlops", "api", "models", "team-model", "versions", "1", "artifact")
    assert hashlib.sha256(response.body).hexdigest() == version["artifact_sha256"]
    assert version["artifact_sha256"] == final["artifacts"][0]["sha256"]
    lab = lab_view(jp_root_dir, team_stores)
    model = lab.registry.load_model("team-model/1")
    assert type(model).__name__ == "LogisticRegression"
    lab.stop()


def lab_view(root: Path, stores: dict) -> MLOps:
    """Another process's view of the same PostgreSQL store and bucket."""
    return MLOps(root_dir=str(root), run_scheduler=False, **stores)


async def test_cancel_reaches_the_kernel_on_the_remote_worker(jp_fetch, jp_root_dir, dask_cluster):
    sleepy_notebook(jp_root_dir)
    _, run = await fetch_json(
        jp_fetch, "runs", method="POST", body={"notebook_path": "sleepy.ipynb"}
    )
    running = await until(
        jp_fetch,
        run["id"],
        lambda r: r["status"] == "running" and (r.get("outputs") or {}).get("kernel_pid"),
        dask_cluster,
    )
    kernel_pid = running["outputs"]["kernel_pid"]
    assert not gone(kernel_pid)
    code, cancelled = await fetch_json(jp_fetch, "runs", run["id"], "cancel", method="POST")
    assert code == 200 and cancelled["status"] == "cancelled"
    deadline = time.monotonic() + DEADLINE
    while not gone(kernel_pid):
        assert time.monotonic() < deadline, dask_cluster.logs()
        await asyncio.sleep(0.3)
    final = await run_of(jp_fetch, run["id"])
    assert final["status"] == "cancelled"
    code, error = await error_of(jp_fetch, "runs", run["id"], "cancel", method="POST")
    assert code == 409


async def test_a_timeout_reaches_the_kernel_on_the_remote_worker(
    jp_fetch, jp_root_dir, dask_cluster
):
    sleepy_notebook(jp_root_dir)
    _, run = await fetch_json(
        jp_fetch, "runs", method="POST", body={"notebook_path": "sleepy.ipynb", "timeout": 15}
    )
    running = await until(
        jp_fetch,
        run["id"],
        lambda r: finished(r) or (r.get("outputs") or {}).get("kernel_pid"),
        dask_cluster,
    )
    final = await until(jp_fetch, run["id"], finished, dask_cluster)
    assert final["status"] == "timed_out" and final["status_reason"] == "timed out after 15s"
    pid = (running.get("outputs") or {}).get("kernel_pid")
    assert pid, running  # it was running its sleep when the timeout came
    deadline = time.monotonic() + DEADLINE
    while not gone(pid):
        assert time.monotonic() < deadline, dask_cluster.logs()
        await asyncio.sleep(0.3)


@pytest.mark.timeout(300 + 10 * SWEEP_SIZE)  # the 100 runs take longer than the default
async def test_a_sweep_on_two_workers_records_every_run_once(jp_fetch, jp_root_dir, dask_cluster):
    sweep_notebook(jp_root_dir)
    grid = {"x": list(range(SWEEP_SIZE))}
    started = time.monotonic()
    code, sweep = await fetch_json(
        jp_fetch,
        "runs",
        "sweeps",
        method="POST",
        body={"notebook_path": "tiny.ipynb", "grid": grid, "metric": "score", "mode": "max"},
    )
    assert code == 201 and sweep["total"] == SWEEP_SIZE
    deadline = time.monotonic() + DEADLINE + 8 * SWEEP_SIZE
    while True:
        _, group = await fetch_json(jp_fetch, "runs", "sweeps", sweep["id"])
        if group["status"] == "finished":
            break
        reasons = [r["status_reason"] for r in group["runs"] if r["status"] == "failed"]
        assert time.monotonic() < deadline, (group["counts"], reasons, dask_cluster.logs())
        await asyncio.sleep(1.0)
    elapsed = time.monotonic() - started
    print(f"sweep of {SWEEP_SIZE} runs on 2 Dask workers: {elapsed:.1f} s")
    runs = group["runs"]
    reasons = [r["status_reason"] for r in runs if r["status"] != "succeeded"]
    assert group["counts"] == {"succeeded": SWEEP_SIZE}, (group["counts"], reasons)
    assert len({r["id"] for r in runs}) == SWEEP_SIZE
    assert sorted(r["parameters"]["x"] for r in runs) == list(range(SWEEP_SIZE))
    assert {r["host"] for r in runs} <= {"dask-w1", "dask-w2"}
    best_x = 7 if SWEEP_SIZE > 7 else SWEEP_SIZE - 1
    assert group["best"]["parameters"] == {"x": best_x}
    assert group["best"]["value"] == -((best_x - 7) ** 2)
    # each combination executed exactly once: one logged value per run
    for item in runs:
        detail = await run_of(jp_fetch, item["id"])
        assert [m["key"] for m in detail["metric_history"]] == ["score"], detail


async def test_a_killed_worker_leaves_its_run_failed_by_the_missing_heartbeat(
    jp_fetch, jp_root_dir, dask_cluster
):
    """Last in this module: it kills one of the two workers."""
    sleepy_notebook(jp_root_dir)
    _, run = await fetch_json(
        jp_fetch, "runs", method="POST", body={"notebook_path": "sleepy.ipynb"}
    )
    running = await until(
        jp_fetch,
        run["id"],
        lambda r: r["status"] == "running" and (r.get("outputs") or {}).get("kernel_pid"),
        dask_cluster,
    )
    killed = dask_cluster.kill_tree(running["host"])
    assert running["outputs"]["kernel_pid"] in killed  # the kernel went with its machine
    final = await until(jp_fetch, run["id"], finished, dask_cluster, timeout=HEARTBEAT_TIMEOUT * 6)
    assert final["status"] == "failed"
    assert final["status_reason"].startswith("worker lost: no heartbeat for "), final
    seconds = float(final["status_reason"].split("for ")[1].split(" s")[0])
    assert seconds >= HEARTBEAT_TIMEOUT
