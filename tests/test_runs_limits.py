"""Memory and CPU limits of runs, the usage every run records, and the kernel's own environment
(real workers and kernels)."""

from __future__ import annotations

import json
import subprocess
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


# -- kernels and their environments ----------------------------------------------------------


def test_any_installed_kernel_records_its_own_environment(mlops, tmp_path, monkeypatch):
    """A kernelspec on another interpreter (a bare virtualenv of the system Python): the run
    records that interpreter's Python and packages, listed inside it and cached until its
    site-packages change."""
    from jupyterlab_mlops.runs import environments

    system_python = "/usr/bin/python3"
    if not Path(system_python).exists():
        pytest.skip("no system Python to build a second environment from")
    env_dir = tmp_path / "other-env"
    subprocess.run([system_python, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    kernels = tmp_path / "jupyter" / "kernels" / "other"
    kernels.mkdir(parents=True)
    interpreter = str(env_dir / "bin" / "python")
    (kernels / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [interpreter, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Other env",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    ok_notebook(Path(mlops.root_dir))

    def recorded() -> dict:
        checked = mlops.runs.check("ok.ipynb", kernel_name="other")
        assert checked["notebook_path"] == "ok.ipynb"
        run = mlops.runs.submit("ok.ipynb", kernel_name="other", timeout=60)
        mlops.runs.cancel(run["id"])  # the bare env has no ipykernel: only provenance matters
        return mlops.runs.get(run["id"])["provenance"]

    first = recorded()
    assert first["kernel"]["interpreter"] == interpreter
    assert first["python"]["executable"] == interpreter
    assert "pandas" not in first["packages"]  # the server's packages are not the kernel's
    cache_files = list((Path(mlops.root_dir) / ".mlops/cache/environments").glob("*.json"))
    assert len(cache_files) == 1
    assert recorded()["packages"] == first["packages"]

    # Installing a package changes the fingerprint: the next run lists the environment again.
    dist = site / "tiny_pkg-1.2.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny_pkg\nVersion: 1.2\n")
    environments._memory.clear()
    assert recorded()["packages"]["tiny-pkg"] == "1.2"

    with pytest.raises(InvalidInput) as error:
        mlops.runs.submit("ok.ipynb", kernel_name="no-such-kernel")
    assert error.value.details == {"field": "kernel_name"}
    assert "kernel_name 'no-such-kernel'" in error.value.message
