"""Adaptive micro-batching: concurrent requests share one model call, off the event loop.

Per-call overhead dominates small predictions (a 100-tree forest costs about the same for 1 row
as for 100), so merging concurrent requests multiplies throughput. Requests queue; one collector
task takes them in arrival order and sends them to a single worker thread as one batch when

- ``max_batch_rows`` rows are waiting, or
- the oldest request has waited ``max_latency_ms``, or
- as many requests are waiting as made up the previous batch (the adaptive part: at low load a
  lone request goes at once, under load the batch size follows the number of concurrent clients
  without always paying the full wait).

While a batch is being predicted the next one fills up. Each caller gets back exactly its own
result (or its own exception): ``run_batch`` must return one entry per item, in order.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_MAX_LATENCY_MS = 5.0
DEFAULT_MAX_BATCH_ROWS = 2048


class BatchStats:
    """Observer hooks (Prometheus in the app); the default does nothing."""

    def batch(self, n_requests: int, n_rows: int, queue_waits: list[float]) -> None:
        pass


class _Entry:
    __slots__ = ("item", "rows", "future", "enqueued")

    def __init__(self, item: Any, rows: int, future: asyncio.Future, enqueued: float):
        self.item = item
        self.rows = rows
        self.future = future
        self.enqueued = enqueued


class MicroBatcher(Generic[T, R]):
    """Queue + collector task + one worker thread for one model."""

    def __init__(
        self,
        run_batch: Callable[[list[T]], list[R | BaseException]],
        *,
        max_latency_ms: float = DEFAULT_MAX_LATENCY_MS,
        max_batch_rows: int = DEFAULT_MAX_BATCH_ROWS,
        enabled: bool = True,
        stats: BatchStats | None = None,
        name: str = "model",
    ):
        if max_latency_ms < 0:
            raise ValueError("max_latency_ms must be >= 0")
        if max_batch_rows < 1:
            raise ValueError("max_batch_rows must be >= 1")
        self.run_batch = run_batch
        self.max_latency = max_latency_ms / 1000.0
        self.max_batch_rows = max_batch_rows
        self.enabled = enabled
        self.stats = stats or BatchStats()
        self.name = name
        # one thread: the model call holds the GIL for most of its time anyway, and a single
        # in-flight batch is what lets the next one fill up
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"predict-{name}")
        self._queue: collections.deque[_Entry] = collections.deque()
        self._queued_rows = 0
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._last_batch_requests = 1
        self._closing = False

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._wakeup = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._collector())

    async def stop(self) -> None:
        """Answer everything queued, then stop; later submissions run unbatched (never fail)."""
        self._closing = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._task is not None:
            await self._task
            self._task = None
        self._executor.shutdown(wait=False)

    # -- submitting ---------------------------------------------------------------------------

    async def submit(self, item: T, rows: int) -> R:
        """Queue ``item`` (``rows`` rows) and wait for its own result; raises its own error."""
        loop = asyncio.get_running_loop()
        if not self.enabled or self._task is None or self._closing:
            result = (
                await loop.run_in_executor(self._unbatched_executor(), self.run_batch, [item])
            )[0]
            self.stats.batch(1, rows, [0.0])
            if isinstance(result, BaseException):
                raise result
            return result
        future: asyncio.Future = loop.create_future()
        self._queue.append(_Entry(item, rows, future, time.perf_counter()))
        self._queued_rows += rows
        self._wakeup.set()
        result = await future
        if isinstance(result, BaseException):
            raise result
        return result

    def _unbatched_executor(self) -> ThreadPoolExecutor | None:
        # unbatched mode uses the loop's default pool (several threads), like a plain app;
        # after stop() the dedicated thread is gone too
        return None

    # -- the collector ------------------------------------------------------------------------

    async def _collector(self) -> None:
        loop = asyncio.get_running_loop()
        wakeup = self._wakeup
        while True:
            if not self._queue:
                if self._closing:
                    return
                wakeup.clear()
                await wakeup.wait()
                continue
            deadline = self._queue[0].enqueued + self.max_latency
            while (
                not self._closing
                and self._queued_rows < self.max_batch_rows
                and len(self._queue) < self._last_batch_requests
            ):
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    break
                wakeup.clear()
                try:
                    await asyncio.wait_for(wakeup.wait(), remaining)
                except asyncio.TimeoutError:
                    break
            entries = self._take()
            now = time.perf_counter()
            waits = [now - e.enqueued for e in entries]
            items = [e.item for e in entries]
            try:
                results = await loop.run_in_executor(self._executor, self.run_batch, items)
                if len(results) != len(entries):
                    raise RuntimeError(
                        f"run_batch returned {len(results)} results for {len(entries)} items"
                    )
            except BaseException as err:  # noqa: BLE001 - hand the failure to every caller
                results = [err] * len(entries)
            self._last_batch_requests = max(1, len(entries))
            self.stats.batch(len(entries), sum(e.rows for e in entries), waits)
            for entry, result in zip(entries, results, strict=True):
                if not entry.future.done():  # the caller may have gone (client disconnect)
                    entry.future.set_result(result)

    def _take(self) -> list[_Entry]:
        entries = [self._queue.popleft()]
        rows = entries[0].rows
        while self._queue and rows + self._queue[0].rows <= self.max_batch_rows:
            entry = self._queue.popleft()
            rows += entry.rows
            entries.append(entry)
        self._queued_rows -= rows
        return entries
