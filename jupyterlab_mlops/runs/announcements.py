"""``RUN_FINISHED``: published once per run by every process that sees the run finish.

A process announces the runs it finishes itself (a cancel, a timeout, recovery, the end of an
interactive session) right after the transaction commits, and — on each queue tick — the runs
that reached a final state elsewhere (a worker process, another server, the CLI) since it
started. It remembers what it announced for a window longer than any tick, so each run is
published once per process. Payload: ``run_id, status, notebook_path, trigger``.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from ..events import RUN_FINISHED, EventBus
from .records import RunRecords

#: how far back each tick looks for runs finished elsewhere (clock skew between hosts included)
WINDOW = timedelta(minutes=10)


class FinishedRuns:
    def __init__(self, records: RunRecords, events: EventBus):
        self.records = records
        self.events = events
        self._since = datetime.now(timezone.utc)
        self._announced: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def _publish(self, rows: list[tuple]) -> list[str]:
        fresh = []
        with self._lock:
            for row in rows:
                if row[0] not in self._announced:
                    self._announced[row[0]] = row[4]
                    fresh.append(row)
        for run_id, status, notebook_path, trigger, _finished_at in fresh:
            self.events.publish(
                RUN_FINISHED,
                run_id=run_id,
                status=status,
                notebook_path=notebook_path,
                trigger=trigger,
            )
        return [row[0] for row in fresh]

    def announce(self, run_id: str) -> bool:
        """Publish ``run_id``'s final state if it has one and was not announced yet."""
        row = self.records.final_state(run_id)
        return bool(row and self._publish([row]))

    def poll(self) -> list[str]:
        """Publish the runs finished since the last look; their ids."""
        now = datetime.now(timezone.utc)
        with self._lock:
            since = max(self._since, now - WINDOW)
            self._announced = {k: v for k, v in self._announced.items() if v is None or v >= since}
        return self._publish(self.records.finished_since(since))
