"""The worker side of supervision: a thread that says "alive" and listens for "stop".

Every few seconds (``heartbeat_interval`` of the heartbeat timeout) it records the run's
``heartbeat_at`` — the lab fails a run on another host whose worker falls silent
(``supervision.check_heartbeats``) — and reads the run's status back. Anything but ``running``
(cancelled from the lab, timed out or failed by a supervisor) means the run is over for
everyone else: ``on_stop(status)`` stops the kernel and this process. That is how a cancel
reaches a worker on a machine the lab cannot signal. A store that cannot be reached for one
beat is not a reason to stop: the next beat tries again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .settings import heartbeat_interval

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(
        self,
        beat: Callable[[], str | None],
        on_stop: Callable[[str | None], None],
        timeout: float,
        finished: threading.Event,
    ):
        """``beat()`` records one heartbeat and returns the run's status; ``finished`` is set
        by the worker once it records the run's end itself (then a final status is its own)."""
        self.beat = beat
        self.on_stop = on_stop
        self.interval = heartbeat_interval(timeout)
        self.finished = finished
        self._thread = threading.Thread(target=self._loop, name="mlops-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self.finished.is_set():  # the first beat at once, then every interval
            try:
                status = self.beat()
            except Exception:  # the store is briefly unreachable: the next beat tries again
                log.warning("heartbeat failed", exc_info=True)
                status = "running"
            if status != "running" and not self.finished.is_set():
                self.on_stop(status)
                return
            self.finished.wait(self.interval)
