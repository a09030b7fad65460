"""Tracking from inside a notebook: ``mlops.log_metric("auc", 0.91)``.

In a batch run the worker sets ``MLOPS_RUN_ID`` and everything attaches to that run. Outside a
run (a live kernel in the lab, a script) the first call creates an *interactive* run for the
notebook — found from ``__session__`` / ``JPY_SESSION_NAME``, which jupyter-server sets for its
kernels — so nothing logged is lost; it is closed when the kernel exits.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_mlops: Any = None
_interactive_run_id: str | None = None


def _get_mlops():
    global _mlops
    if _mlops is None:
        from .app import MLOps, build_mlops

        # Kernels started by the server (and run workers) inherit MLOPS_ROOT_DIR and friends.
        _mlops = MLOps() if os.environ.get("MLOPS_ROOT_DIR") else build_mlops()
    return _mlops


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
    root = Path(_get_mlops().root_dir).resolve()
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
    global _interactive_run_id
    run_id = os.environ.get("MLOPS_RUN_ID")
    if run_id:
        return run_id
    with _lock:
        if _interactive_run_id is None:
            mlops = _get_mlops()
            run = mlops.runs.start_interactive(notebook_path(), user=mlops.current_user())
            _interactive_run_id = run["id"]
            atexit.register(_close_interactive)
        return _interactive_run_id


def _close_interactive() -> None:
    if _interactive_run_id is not None:
        try:
            _get_mlops().runs.close_interactive(_interactive_run_id)
        except Exception:  # the store may be gone at interpreter exit; recovery marks it later
            pass


def log_metric(key: str, value: float, step: int | None = None) -> dict[str, Any]:
    """Record a metric value on the current run (``step`` defaults to 0, 1, 2, … per key)."""
    return _get_mlops().runs.log_metric(current_run_id(), key, value, step)


def log_param(key: str, value: Any) -> dict[str, Any]:
    """Record a parameter (any value; non-strings are stored as JSON) on the current run."""
    return _get_mlops().runs.log_param(current_run_id(), key, value)


def log_artifact(path: str | os.PathLike, name: str | None = None) -> dict[str, Any]:
    """Store a file (by sha256) and attach it to the current run."""
    return _get_mlops().runs.log_artifact(current_run_id(), path, name)
