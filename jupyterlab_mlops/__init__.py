"""jupyterlab-mlops: notebook to production inside JupyterLab.

In a notebook::

    import jupyterlab_mlops as mlops
    mlops.log_metric("auc", 0.91)

The public Python API is loaded lazily so that importing the package (as the server, the CLI
and every kernel do) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from .version import __version__

# public name -> "module:attribute", imported on first use
_PUBLIC_API: dict[str, str] = {
    "log_metric": ".facade.tracking:log_metric",
    "log_param": ".facade.tracking:log_param",
    "log_artifact": ".facade.tracking:log_artifact",
    "log_output": ".facade.tracking:log_output",
    "current_run_id": ".facade.tracking:current_run_id",
    "register_model": ".facade.registry:register_model",
    "load_model": ".facade.registry:load_model",
    "drift_report": ".facade.drift:drift_report",
}

__all__ = ["__version__", *_PUBLIC_API]


def __getattr__(name: str) -> Any:
    target = _PUBLIC_API.get(name)
    if target is None:
        raise AttributeError(f"module 'jupyterlab_mlops' has no attribute {name!r}")
    module_name, attribute = target.split(":")
    value = getattr(importlib.import_module(module_name, __name__), attribute)
    globals()[name] = value
    return value


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyterlab-mlops"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .extension import MLOpsExtension

    return [{"module": "jupyterlab_mlops", "app": MLOpsExtension}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyterlab_mlops`` registers the ``%mlops`` magic."""
    from .magics import MLOpsMagics

    ipython.register_magics(MLOpsMagics)
