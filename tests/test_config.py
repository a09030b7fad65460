"""Configuration: traitlets (c.MLOps.*) in the server, MLOPS_* environment overrides."""

import json

import pytest

from jupyterlab_mlops.app import MLOps, build_mlops


@pytest.fixture
def custom_store(tmp_path):
    return tmp_path / "elsewhere" / "team.db", tmp_path / "blobs"


@pytest.fixture
def jp_server_config(custom_store):
    db_path, blobs = custom_store
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyterlab_mlops": True},
            "allow_unauthenticated_access": False,
        },
        "MLOps": {"store_url": f"sqlite:///{db_path}", "artifact_root": str(blobs)},
    }


async def test_server_uses_store_and_artifacts_from_traitlets(jp_fetch, custom_store):
    db_path, blobs = custom_store
    body = json.loads((await jp_fetch("mlops", "api", "health")).body)
    assert body["store"]["url"] == f"sqlite:///{db_path}"
    assert body["artifact_root"] == str(blobs)
    assert db_path.is_file()
    assert blobs.is_dir()


def test_defaults_live_under_the_root(tmp_path):
    mlops = MLOps(root_dir=str(tmp_path))
    assert mlops.resolved_store_url == f"sqlite:///{tmp_path / '.mlops' / 'mlops.db'}"
    assert mlops.resolved_artifact_root == str(tmp_path / ".mlops" / "artifacts")
    assert mlops.executor_class.__name__ == "LocalExecutor"


def test_environment_overrides_config(tmp_path, monkeypatch):
    monkeypatch.setenv("MLOPS_STORE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("MLOPS_MAX_CONCURRENT_RUNS", "7")
    from traitlets.config import Config

    config = Config()
    config.MLOps.store_url = "sqlite:///ignored.db"
    config.MLOps.max_concurrent_runs = 3
    mlops = MLOps(config=config, root_dir=str(tmp_path))
    assert mlops.resolved_store_url == f"sqlite:///{tmp_path / 'env.db'}"
    assert mlops.max_concurrent_runs == 7


def test_config_file_in_working_directory_is_read(tmp_path, monkeypatch):
    (tmp_path / "jupyter_mlops_config.py").write_text("c.MLOps.max_concurrent_runs = 5\n")
    monkeypatch.chdir(tmp_path)
    assert build_mlops(str(tmp_path)).max_concurrent_runs == 5


def test_child_environment_points_at_the_same_store(tmp_path):
    mlops = MLOps(root_dir=str(tmp_path))
    env = mlops.child_environment()
    assert env["MLOPS_STORE_URL"] == mlops.resolved_store_url
    assert env["MLOPS_ROOT_DIR"] == str(tmp_path.resolve())


def test_storage_options_in_the_environment_must_be_a_json_object(tmp_path, monkeypatch):
    from jupyterlab_mlops.app import MLOps
    from jupyterlab_mlops.errors import InvalidInput

    for bad in ("{endpoint: x}", '["a"]'):
        monkeypatch.setenv("MLOPS_ARTIFACT_STORAGE_OPTIONS", bad)
        with pytest.raises(InvalidInput, match="MLOPS_ARTIFACT_STORAGE_OPTIONS"):
            MLOps(root_dir=str(tmp_path))
