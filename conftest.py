"""Shared pytest set-up: a real Jupyter server (pytest-jupyter) with our extension enabled."""

import os
import sys
from pathlib import Path

import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server",)

# The helper modules (polling, serving_utils, …) are importable from tests/ subdirectories too.
TESTS_DIR = str(Path(__file__).parent / "tests")
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)


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


def _started(start):
    """An engine from tests/engines.py, or a skip saying why it cannot run here."""
    import engines

    engine = getattr(engines, start)()
    if isinstance(engine, str):
        pytest.skip(engine)
    return engine


@pytest.fixture(scope="session")
def postgres_cluster():
    """One real PostgreSQL server for the session (see tests/engines.py), removed at the end."""
    cluster = _started("start_postgres")
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """The store under test: SQLite in the test's directory, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / '.mlops' / 'mlops.db'}"
    return request.getfixturevalue("postgres_cluster").create_database()


@pytest.fixture(scope="session")
def s3_server():
    """An S3-compatible server (moto, a stand-in for S3) on loopback for the session."""
    server = _started("start_s3")
    yield server
    server.stop()
