"""Tracking from inside a notebook: ``mlops.log_metric("auc", 0.91)``.

In a batch run the worker sets ``MLOPS_RUN_ID`` and everything attaches to that run. Outside a
run (a live kernel in the lab, a script) the first call creates an *interactive* run for the
notebook — found from ``__session__`` / ``JPY_SESSION_NAME``, which jupyter-server sets for its
kernels — so nothing logged is lost; it is closed when the kernel exits, or earlier with
:func:`end_interactive_run`. Like the rest of the facade it talks to
:func:`~jupyterlab_mlops.facade.shared_mlops`, one ``MLOps`` per store environment, so code
that switches stores (``MLOPS_ROOT_DIR`` …) gets one interactive run per store.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from pathlib import Path
from typing import Any

from . import STORE_VARIABLES, shared_mlops

__all__ = [
    "current_run_id",
    "end_interactive_run",
    "log_artifact",
    "log_metric",
    "log_param",
    "notebook_path",
]

_lock = threading.Lock()
# store environment -> (the MLOps of that store, the interactive run opened in it)
_interactive: dict[tuple, tuple[Any, str]] = {}
_exit_hook = False


def _store_key() -> tuple:
    return tuple(os.environ.get(name) for name in STORE_VARIABLES)


def notebook_path() -> str:
    """The path of the notebook this kernel belongs to, or a sensible stand-in name."""
    session = None
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            session = shell.user_ns.get("__session__")
    except ImportError:
        pass
    session = session or os.environ.get("JPY_SESSION_NAME")
    root = Path(shared_mlops().root_dir).resolve()
    if session:
        candidate = Path(session)
        if not candidate.is_absolute():
            candidate = root / candidate
        candidate = candidate.resolve()
        if candidate == root or root in candidate.parents:
            return candidate.relative_to(root).as_posix()
        return candidate.name
    script = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    if script and not script.startswith(("ipykernel", "-")) and script.endswith(".py"):
        return script
    return "interactive-session"


def current_run_id() -> str:
    """The run that logs attach to: ``MLOPS_RUN_ID`` in a batch run, else an interactive run."""
    global _exit_hook
    run_id = os.environ.get("MLOPS_RUN_ID")
    if run_id:
        return run_id
    key = _store_key()
    with _lock:
        if key not in _interactive:
            mlops = shared_mlops()
            run = mlops.runs.start_interactive(notebook_path(), user=mlops.current_user())
            _interactive[key] = (mlops, run["id"])
            if not _exit_hook:
                atexit.register(end_interactive_run)
                _exit_hook = True
        return _interactive[key][1]


def end_interactive_run() -> list[str]:
    """Close the interactive runs this process opened and forget them; their ids.

    The next log outside a batch run starts a new interactive run. Called at interpreter exit;
    call it yourself to end a session's run early (or, in tests, to start from a clean slate).
    """
    with _lock:
        opened = list(_interactive.values())
        _interactive.clear()
    for mlops, run_id in opened:
        try:
            mlops.runs.close_interactive(run_id)
        except Exception:  # the store may be gone at interpreter exit; recovery marks it later
            pass
    return [run_id for _mlops, run_id in opened]


def log_metric(key: str, value: float, step: int | None = None) -> dict[str, Any]:
    """Record a metric value on the current run (``step`` defaults to 0, 1, 2, … per key)."""
    return shared_mlops().runs.log_metric(current_run_id(), key, value, step)


def log_param(key: str, value: Any) -> dict[str, Any]:
    """Record a parameter (any value; non-strings are stored as JSON) on the current run."""
    return shared_mlops().runs.log_param(current_run_id(), key, value)


def log_output(key: str, value: Any) -> dict[str, Any]:
    """Declare an output of this run (a JSON value) that later pipeline steps read as
    ``${steps.<this step>.outputs.<key>}``."""
    return shared_mlops().runs.log_output(current_run_id(), key, value)


def log_artifact(path: str | os.PathLike, name: str | None = None) -> dict[str, Any]:
    """Store a file (by sha256) and attach it to the current run."""
    return shared_mlops().runs.log_artifact(current_run_id(), path, name)
