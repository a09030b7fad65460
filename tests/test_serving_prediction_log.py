"""The prediction log contract the drift monitor relies on: real SQLite files, several writers."""

import multiprocessing
import sqlite3
import time

import pytest

from jupyterlab_mlops.errors import InvalidInput
from jupyterlab_mlops.serving.prediction_log import PredictionLog


def _row(i, ts, variant="champion", version=1):
    return {
        "id": f"p{i}",
        "ts": ts,
        "model_version": version,
        "variant": variant,
        "inputs": {"age": float(i), "city": "ab"[i % 2]},
        "outputs": {"prediction": i % 2, "probabilities": [0.25, 0.75]},
        "latency_ms": 1.5,
    }


def test_schema_is_the_contract(tmp_path):
    path = tmp_path / "log.db"
    PredictionLog(path).close()
    conn = sqlite3.connect(path)
    columns = [(r[1], r[2]) for r in conn.execute("PRAGMA table_info(predictions)")]
    assert columns == [
        ("id", "TEXT"),
        ("ts", "REAL"),
        ("model_version", "INTEGER"),
        ("variant", "TEXT"),
        ("inputs", "TEXT"),
        ("outputs", "TEXT"),
        ("latency_ms", "REAL"),
    ]
    assert [(r[1], r[2]) for r in conn.execute("PRAGMA table_info(feedback)")] == [
        ("prediction_id", "TEXT"),
        ("label", "TEXT"),
        ("ts", "REAL"),
    ]
    indexes = {r[1] for r in conn.execute("PRAGMA index_list(predictions)")}
    assert "ix_predictions_ts" in indexes
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_append_read_windows_and_variants(tmp_path):
    log = PredictionLog(tmp_path / "log.db")
    log.append([_row(i, 1000.0 + i, "champion" if i % 3 else "challenger") for i in range(30)])
    assert log.count() == 30  # readers flush the instance's own buffer first
    frame = log.read()
    assert list(frame.columns) == [
        "id",
        "ts",
        "model_version",
        "variant",
        "latency_ms",
        "prediction",
        "age",
        "city",
    ]
    assert frame["id"].tolist() == [f"p{i}" for i in range(30)]
    assert frame["age"].tolist() == [float(i) for i in range(30)]
    assert frame["prediction"].tolist() == [i % 2 for i in range(30)]
    assert log.read(last_n=5)["id"].tolist() == [f"p{i}" for i in range(25, 30)]
    window = log.read(since=1010.0, until=1015.0)
    assert window["id"].tolist() == [f"p{i}" for i in range(10, 15)]
    assert set(log.read(variant="challenger")["id"]) == {f"p{i}" for i in range(0, 30, 3)}
    assert log.count(variant="challenger") == 10
    with_proba = log.read(last_n=1, probabilities=True)
    assert with_proba["probabilities"].tolist() == [[0.25, 0.75]]
    with pytest.raises(InvalidInput):
        log.read(variant="nope")
    log.close()


def test_append_batch_and_feedback_join(tmp_path):
    import numpy as np

    log = PredictionLog(tmp_path / "log.db")
    log.append_batch(
        ["a", "b", "c"],
        ts=5.0,
        model_version=3,
        variant="shadow",
        inputs=[{"x": 1}, {"x": 2}, {"x": 3}],
        predictions=np.array([0, 1, 1]),
        probabilities=np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]]),
        latency_ms=2.0,
    )
    assert (
        log.add_feedback([{"prediction_id": "b", "label": 1}, {"prediction_id": "c", "label": 0}])
        == 2
    )
    assert log.add_feedback([{"prediction_id": "c", "label": 1}]) == 1  # a later label wins
    labelled = log.labelled()
    assert labelled["id"].tolist() == ["b", "c"]
    assert labelled["label"].tolist() == [1, 1]
    assert labelled["prediction"].tolist() == [1, 1]
    assert labelled["model_version"].tolist() == [3, 3]
    assert labelled["variant"].tolist() == ["shadow", "shadow"]
    for bad in (
        [],
        [{"label": 1}],
        [{"prediction_id": "a"}],
        ["x"],
        [{"prediction_id": 3, "label": 1}],
    ):
        with pytest.raises(InvalidInput):
            log.add_feedback(bad)
    log.close()


def test_background_writer_and_close_lose_nothing(tmp_path):
    path = tmp_path / "log.db"
    log = PredictionLog(path, flush_interval=0.05)
    log.append([_row(i, float(i)) for i in range(10)])
    reader = sqlite3.connect(path)
    deadline = time.monotonic() + 10
    while reader.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] < 10:
        assert time.monotonic() < deadline, "the writer thread never flushed"
        time.sleep(0.02)
    log.flush_interval = 3600  # from now on only close() can write
    log.append([_row(i, float(i)) for i in range(10, 25)])
    log.close()
    assert reader.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 25
    assert PredictionLog(path).count() == 25  # readable after close, by a new instance


def _writer(path, worker, n):
    log = PredictionLog(path)
    for i in range(n):
        log.append([{**_row(i, float(i)), "id": f"w{worker}-{i}"}])
    log.close()


def test_several_processes_write_one_file(tmp_path):
    path = tmp_path / "log.db"
    PredictionLog(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), w, 200)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert PredictionLog(path).count() == 600
