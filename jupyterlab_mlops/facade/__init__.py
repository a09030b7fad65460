"""The Python API for notebooks and scripts: ``import jupyterlab_mlops as mlops``.

An interface, like the REST handlers and the CLI: it turns what a data scientist writes
(``mlops.register_model(model, "churn")``, ``mlops.drift_report("churn@production", df)``) into
calls on the services of one :class:`~jupyterlab_mlops.app.MLOps`, resolving references such as
``"churn@production"`` here so that the domains below take resolved values only.
"""

from __future__ import annotations

import os
import threading
from typing import Any

_lock = threading.Lock()
_cache: dict[tuple, Any] = {}

STORE_VARIABLES = ("MLOPS_ROOT_DIR", "MLOPS_STORE_URL", "MLOPS_ARTIFACT_ROOT")


def shared_mlops():
    """One ``MLOps`` per store configuration of this process (the environment may change
    between calls, as tests and notebooks that switch stores do)."""
    from ..app import build_mlops

    key = tuple(os.environ.get(name) for name in STORE_VARIABLES)
    with _lock:
        if key not in _cache:
            _cache[key] = build_mlops(os.environ.get("MLOPS_ROOT_DIR") or None)
        return _cache[key]
