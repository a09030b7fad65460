"""The embedded default: each run is a local worker subprocess, at most N at once.

The queue is the ``runs`` table (``runs/queue.py``): ``dispatch`` claims the oldest queued run
through the context's ``claim_next``, which starts the worker inside the claiming transaction and
records its pid there, so two processes (the server, a CLI, a finishing worker) can never start
the same run twice or exceed the limit together. Workers run in their own session: they survive
the process that started them, and a finishing worker dispatches the next queued run itself, so
the queue drains even without a server.

In a long-lived process (the server) one *standby* worker is kept warm — started, with papermill
and the store already imported, waiting for a run id on stdin — so a run does not pay for
Python's start-up and imports (seconds on a busy machine). It is started after the first run,
so servers that never run notebooks never pay for it.
"""

from __future__ import annotations

import subprocess
import threading

from ..processes import worker_command
from .base import Executor, ExecutorContext


class LocalExecutor(Executor):
    name = "local"
    claims_for_workers = True

    def __init__(self, context: ExecutorContext):
        super().__init__(context)
        self._children: list[subprocess.Popen] = []
        self._standby: subprocess.Popen | None = None
        self._lock = threading.Lock()

    @property
    def max_concurrent(self) -> int:
        return max(1, int(self.context.max_concurrent))

    def launch(self, run_ids: list[str]) -> None:
        self.dispatch()

    def tick(self) -> None:
        self._reap()
        self.dispatch()

    def dispatch(self) -> list[str]:
        """Start queued runs while fewer than ``max_concurrent`` are running; return their ids."""
        started: list[str] = []
        while True:
            with self._lock:
                run_id = self.context.claim_next(self.name, self.max_concurrent, self._start)
            if run_id is None:
                break
            started.append(run_id)
        if started and self.context.keep_standby:
            self._ensure_standby()
        return started

    def _start(self, run_id: str) -> int:
        """Called by the queue inside the claim: the standby worker if warm, else a new one."""
        child = self._take_standby(run_id) or self._spawn(run_id)
        self._children.append(child)
        return child.pid

    def _spawn(self, run_id: str | None) -> subprocess.Popen:
        with open(self.context.log_path(run_id or "standby"), "ab") as log:
            return subprocess.Popen(
                worker_command(run_id),
                env=self.context.environment_for(run_id),
                cwd=str(self.context.root_dir),
                stdin=subprocess.PIPE if run_id is None else subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _ensure_standby(self) -> None:
        with self._lock:
            if self._standby is None or self._standby.poll() is not None:
                try:
                    self._standby = self._spawn(None)
                except OSError:
                    self._standby = None

    def _take_standby(self, run_id: str) -> subprocess.Popen | None:
        """Hand ``run_id`` to the warm standby worker, if there is a live one."""
        child, self._standby = self._standby, None
        if child is None or child.poll() is not None or child.stdin is None:
            return None
        try:
            child.stdin.write(f"{run_id}\n".encode())
            child.stdin.close()
        except OSError:
            child.kill()
            return None
        return child

    def _reap(self) -> None:
        with self._lock:
            self._children = [c for c in self._children if c.poll() is None]

    def stop(self) -> None:
        with self._lock:
            standby, self._standby = self._standby, None
        if standby is not None and standby.poll() is None:
            standby.kill()
            standby.wait(timeout=10)
        self._reap()
