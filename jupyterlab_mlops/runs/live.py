"""Live output: the cells of a running notebook as executed so far, through the store.

The process executing a run (a local worker, a Dask worker on another machine, or the CLI) sees
papermill's in-memory notebook change with every kernel message. :class:`LivePublisher` writes
the cells that changed to the ``run_live_cells`` table at a bounded rate (at most one write every
``interval`` seconds, and a last one when the run ends); a change nobody follows within the
interval is flushed by a timer that hands the write back to the executing thread's event loop,
so the notebook is only ever read where papermill mutates it. Readers (REST, ``runs logs``, the
lab) ask for what changed after the last ``seq`` they saw: every write carries a new ``seq``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from ..store.db import Database
from ..store.models import Run, RunLiveCell

#: seconds between two writes of one run's live cells
PUBLISH_INTERVAL = 0.5
#: a cell's outputs larger than this (JSON bytes) are replaced by a note
MAX_CELL_BYTES = 2 * 1024 * 1024
#: the cells papermill has started (it marks the others "pending")
STARTED = ("running", "completed", "failed")


def cell_payload(position: int, cell: dict[str, Any]) -> dict[str, Any]:
    """The live view of one cell: what the lab and ``runs logs`` render."""
    meta = cell.get("metadata", {})
    outputs = list(cell.get("outputs", []))
    size = len(json.dumps(outputs))
    if size > MAX_CELL_BYTES:
        outputs = [
            {
                "output_type": "stream",
                "name": "stdout",
                "text": f"[{size / 1024**2:.1f} MiB of output: see the output notebook]\n",
            }
        ]
    source = cell.get("source", "")
    return {
        "index": position,
        "cell_type": cell.get("cell_type", "code"),
        "source": "".join(source) if isinstance(source, list) else source,
        "execution_count": cell.get("execution_count"),
        "status": (meta.get("papermill") or {}).get("status", "completed"),
        "injected": "injected-parameters" in meta.get("tags", []),
        "outputs": outputs,
    }


class LiveCells:
    """The ``run_live_cells`` table: written by the executing process, read by everyone."""

    def __init__(self, db: Database):
        self.db = db

    def write(self, run_id: str, seq: int, cells: list[dict[str, Any]]) -> None:
        with self.db.session() as session:
            for cell in cells:
                session.merge(
                    RunLiveCell(run_id=run_id, position=cell["index"], seq=seq, cell=cell)
                )

    def read(self, run_id: str, after: int = 0) -> dict[str, Any]:
        """The cells written after ``seq`` ``after``, in notebook order, with the run's state."""
        with self.db.session() as session:
            run = session.get(Run, run_id)
            if run is None:
                return {}
            rows = session.scalars(
                select(RunLiveCell)
                .where(RunLiveCell.run_id == run_id, RunLiveCell.seq > after)
                .order_by(RunLiveCell.position)
            ).all()
            last = session.scalar(
                select(func.max(RunLiveCell.seq)).where(RunLiveCell.run_id == run_id)
            )
            return {
                "run_id": run_id,
                "status": run.status,
                "cells_total": run.cells_total,
                "seq": max(after, last or 0),
                "cells": [{**row.cell, "seq": row.seq} for row in rows],
            }


class LivePublisher:
    """Publishes one run's changing notebook; called by papermill's engine on every change."""

    def __init__(
        self,
        write: Callable[[int, list[dict[str, Any]]], None],
        *,
        interval: float = PUBLISH_INTERVAL,
        on_error: Callable[[BaseException], None] | None = None,
    ):
        self._write = write
        self.interval = interval
        self._on_error = on_error
        self._nb: dict[str, Any] | None = None
        self._digests: dict[int, str] = {}
        self._seq = 0
        self._last = 0.0
        self._timer: threading.Timer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def changed(self, nb: dict[str, Any]) -> None:
        """The notebook changed (in the thread executing it): publish now or within interval."""
        self._nb = nb
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        wait = self._last + self.interval - time.monotonic()
        if wait <= 0:
            self.publish()
            return
        with self._lock:
            if self._timer is None:
                self._timer = threading.Timer(wait, self._wake)
                self._timer.daemon = True
                self._timer.start()

    def _wake(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self.publish)
                return
            except RuntimeError:  # the loop closed meanwhile: the final publish covers it
                pass
        with self._lock:
            self._timer = None

    def publish(self) -> None:
        """Write the started cells that changed since the last write."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        self._last = time.monotonic()
        nb = self._nb
        if nb is None:
            return
        changed = []
        for position, cell in enumerate(nb.get("cells", [])):
            status = (cell.get("metadata", {}).get("papermill") or {}).get("status")
            if status not in STARTED:
                continue
            payload = cell_payload(position, cell)
            digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
            if self._digests.get(position) != digest:
                changed.append(payload)
                self._digests[position] = digest
        if not changed:
            return
        self._seq += 1
        try:
            self._write(self._seq, changed)
        except Exception as err:  # live output is a view: never a reason to fail the run
            for payload in changed:
                self._digests.pop(payload["index"], None)
            if self._on_error is not None:
                self._on_error(err)

    def close(self) -> None:
        """The run ended: publish what is left."""
        self.publish()
