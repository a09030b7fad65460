"""The prediction log: every prediction a deployment makes, in one SQLite file (WAL).

Writers (serving processes, possibly several workers on one file) call :meth:`PredictionLog.append`,
which only buffers in memory; a background thread serialises and inserts the buffer in batches, so
the request path never waits for the disk. :meth:`flush` / :meth:`close` write what is pending, so
nothing is lost on a clean stop. Readers (the drift monitor, the panel) get pandas DataFrames by
time window through an index on ``ts``; :meth:`PredictionLog.stats` gives the panel its counts and
latency percentiles. This module is the one owner of the file format: nothing else opens it.

Schema (the cross-team contract)::

    predictions(id TEXT PRIMARY KEY, ts REAL, model_version INTEGER, variant TEXT,
                inputs TEXT /* JSON object of one row */,
                outputs TEXT /* JSON {"prediction": .., "probabilities": [..],
                                      "unknown_categories": [column, ..] (when any)} */,
                latency_ms REAL)            -- index on ts
    feedback(prediction_id TEXT PRIMARY KEY, label TEXT /* JSON */, ts REAL)
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ..errors import InvalidInput

if TYPE_CHECKING:  # pandas is imported lazily: the serving process never needs it to write
    import pandas as pd

VARIANTS = ("champion", "challenger", "shadow")
STATS_ROWS = 10_000  # latencies behind the panel's p50/p99
META_COLUMNS = ("id", "ts", "model_version", "variant", "latency_ms", "prediction")
_ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS

_SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    id TEXT PRIMARY KEY,
    ts REAL NOT NULL,
    model_version INTEGER,
    variant TEXT NOT NULL DEFAULT 'champion',
    inputs TEXT NOT NULL,
    outputs TEXT NOT NULL,
    latency_ms REAL
);
CREATE INDEX IF NOT EXISTS ix_predictions_ts ON predictions (ts);
CREATE TABLE IF NOT EXISTS feedback (
    prediction_id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    ts REAL NOT NULL
);
"""

