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
