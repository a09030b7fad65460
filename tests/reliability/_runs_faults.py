"""Shared pieces of the runs/store half of the reliability suite: hostile paths, held locks.

Imports the helpers of ``tests/`` (``_runs_support``, ``polling``) for the suites next to it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

TESTS = str(Path(__file__).resolve().parents[1])
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from _runs_support import (  # noqa: E402
    error_of,
    fetch_json,
    ok_notebook,
    wait_finished,
    write_notebook,
)
from polling import wait_for  # noqa: E402

__all__ = [
    "JupyterServer",
    "HostilePaths",
    "error_of",
    "fetch_json",
    "hold_write_lock",
    "integrity_ok",
    "ok_notebook",
    "store_path",
    "until",
    "wait_finished",
    "wait_for",
    "write_notebook",
]

LONG_NAME = "n" * 300 + ".ipynb"  # one component over NAME_MAX (255 bytes)


class HostilePaths:
    """Paths under ``root`` no file system or notebook reader should take: a component over 255
    bytes, a symlink loop, a FIFO and a directory both named ``*.ipynb``."""

    def __init__(self, root: Path):
        self.root = root
        os.symlink("loop-b.ipynb", root / "loop-a.ipynb")
        os.symlink("loop-a.ipynb", root / "loop-b.ipynb")
        os.mkfifo(root / "fifo.ipynb")
        (root / "folder.ipynb").mkdir()
        os.mkfifo(root / "fifo.yaml")
        (root / "folder.yaml").mkdir()

    notebooks = {
        "long": LONG_NAME,
        "loop": "loop-a.ipynb",
        "loop_dir": "loop-a.ipynb/x.ipynb",
        "fifo": "fifo.ipynb",
        "directory": "folder.ipynb",
    }
    pipelines = {
        "long": "p" * 300 + ".pipeline.yaml",
        "loop": "loop-a.ipynb",
        "fifo": "fifo.yaml",
        "directory": "folder.yaml",
    }


def store_path(root: Path) -> Path:
    """The SQLite file of a server started on ``root`` with the default store."""
    return root / ".mlops" / "mlops.db"


def hold_write_lock(database: Path, seconds: float) -> subprocess.Popen:
    """Another process taking SQLite's write lock (``BEGIN IMMEDIATE``) for ``seconds``; returns
    once the lock is held (the child prints ``locked``)."""
    code = textwrap.dedent(
        f"""
        import sqlite3, sys, time
        db = sqlite3.connect({str(database)!r}, timeout=60, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        print("locked", flush=True)
        time.sleep({seconds})
        db.execute("ROLLBACK")
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "locked"
    return child


def integrity_ok(database: Path) -> bool:
    with sqlite3.connect(database) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def until(predicate, timeout: float = 180.0) -> None:
    """``wait_for`` for async tests: poll without blocking the server's event loop."""
    import asyncio
    import time

    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, f"condition not met within {timeout}s"
        await asyncio.sleep(0.1)


# -- a Jupyter server in its own process (to kill it, or to call it synchronously) --------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterServer:
    """``jupyter server`` with our extension in its own process, on ``root``."""

    token = "reliability-token"

    def __init__(self, root: Path):
        self.root = root
        self.port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                f"--port={self.port}",
                "--ip=127.0.0.1",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={root}",
                "--ServerApp.jpserver_extensions={'jupyterlab_mlops': True}",
                "--ServerApp.open_browser=False",
                "--allow-root",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(root / "server.log", "ab"),  # noqa: SIM115 - the child owns it
        )
        wait_for(self._up, timeout=120)

    def _up(self) -> bool:
        try:
            self.call("GET", "health")
            return True
        except (OSError, urllib.error.URLError):
            return False

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/mlops/api/{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
