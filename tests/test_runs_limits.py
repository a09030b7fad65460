"""Memory and CPU limits of runs, and the usage every run records (real workers and kernels)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _runs_support import RUN_DEADLINE, gone, ok_notebook, write_notebook

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.errors import InvalidInput
from jupyterlab_mlops.runs.limits import (
    Cgroup,
    RunLimits,
    check_cpus,
    check_limits,
    format_bytes,
    parse_memory,
)

MiB = 1024 * 1024


def test_memory_sizes_parse_strictly():
    assert parse_memory("200MiB") == 200 * MiB
    assert parse_memory("2GiB") == 2 * 1024 * MiB
    assert parse_memory(" 1.5 GB ") == 1_500_000_000
    assert parse_memory(64 * MiB) == 64 * MiB
    assert parse_memory(None) is None and parse_memory("") is None
    for bad in ("lots", "12 parsecs", "-1GiB", "1KiB", True, 1.5, [1]):
        with pytest.raises(InvalidInput) as error:
            parse_memory(bad)
        assert error.value.details == {"field": "memory"}, bad


def test_cpus_and_sizes_for_people():
    assert check_cpus(2) == 2.0 and check_cpus(0.5) == 0.5 and check_cpus(None) is None
    for bad in (-1, "two", float("nan"), True):
        with pytest.raises(InvalidInput) as error:
            check_cpus(bad)
        assert error.value.details == {"field": "cpus"}
    assert format_bytes(200 * MiB) == "200 MiB"
    assert format_bytes(1536 * MiB) == "1.5 GiB"
    assert format_bytes(512) == "512 B"
    assert RunLimits(cpus=1.5).cpu_list([0, 1, 2, 3]) == [0, 1]
    assert RunLimits(cpus=8).cpu_list([0, 1]) == [0, 1]
    defaults = RunLimits(memory_bytes=300 * MiB, cpus=1)
    assert check_limits("200MiB", None, defaults) == RunLimits(200 * MiB, 1.0)
    assert check_limits(None, None, defaults) == defaults


def test_cgroup_v2_is_detected_from_the_hierarchy(tmp_path):
    assert not Cgroup.available(tmp_path)  # no unified hierarchy here
    (tmp_path / "cgroup.subtree_control").write_text("cpuset cpu io memory pids\n")
    assert Cgroup.available(tmp_path)
    (tmp_path / "cgroup.subtree_control").write_text("cpu pids\n")
    assert not Cgroup.available(tmp_path)


@pytest.fixture(scope="module")
def mlops(tmp_path_factory):
    root = tmp_path_factory.mktemp("limits")
    instance = MLOps(root_dir=str(root), max_concurrent_runs=2)
    yield instance
    instance.stop()


def test_a_run_over_its_memory_limit_fails_for_memory_and_its_kernel_is_gone(mlops):
    root = Path(mlops.root_dir)
    write_notebook(
        root / "hungry.ipynb",
        [
            "import os, pathlib\npathlib.Path('hungry.pid').write_text(str(os.getpid()))",
            "block = bytearray(1024 ** 3)\nblock[::4096] = b'x' * len(block[::4096])",
            "print('never')",
        ],
    )
    run = mlops.runs.submit("hungry.ipynb", memory="200MiB")
    assert run["memory_limit_bytes"] == 200 * MiB
    final = mlops.runs.wait(run["id"], timeout=RUN_DEADLINE)
    assert final["status"] == "failed", final
    assert final["status_reason"] == "out of memory (limit 200 MiB)"
    assert gone(int((root / "hungry.pid").read_text()))
    assert final["peak_memory_bytes"] and final["peak_memory_bytes"] < 1024 * MiB


def test_every_run_records_its_peak_memory_and_cpu_and_cpus_limit_the_kernel(mlops):
    root = Path(mlops.root_dir)
    ok_notebook(root)
    write_notebook(
        root / "cpus.ipynb",
        [
            "import os, pathlib\n"
            "pathlib.Path('cpus.txt').write_text(str(len(os.sched_getaffinity(0))))\n"
            "block = bytearray(64 * 1024 ** 2)\nblock[::4096] = b'x' * len(block[::4096])"
        ],
    )
    plain = mlops.runs.submit("ok.ipynb")
    limited = mlops.runs.submit("cpus.ipynb", cpus=1, memory="1GiB")
    plain = mlops.runs.wait(plain["id"], timeout=RUN_DEADLINE)
    limited = mlops.runs.wait(limited["id"], timeout=RUN_DEADLINE)
    assert plain["status"] == limited["status"] == "succeeded", (plain, limited)
    assert plain["peak_memory_bytes"] > 10 * MiB and plain["cpu_seconds"] > 0
    assert plain["memory_limit_bytes"] is None and plain["cpus"] is None
    assert (root / "cpus.txt").read_text() == "1"
    assert limited["cpus"] == 1.0
    assert limited["peak_memory_bytes"] > 64 * MiB  # the kernel touched 64 MiB
    listed = {r["id"]: r for r in mlops.runs.list()["items"]}
    assert listed[limited["id"]]["peak_memory_bytes"] == limited["peak_memory_bytes"]


def test_configured_defaults_apply_and_a_run_may_override_them(mlops):
    ok_notebook(Path(mlops.root_dir))
    mlops.run_memory_limit = "3GiB"
    mlops.run_cpus = 1.0
    try:
        run = mlops.runs.submit("ok.ipynb", memory="512MiB")
        assert (run["memory_limit_bytes"], run["cpus"]) == (512 * MiB, 1.0)
        mlops.runs.wait(run["id"], timeout=RUN_DEADLINE)
    finally:
        mlops.run_memory_limit = ""
        mlops.run_cpus = 0.0
