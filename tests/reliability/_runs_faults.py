"""Shared pieces of the runs/store half of the reliability suite: hostile paths, held locks.

Imports the helpers of ``tests/`` (``_runs_support``, ``polling``) for the suites next to it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
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
