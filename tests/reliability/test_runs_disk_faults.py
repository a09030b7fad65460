"""Disks that refuse: a full artifact root (a 2 MiB tmpfs), a read-only store (a tmpfs remounted
read-only), a corrupted artifact; and parameters too big for a list page or a request.

Needs ``mount`` (the tests run as root in CI); skipped, saying so, where it is not permitted.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
from _runs_faults import error_of, fetch_json, ok_notebook, wait_finished, write_notebook


def _mount_tmpfs(path: Path, size: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here: {result.stderr.strip()}")


def _remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


@pytest.fixture
def disks(tmp_path_factory):
    base = tmp_path_factory.mktemp("disks")
    mounts = {"store": base / "store", "artifacts": base / "artifacts"}
    _mount_tmpfs(mounts["store"], "16m")
    try:
        _mount_tmpfs(mounts["artifacts"], "2m")
    except BaseException:
        subprocess.run(["umount", str(mounts["store"])])
        raise
    yield mounts
    for path in mounts.values():
        subprocess.run(["umount", "-l", str(path)])


@pytest.fixture
def jp_server_config(jp_server_config, disks):
    return {
        **jp_server_config,
        "MLOps": {
            "store_url": f"sqlite:///{disks['store'] / 'mlops.db'}",
            "artifact_root": str(disks["artifacts"] / "store"),
        },
    }


def _stored(artifacts: Path) -> dict[Path, str]:
    return {p: p.name for p in (artifacts / "store" / "sha256").rglob("*") if p.is_file()}


def _all_verify(artifacts: Path) -> bool:
    return all(
        hashlib.sha256(p.read_bytes()).hexdigest() == sha for p, sha in _stored(artifacts).items()
    )


def _big_notebook(path: Path, size: int) -> None:
    write_notebook(path, ["print('big')"])
    nb = json.loads(path.read_text())
    nb["cells"][0]["source"] = os.urandom(size // 2).hex()
    path.write_text(json.dumps(nb))


async def test_a_full_artifact_root_is_a_507_nothing_half_written_corruption_refused(
    jp_fetch, jp_root_dir, disks
):
    ok_notebook(jp_root_dir)
    _, first = await fetch_json(jp_fetch, "runs", method="POST", body={"notebook_path": "ok.ipynb"})
    assert (await wait_finished(jp_fetch, first["id"]))["status"] == "succeeded"
    before = _stored(disks["artifacts"])
    _, page = await fetch_json(jp_fetch, "runs")
    filler = disks["artifacts"] / "filler"
    filler.write_bytes(b"\0" * (1024 * 1024 + 512 * 1024))  # leaves less than the notebook
    _big_notebook(jp_root_dir / "big.ipynb", 700 * 1024)
    code, error = await error_of(
        jp_fetch, "runs", method="POST", body={"notebook_path": "big.ipynb"}
    )
    assert code == 507, error
    assert error["code"] == "insufficient_storage" and "No space left" in error["message"]
    # Nothing half-written: no run recorded, no temporary file, every artifact still verifies.
    _, after = await fetch_json(jp_fetch, "runs")
    assert after["total"] == page["total"]
    assert _stored(disks["artifacts"]) == before
    assert not [
        p for p in (disks["artifacts"] / "store").rglob("*") if "tmp" in p.name and p.is_file()
    ]
    assert _all_verify(disks["artifacts"])
    filler.unlink()
    code, run = await fetch_json(
        jp_fetch, "runs", method="POST", body={"notebook_path": "big.ipynb"}
    )
    assert code == 201
    await fetch_json(jp_fetch, "runs", run["id"], "cancel", method="POST")

    # A corrupted artifact is refused, and not written under the root.
    final = await wait_finished(jp_fetch, first["id"])
    sha = final["output_notebook_sha256"]
    stored = disks["artifacts"] / "store" / "sha256" / sha[:2] / sha
    stored.write_bytes(stored.read_bytes().replace(b"x is", b"x IS"))
    code, error = await error_of(jp_fetch, "runs", first["id"], "output")
    assert code == 422 and error["code"] == "integrity_error"
    output = jp_root_dir / final["output_notebook_path"]
    output.unlink()
    code, error = await error_of(jp_fetch, "runs", first["id"], "output", method="POST")
    assert code == 422 and error["code"] == "integrity_error"
    assert not output.exists()


def test_a_read_only_store_is_a_clear_503_and_cli_error(tmp_path, disks):
    """The store's disk turns read-only between two processes (a remount cannot happen under a
    process holding the database open for writing: the kernel refuses it as busy)."""
    import sys

    from jupyterlab_mlops.app import MLOps
    from jupyterlab_mlops.errors import StoreUnavailable

    store_url = f"sqlite:///{disks['store'] / 'mlops.db'}"
    artifacts = str(disks["artifacts"] / "store")
    ok_notebook(tmp_path)
    mlops = MLOps(root_dir=str(tmp_path), store_url=store_url, artifact_root=artifacts)
    mlops.db.upgrade()
    mlops.stop()
    mlops.db.dispose()
    _remount(disks["store"], "ro")
    try:
        again = MLOps(root_dir=str(tmp_path), store_url=store_url, artifact_root=artifacts)
        with pytest.raises(StoreUnavailable) as caught:
            again.runs.submit("ok.ipynb")
        assert caught.value.status == 503 and caught.value.code == "store_read_only"
        assert "read-only" in caught.value.message
        env = {**os.environ, "MLOPS_STORE_URL": store_url, "MLOPS_ARTIFACT_ROOT": artifacts}
        result = subprocess.run(
            [sys.executable, "-m", "jupyterlab_mlops.cli", "runs", "list"],
            cwd=tmp_path,
            env={**env, "MLOPS_ROOT_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 1, result
        assert "read-only" in result.stderr and "Traceback" not in result.stderr
    finally:
        _remount(disks["store"], "rw")


async def test_list_pages_summarise_big_parameters_and_the_detail_has_them_whole(
    jp_fetch, jp_root_dir, disks
):
    write_notebook(jp_root_dir / "p.ipynb", ["print(len(blob))"], parameters="blob = ''")
    blob = "b" * (1024 * 1024)
    code, run = await fetch_json(
        jp_fetch,
        "runs",
        method="POST",
        body={"notebook_path": "p.ipynb", "parameters": {"blob": blob}},
    )
    assert code == 201
    response = await jp_fetch("mlops", "api", "runs")
    assert len(response.body) < 20_000
    listed = json.loads(response.body)["items"][0]
    assert listed["parameters_truncated"] is True
    assert listed["parameters"]["blob"].startswith("b" * 200 + "…[")
    _, detail = await fetch_json(jp_fetch, "runs", run["id"])
    assert detail["parameters"]["blob"] == blob and detail["parameters_truncated"] is False
    # Past c.MLOps.max_request_bytes (2 MiB): 413, nothing recorded.
    code, error = await error_of(
        jp_fetch,
        "runs",
        method="POST",
        body={"notebook_path": "p.ipynb", "parameters": {"blob": "b" * (3 * 1024 * 1024)}},
    )
    assert code == 413
    _, page = await fetch_json(jp_fetch, "runs")
    assert page["total"] == 1
    await fetch_json(jp_fetch, "runs", run["id"], "cancel", method="POST")
    # Schedules: the list cuts, the detail has the whole value.
    code, schedule = await fetch_json(
        jp_fetch,
        "schedules",
        method="POST",
        body={"notebook_path": "p.ipynb", "parameters": {"blob": blob}, "cron": "0 3 * * *"},
    )
    assert code == 201
    _, schedules = await fetch_json(jp_fetch, "schedules")
    assert schedules["items"][0]["parameters"]["blob"].startswith("b" * 200 + "…[")
    _, whole = await fetch_json(jp_fetch, "schedules", schedule["id"])
    assert whole["parameters"]["blob"] == blob
