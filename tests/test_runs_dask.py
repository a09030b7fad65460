"""The Dask executor against a real ``distributed.LocalCluster`` started here."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from _runs_support import RUN_DEADLINE, failing_notebook, ok_notebook

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.errors import Unavailable

distributed = pytest.importorskip("distributed")

DASK = "jupyterlab_mlops.runs.executors.dask.DaskExecutor"


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as local:
        yield local


def test_dask_executor_runs_notebooks_on_the_cluster(cluster, tmp_path):
    ok_notebook(tmp_path)
    failing_notebook(tmp_path)
    address = cluster.scheduler_address
    mlops = MLOps(root_dir=str(tmp_path), executor_class=DASK, dask_scheduler_address=address)
    ok = mlops.runs.submit("ok.ipynb", {"x": 5})
    bad = mlops.runs.submit("fails.ipynb")
    assert ok["executor"] == "dask"
    final = mlops.runs.wait(ok["id"], timeout=RUN_DEADLINE)
    assert final["status"] == "succeeded", final
    assert final["metrics"] == {"score": 10.0}
    assert final["host"] == socket.gethostname() and final["pid"]
    assert final["output_notebook_path"] is None  # the worker has no lab disk to write it to
    opened = mlops.runs.materialize_output(final["id"])
    assert (Path(tmp_path) / opened).is_file()
    failed = mlops.runs.wait(bad["id"], timeout=RUN_DEADLINE)
    assert failed["status"] == "failed"
    assert failed["error"]["ename"] == "ValueError"
    mlops.stop()


def test_unreachable_scheduler_is_503_and_records_nothing(tmp_path):
    ok_notebook(tmp_path)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mlops = MLOps(
        root_dir=str(tmp_path),
        executor_class=DASK,
        dask_scheduler_address=f"tcp://127.0.0.1:{port}",
    )
    with pytest.raises(Unavailable, match="cannot reach the Dask scheduler"):
        mlops.runs.submit("ok.ipynb")
    assert mlops.runs.list()["total"] == 0
    mlops.stop()
