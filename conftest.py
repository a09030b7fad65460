"""Shared pytest set-up: a real Jupyter server (pytest-jupyter) with our extension enabled."""

import os

import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server",)


@pytest.fixture
def jp_server_config(jp_server_config):
    return {
        "ServerApp": {
            "jpserver_extensions": {"jupyterlab_mlops": True},
            "allow_unauthenticated_access": False,
        }
    }


@pytest.fixture(autouse=True)
def _isolated_mlops_environment():
    """The extension exports MLOPS_* for its kernels; keep that from leaking between tests."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("MLOPS_")}
    for key in saved:
        del os.environ[key]
    yield
    for key in [k for k in os.environ if k.startswith("MLOPS_")]:
        del os.environ[key]
    os.environ.update(saved)


@pytest.fixture(scope="session")
def postgres_cluster():
    """One real PostgreSQL server for the session (see tests/engines.py), stopped at the end."""
    import shutil
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "tests"))
    from engines import start_postgres

    cluster = start_postgres()
    if isinstance(cluster, str):
        pytest.skip(cluster)
    yield cluster
    cluster.stop()
    shutil.rmtree(cluster.directory, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """The store under test: SQLite in the test's directory, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / '.mlops' / 'mlops.db'}"
    return request.getfixturevalue("postgres_cluster").create_database()


@pytest.fixture(scope="session")
def s3_server():
    """An S3-compatible server (moto, a stand-in for S3) on loopback for the session."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "tests"))
    from engines import start_s3

    server = start_s3()
    if isinstance(server, str):
        pytest.skip(server)
    yield server
    server.stop()