_INSERT = (
    "INSERT OR IGNORE INTO predictions "
    "(id, ts, model_version, variant, inputs, outputs, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS).decode()
    except TypeError:  # numpy scalars inside plain lists, NaN-free fallbacks, odd types
        return orjson.dumps(value, default=_default, option=_ORJSON_OPTIONS).decode()


def _default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _loads(text: str | bytes | None) -> Any:
    if text is None:
        return None
    return orjson.loads(text)


class _Batch:
    """Rows of one prediction call kept column-wise until the writer thread expands them."""

    __slots__ = (
        "ids",
        "ts",
        "model_version",
        "variant",
        "inputs",
        "predictions",
        "probabilities",
        "latency_ms",
        "flags",
    )

    def __init__(
        self, ids, ts, model_version, variant, inputs, predictions, probabilities, lat, flags=None
    ):
        self.ids = ids
        self.ts = ts
        self.model_version = model_version
        self.variant = variant
        self.inputs = inputs
        self.predictions = predictions
        self.probabilities = probabilities
        self.latency_ms = lat
        self.flags = flags

    def rows(self) -> Iterable[tuple]:
        predictions = self.predictions
        if hasattr(predictions, "tolist"):
            predictions = predictions.tolist()
        probabilities = self.probabilities
        if probabilities is not None and hasattr(probabilities, "tolist"):
            probabilities = probabilities.tolist()
        for i, prediction_id in enumerate(self.ids):
            outputs: dict[str, Any] = {"prediction": predictions[i]}
            if probabilities is not None:
                outputs["probabilities"] = probabilities[i]
            if self.flags is not None and self.flags[i]:
                outputs["unknown_categories"] = self.flags[i]
            yield (
                prediction_id,
                self.ts,
                self.model_version,
                self.variant,
                _dumps(self.inputs[i]),
                _dumps(outputs),
                self.latency_ms,
            )


def _row_tuple(row: dict) -> tuple:
    try:
        prediction_id = row["id"]
    except KeyError:
        raise InvalidInput("a prediction log row needs an 'id'") from None
    variant = row.get("variant", "champion")
    if variant not in VARIANTS:
        raise InvalidInput(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    inputs = row.get("inputs", {})
    outputs = row.get("outputs", {})
    version = row.get("model_version")
    return (
        str(prediction_id),
        float(row.get("ts") or time.time()),
        int(version) if version is not None else None,
        variant,
        inputs if isinstance(inputs, str) else _dumps(inputs),
        outputs if isinstance(outputs, str) else _dumps(outputs),
        None if row.get("latency_ms") is None else float(row["latency_ms"]),
    )


_open_logs: weakref.WeakSet[PredictionLog] = weakref.WeakSet()


@atexit.register
def _flush_all_at_exit() -> None:
    for log in list(_open_logs):
        try:
            log.close()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


class PredictionLog:
    """Append-only prediction store for one deployment (safe across processes: SQLite WAL).

    ``flush_interval`` seconds between background writes; ``max_pending`` rows buffered before a
    write is triggered early. Readers flush this instance's own buffer first, so a process always
    reads what it wrote.
    """

    def __init__(
        self, path: str | os.PathLike, *, flush_interval: float = 0.2, max_pending: int = 5000
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self._conn = sqlite3.connect(
            str(self.path), timeout=30, check_same_thread=False, isolation_level=None
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA busy_timeout=30000")
        self._db_lock = threading.Lock()  # one statement sequence at a time on the connection
        with self._db_lock:
            self._conn.executescript(_SCHEMA)
        self._pending: list[Any] = []  # dict rows or _Batch objects
        self._pending_rows = 0
        self._buffer_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.written = 0  # rows written by this instance (for metrics)
        _open_logs.add(self)

    # -- writing ------------------------------------------------------------------------------

    def append(self, rows: Sequence[dict]) -> None:
        """Buffer rows (``{"id", "ts", "model_version", "variant", "inputs", "outputs",
        "latency_ms"}``); they reach the file within ``flush_interval`` or on :meth:`flush`."""
        if not rows:
            return
        self._push(list(rows), len(rows))

    def append_batch(
        self,
        ids: Sequence[str],
        *,
        ts: float,
        model_version: int | None,
        variant: str,
        inputs: Sequence[dict],
        predictions: Any,
        probabilities: Any = None,
        latency_ms: float | None = None,
        unknown_categories: Sequence[list[str]] | None = None,
    ) -> None:
        """Buffer the rows of one prediction call without building per-row dicts now.

        The serving hot path uses this: JSON encoding happens later, in the writer thread.
        ``unknown_categories``: per row, the columns holding a category the signature does not
        list (stored in ``outputs`` as ``"unknown_categories"``).
        """
        if variant not in VARIANTS:
            raise InvalidInput(f"unknown variant {variant!r}")
        if not ids:
            return
        batch = _Batch(
            ids,
            ts,
            model_version,
            variant,
            inputs,
            predictions,
            probabilities,
            latency_ms,
            unknown_categories,
        )
        self._push([batch], len(ids))

    def _push(self, items: list, n_rows: int) -> None:
        if self._closed:
            raise InvalidInput(f"prediction log {self.path} is closed")
        with self._buffer_lock:
            self._pending.extend(items)
            self._pending_rows += n_rows
            pending = self._pending_rows
        if self._thread is None:
            self._start_writer()
        if pending >= self.max_pending:
            self._wake.set()

    def _start_writer(self) -> None:
        with self._buffer_lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._writer_loop, name=f"prediction-log:{self.path.name}", daemon=True
            )
            self._thread.start()

    def _writer_loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - keep the writer alive; rows stay pending
                time.sleep(self.flush_interval)

    def flush(self) -> int:
        """Write everything buffered so far; returns the number of rows written."""
        with self._db_lock:
            with self._buffer_lock:
                items, self._pending = self._pending, []
                self._pending_rows = 0
            if not items:
                return 0
            tuples: list[tuple] = []
            for item in items:
                if isinstance(item, _Batch):
                    tuples.extend(item.rows())
                else:
                    tuples.append(_row_tuple(item))
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany(_INSERT, tuples)
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                with self._buffer_lock:  # put them back: nothing is dropped on a busy file
                    self._pending[:0] = items
                    self._pending_rows += len(tuples)
                raise
            self.written += len(tuples)
            return len(tuples)

    @property
    def pending(self) -> int:
        return self._pending_rows

    def close(self) -> None:
        """Flush and close; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        try:
            self.flush()
        finally:
            with self._db_lock:
                self._conn.close()
            _open_logs.discard(self)

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- feedback -----------------------------------------------------------------------------

    def unknown_ids(self, ids: Sequence[str]) -> list[str]:
        """The ids among ``ids`` no logged prediction has (this process's buffer flushed first)."""
        wanted = list(dict.fromkeys(ids))
        known: set[str] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = self._query(f"SELECT id FROM predictions WHERE id IN ({marks})", chunk)
            known.update(row[0] for row in rows)
        return [i for i in wanted if i not in known]

    def add_feedback(self, items: Sequence[dict]) -> int:
        """Store ground-truth labels by prediction id (a later label replaces an earlier one)."""
        if not isinstance(items, (list, tuple)) or not items:
            raise InvalidInput("feedback needs a non-empty list of {prediction_id, label} items")
        now = time.time()
        rows = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise InvalidInput(f"feedback item {index} is not an object")
            prediction_id = item.get("prediction_id")
            if not isinstance(prediction_id, str) or not prediction_id or len(prediction_id) > 200:
                raise InvalidInput(f"feedback item {index}: 'prediction_id' must be a string")
            if "label" not in item:
                raise InvalidInput(f"feedback item {index}: 'label' is missing")
            label = item["label"]
            if isinstance(label, (dict, list)):
                raise InvalidInput(f"feedback item {index}: 'label' must be a scalar")
            rows.append((prediction_id, _dumps(label), float(item.get("ts") or now)))
        with self._db_lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO feedback (prediction_id, label, ts) VALUES (?, ?, ?)",
                    rows,
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return len(rows)

    # -- reading ------------------------------------------------------------------------------

    def _where(
        self, since: float | None, until: float | None, variant: str | None, prefix: str = ""
    ) -> tuple[str, list]:
        clauses, params = [], []
        if since is not None:
            clauses.append(f"{prefix}ts >= ?")
            params.append(float(since))
        if until is not None:
            clauses.append(f"{prefix}ts < ?")
            params.append(float(until))
        if variant is not None:
            if variant not in VARIANTS:
                raise InvalidInput(
                    f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}"
                )
            clauses.append(f"{prefix}variant = ?")
            params.append(variant)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def _query(self, sql: str, params: list) -> list[tuple]:
        if not self._closed and self._pending_rows:
            self.flush()
        if self._closed:
            conn = sqlite3.connect(str(self.path), timeout=30)
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        with self._db_lock:
            return self._conn.execute(sql, params).fetchall()

    def read(
        self,
        last_n: int | None = None,
        since: float | None = None,
        until: float | None = None,
        variant: str | None = None,
        *,
        probabilities: bool = False,
    ) -> pd.DataFrame:
        """Predictions in ``[since, until)`` (unix seconds), oldest first; ``last_n`` keeps the
        newest n. Columns: id, ts, model_version, variant, latency_ms, prediction, then one
        column per input feature (a feature whose name clashes gets an ``input.`` prefix).
        ``probabilities=True`` adds a ``probabilities`` column (list per row) after prediction."""
        where, params = self._where(since, until, variant)
        sql = (
            "SELECT id, ts, model_version, variant, latency_ms, inputs, outputs "
            f"FROM predictions{where} ORDER BY ts DESC, rowid DESC"
        )
        if last_n is not None:
            sql += " LIMIT ?"
            params.append(int(last_n))
        rows = self._query(sql, params)
        rows.reverse()
        return _frame(rows, probabilities)

    def labelled(
        self,
        last_n: int | None = None,
        since: float | None = None,
        until: float | None = None,
        variant: str | None = None,
        *,
        probabilities: bool = False,
    ) -> pd.DataFrame:
        """Like :meth:`read` for predictions that have feedback, with a ``label`` column."""
        where, params = self._where(since, until, variant, prefix="p.")
        sql = (
            "SELECT p.id, p.ts, p.model_version, p.variant, p.latency_ms, p.inputs, "
            "p.outputs, f.label FROM predictions p JOIN feedback f ON f.prediction_id = p.id"
            f"{where} ORDER BY p.ts DESC, p.rowid DESC"
        )
        if last_n is not None:
            sql += " LIMIT ?"
            params.append(int(last_n))
        rows = self._query(sql, params)
        rows.reverse()
        frame = _frame([row[:7] for row in rows], probabilities)
        frame["label"] = [_loads(row[7]) for row in rows]
        return frame

    def count(self, variant: str | None = None) -> int:
        where, params = self._where(None, None, variant)
        return int(self._query(f"SELECT COUNT(*) FROM predictions{where}", params)[0][0])

    def feedback_count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM feedback", [])[0][0])

    @staticmethod
    def stats(
        path: str | os.PathLike | Sequence[str | os.PathLike], *, last_n: int = STATS_ROWS
    ) -> dict[str, Any]:
        """``{"predictions", "p50_ms", "p99_ms"}`` of the log at ``path`` — or of several logs
        together (the hosted models of one process) — latencies of the newest ``last_n`` rows
        of each, read-only: a missing or unreadable file counts nothing (``{}`` if none can
        be read)."""
        paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
        read = [r for r in (_count_and_latencies(p, last_n) for p in paths) if r is not None]
        if not read:
            return {}
        out: dict[str, Any] = {"predictions": sum(count for count, _ in read)}
        latencies = [latency for _, rows in read for latency in rows]
        if latencies:
            import numpy as np

            p50, p99 = np.percentile(np.asarray(latencies, dtype=float), [50, 99])
            out["p50_ms"], out["p99_ms"] = round(float(p50), 3), round(float(p99), 3)
        return out


def _count_and_latencies(path: str | os.PathLike, last_n: int) -> tuple[int, list] | None:
    if not Path(path).is_file():
        return None
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2)
    except sqlite3.Error:
        return None
    try:
        count = connection.execute("SELECT count(*) FROM predictions").fetchone()[0]
        latencies = [
            row[0]
            for row in connection.execute(
                "SELECT latency_ms FROM predictions WHERE latency_ms IS NOT NULL "
                "ORDER BY ts DESC LIMIT ?",
                (int(last_n),),
            )
        ]
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    return int(count), latencies


def _frame(rows: list[tuple], probabilities: bool = False) -> pd.DataFrame:
    import pandas as pd

    meta = pd.DataFrame(
        {
            "id": [r[0] for r in rows],
            "ts": pd.Series([r[1] for r in rows], dtype="float64"),
            "model_version": pd.Series([r[2] for r in rows], dtype="Int64"),
            "variant": [r[3] for r in rows],
            "latency_ms": pd.Series([r[4] for r in rows], dtype="float64"),
        }
    )
    outputs = [_loads(r[6]) or {} for r in rows]
    meta["prediction"] = [o.get("prediction") for o in outputs]
    if probabilities:
        meta["probabilities"] = [o.get("probabilities") for o in outputs]
    inputs = pd.DataFrame.from_records([_loads(r[5]) or {} for r in rows], index=meta.index)
    inputs = inputs.rename(
        columns={
            c: f"input.{c}"
            for c in inputs.columns
            if c in META_COLUMNS or c == "probabilities" or c == "label"
        }
    )
    frame = pd.concat([meta, inputs], axis=1)
    unknown: dict[str, int] = {}
    for output in outputs:
        for column in output.get("unknown_categories") or ():
            unknown[column] = unknown.get(column, 0) + 1
    # rows served with a category the signature does not list, per column (the drift view)
    frame.attrs["unknown_categories"] = unknown
    return frame


RESERVED_INPUTS = (*META_COLUMNS, "probabilities", "label")


# -- reading windows (the drift monitors' view of the log) --------------------------------------


def read_log(
    path: str | None,
    *,
    last_n: int | None = None,
    since: float | None = None,
    until: float | None = None,
    labelled: bool = False,
    probabilities: bool = False,
) -> pd.DataFrame:
    """A window of a prediction log without shadow traffic (empty if the log does not exist);
    ``probabilities=True`` adds the ``probabilities`` column (what performance estimation reads)."""
    import pandas as pd

    if not path or not Path(path).is_file():
        return pd.DataFrame(columns=[*META_COLUMNS, *(["label"] if labelled else [])])
    log = PredictionLog(path)
    try:
        reader = log.labelled if labelled else log.read
        frame = reader(
            last_n=None if last_n is None else last_n,
            since=since,
            until=until,
            probabilities=probabilities,
        )
    finally:
        log.close()
    if "variant" in frame.columns and len(frame):
        frame = frame[frame["variant"] != "shadow"]
        if last_n is not None and len(frame) > last_n:
            frame = frame.iloc[-last_n:]
    return frame.reset_index(drop=True)


def feature_frame(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The model's input columns of a log frame (undoing the log's ``input.`` prefixes)."""
    import pandas as pd

    columns = {}
    for name in names:
        source = f"input.{name}" if name in RESERVED_INPUTS else name
        if source in frame.columns:
            columns[name] = frame[source]
    return pd.DataFrame(columns, index=frame.index)
