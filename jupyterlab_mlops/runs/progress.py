"""A busy store never kills a run: the worker's store writes, retried.

SQLite lets one process write at a time; another process holding the write lock (a long
transaction, a backup) makes every write wait and then fail with "database is locked" — a
:class:`StoreUnavailable`. For a worker that must not mean a failed run:

- progress (cells done) is written by :class:`ProgressWriter` in its own thread, latest value
  wins: the notebook never waits for the store, a value the store could not take in time is
  dropped in favour of the next one;
- the writes that matter (claiming the run, its final status) go through :func:`durable`: retried
  with backoff until they succeed, bounded by a long deadline (:data:`FINAL_DEADLINE`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

from ..errors import StoreUnavailable

T = TypeVar("T")

#: how long a worker keeps trying to record a run's final state before giving up
FINAL_DEADLINE = 900.0
#: how long one progress value is retried before it is dropped (a newer one replaces it anyway)
PROGRESS_DEADLINE = 30.0

log = logging.getLogger(__name__)


def durable(
    call: Callable[..., T], *args: Any, deadline: float = FINAL_DEADLINE, **kwargs: Any
) -> T:
    """``call(*args, **kwargs)``, retried with backoff while the store is unavailable."""
    retrying = Retrying(
        retry=retry_if_exception_type(StoreUnavailable),
        wait=wait_exponential(multiplier=0.25, max=10),
        stop=stop_after_delay(deadline),
        before_sleep=lambda state: log.warning(
            "the store is unavailable (%s); retrying %s", state.outcome.exception(), call.__name__
        ),
        reraise=True,
    )
    return retrying(call, *args, **kwargs)


class ProgressWriter:
    """Progress writes off the notebook's thread: the newest value is written, with retries;
    values superseded while the store is busy are dropped."""

    def __init__(self, write: Callable[..., None], *, deadline: float = PROGRESS_DEADLINE):
        self._write = write
        self._deadline = deadline
        self._pending: tuple | None = None
        #: the newest value reported, written or not (the final write carries it)
        self.latest: tuple | None = None
        self._closed = threading.Event()
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="mlops-progress", daemon=True)
        self._thread.start()

    def report(self, *values: Any) -> None:
        with self._wake:
            self._pending = self.latest = values
            self._wake.notify()

    def close(self, timeout: float = 10.0) -> None:
        """Stop writing (the final status is written next, by the caller); pending progress is
        dropped."""
        with self._wake:
            self._pending = None
            self._closed.set()
            self._wake.notify()
        self._thread.join(timeout)

    def _take(self) -> tuple | None:
        with self._wake:
            while self._pending is None and not self._closed.is_set():
                self._wake.wait()
            values, self._pending = self._pending, None
            return values

    def _loop(self) -> None:
        while not self._closed.is_set():
            values = self._take()
            if values is None:
                continue
            retrying = Retrying(
                retry=retry_if_exception_type(StoreUnavailable),
                wait=wait_exponential(multiplier=0.2, max=5),
                stop=stop_after_delay(self._deadline) | self._stop_when_superseded,
                sleep=self._closed.wait,
                reraise=True,
            )
            try:
                retrying(self._write, *values)
            except StoreUnavailable:
                log.info("progress %s dropped: the store stayed unavailable", values)
            except Exception:  # progress is informative: never let it end the run
                log.warning("could not record progress", exc_info=True)

    def _stop_when_superseded(self, _state: Any) -> bool:
        """A newer value (or closing) makes retrying this one pointless."""
        return self._closed.is_set() or self._pending is not None
