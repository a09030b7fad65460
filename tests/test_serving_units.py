"""Serving building blocks in-process: signature validation, the micro-batcher, bundles."""

import asyncio
import json
import threading

import numpy as np
import pytest
from registry_utils import pipeline_model, training_frame
from serving_utils import make_bundle
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier

from jupyterlab_mlops.errors import IntegrityError, NotFound
from jupyterlab_mlops.serving.batching import MicroBatcher
from jupyterlab_mlops.serving.bundle import METADATA_FILE, load_bundle, write_bundle
from jupyterlab_mlops.serving.model import ModelInputError, ServedModel
from jupyterlab_mlops.serving.validation import InputValidator, PayloadError


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y, RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)


@pytest.fixture(scope="module")
def mixed():
    X, y = training_frame()
    return X, y, pipeline_model(X, y)


def _served(tmp_path, model, X, **kwargs):
    return ServedModel.from_bundle(str(make_bundle(tmp_path / "b", model, X)), **kwargs)


def test_records_and_columns_give_the_models_answers(tmp_path, cancer):
    X, _, model = cancer
    served = _served(tmp_path, model, X)
    frame = X.iloc[:37]
    by_records = served.validator.prepare({"records": frame.to_dict("records")})
    by_columns = served.validator.prepare({"columns": frame.to_dict("list")})
    assert by_records.matrix is not None  # all-numeric: the vectorised fast path
    outputs = served.predict_batch([by_records, by_columns])
    for output in outputs:
        np.testing.assert_array_equal(output.predictions, model.predict(frame))
        np.testing.assert_allclose(output.probabilities, model.predict_proba(frame))
    assert by_columns.records[3] == frame.iloc[3].to_dict()


def test_mixed_types_and_nulls(tmp_path, mixed):
    X, _, model = mixed
    served = _served(tmp_path, model, X)
    frame = X.iloc[:40]
    records = json.loads(frame.to_json(orient="records"))  # None for missing cities
    assert any(r["city"] is None for r in records)
    prepared = served.validator.prepare({"records": records})
    [output] = served.predict_batch([prepared])
    np.testing.assert_array_equal(output.predictions, model.predict(frame))
    np.testing.assert_allclose(output.probabilities, model.predict_proba(frame))


@pytest.mark.parametrize(
    ("payload", "fields", "fragment"),
    [
        ([1, 2], [None], "JSON object"),
        ({}, [None], "exactly one of"),
        ({"records": [], "columns": {}}, [None], "exactly one of"),
        ({"records": {"a": 1}}, ["records"], "must be a list"),
        ({"records": []}, ["records"], "empty"),
        ({"records": [1]}, ["records"], "must be an object"),
        ({"columns": []}, ["columns"], "must be an object"),
        ({"columns": {"mean radius": 3}}, ["mean radius"], "must be a list"),
        (
            {"columns": {"mean radius": [1, 2], "city": ["a"]}},
            ["mean radius", "city"],
            "same length",
        ),
    ],
)
def test_shape_errors(tmp_path, mixed, payload, fields, fragment):
    X, _, model = mixed
    validator = InputValidator(_served(tmp_path, model, X).signature)
    with pytest.raises(PayloadError) as info:
        validator.prepare(payload)
    assert [e.get("field") for e in info.value.errors] == fields
    assert fragment in info.value.message


def test_field_errors_name_each_field_and_row(tmp_path, mixed):
    X, _, model = mixed
    validator = InputValidator(_served(tmp_path, model, X).signature, extra_columns="reject")
    good = json.loads(X.iloc[:3].to_json(orient="records"))
    bad = [dict(r) for r in good]
    bad[1]["mean radius"] = "12"  # wrong type
    del bad[2]["mean area"]  # missing in one row
    bad[0]["mean texture"] = None  # null where not nullable
    bad[0]["member"] = "yes"  # not a boolean
    bad[2]["city"] = ["x"]  # not a scalar category
    bad[1]["surprise"] = 1  # extra column, rejected by policy
    with pytest.raises(PayloadError) as info:
        validator.prepare({"records": bad})
    errors = {e["field"]: e for e in info.value.errors}
    assert set(errors) == {"mean radius", "mean area", "mean texture", "member", "city", "surprise"}
    assert errors["mean radius"]["rows"] == [1]
    assert errors["mean radius"]["got"] == ["string"]
    assert errors["mean area"]["rows"] == [2]
    assert errors["mean texture"]["rows"] == [0]
    message = info.value.message
    for name in errors:
        assert f"'{name}'" in message
    # NaN (a Python client's json.dumps) where the signature says not nullable
    with pytest.raises(PayloadError, match="'mean radius': must not be null or NaN"):
        validator.prepare({"records": [{**good[0], "mean radius": float("nan")}]})
    with pytest.raises(PayloadError, match="'mean radius': expected a number, got infinity"):
        validator.prepare({"records": [{**good[0], "mean radius": float("inf")}]})
    # the same payload with the default policy: the extra column is ignored and not logged
    lenient = InputValidator(validator.signature)
    prepared = lenient.prepare({"records": [{**good[0], "surprise": 1}]})
    assert "surprise" not in prepared.records[0]


def test_all_missing_columns_are_listed_in_one_message(tmp_path, cancer):
    X, _, model = cancer
    validator = _served(tmp_path, model, X).validator
    with pytest.raises(PayloadError) as info:
        validator.prepare({"records": [{"mean radius": 1.0}]})
    assert len(info.value.errors) == X.shape[1] - 1
    assert "'mean texture', 'mean perimeter'" in info.value.message
    assert info.value.message.endswith(": is missing")


def test_model_rejection_fails_only_its_request(tmp_path, mixed):
    X, y, _ = mixed
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.tree import DecisionTreeClassifier

    strict = Pipeline(
        [
            (
                "pre",
                ColumnTransformer(
                    [("cat", OneHotEncoder(handle_unknown="error"), ["city"])],
                    remainder="passthrough",
                ),
            ),
            ("clf", DecisionTreeClassifier(max_depth=4, random_state=0)),
        ]
    ).fit(X.fillna({"city": "none"}), y)
    served = _served(tmp_path, strict, X.fillna({"city": "none"}))
    rows = json.loads(X.fillna({"city": "none"}).iloc[:4].to_json(orient="records"))
    good = [served.validator.prepare({"records": [r]}) for r in rows]
    bad = served.validator.prepare({"records": [{**rows[0], "city": "atlantis"}]})
    results = served.predict_batch([good[0], bad, good[1], good[2]])
    assert isinstance(results[1], ModelInputError)
    assert "atlantis" in str(results[1])
    for result, row in zip([results[0], *results[2:]], rows, strict=False):
        frame = X.fillna({"city": "none"}).iloc[[rows.index(row)]]
        np.testing.assert_array_equal(result.predictions, strict.predict(frame))


def test_batcher_merges_concurrent_requests_and_isolates_failures():
    release, started = threading.Event(), threading.Event()
    batches: list[list[int]] = []

    def run_batch(items):
        started.set()
        release.wait(10)  # the first call blocks until every request is queued
        batches.append(list(items))
        return [ValueError(f"bad {i}") if i == 13 else i * 10 for i in items]

    async def scenario():
        batcher = MicroBatcher(run_batch, max_latency_ms=50, max_batch_rows=1000)
        batcher.start()
        tasks = [asyncio.create_task(batcher.submit(0, 1))]
        await asyncio.to_thread(started.wait, 10)  # request 0 is being predicted
        tasks += [asyncio.create_task(batcher.submit(i, 1)) for i in range(1, 50)]
        while len(batcher._queue) < 49:
            await asyncio.sleep(0.001)
        release.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await batcher.stop()
        assert await batcher.submit(7, 1) == 70  # after stop: unbatched, still answered
        return results

    results = asyncio.run(scenario())
    for i, result in enumerate(results):
        if i == 13:
            assert isinstance(result, ValueError) and str(result) == "bad 13"
        else:
            assert result == i * 10
    assert batches[0] == [0]
    assert batches[1] == list(range(1, 50))  # everything queued meanwhile went as ONE call
    assert sum(len(b) for b in batches) == 51


def test_batcher_respects_max_batch_rows():
    release, started = threading.Event(), threading.Event()
    batches: list[list[int]] = []

    def run_batch(items):
        started.set()
        release.wait(10)
        batches.append([rows for _, rows in items])
        return [rows for _, rows in items]

    async def scenario():
        batcher = MicroBatcher(run_batch, max_latency_ms=0, max_batch_rows=100)
        batcher.start()
        tasks = [asyncio.create_task(batcher.submit((0, 40), 40))]
        await asyncio.to_thread(started.wait, 10)
        tasks += [asyncio.create_task(batcher.submit((i, 40), 40)) for i in range(1, 6)]
        tasks.append(asyncio.create_task(batcher.submit((6, 250), 250)))  # alone, whole
        while len(batcher._queue) < 6:
            await asyncio.sleep(0.001)
        release.set()
        results = await asyncio.gather(*tasks)
        await batcher.stop()
        return results

    assert asyncio.run(scenario()) == [40] * 6 + [250]
    assert batches == [[40], [40, 40], [40, 40], [40], [250]]


def test_load_bundle_verifies_sha256(tmp_path, cancer):
    X, _, model = cancer
    bundle = make_bundle(tmp_path / "b", model, X)
    loaded, metadata = load_bundle(bundle)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert metadata["name"] == "cancer"
    path = bundle / metadata["model_file"]
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="refusing to serve"):
        load_bundle(bundle)
    (bundle / METADATA_FILE).unlink()
    with pytest.raises(NotFound):
        load_bundle(bundle)


def test_write_bundle_from_the_registry(tmp_path, cancer):
    from jupyterlab_mlops.app import MLOps

    X, y, model = cancer
    mlops = MLOps(root_dir=str(tmp_path))
    mlops.registry.register(model, "cancer", X_sample=X, y_sample=y, user="tester")
    mlops.registry.set_alias("cancer", "production", 1, user="tester")
    metadata = write_bundle(mlops, "cancer@production", tmp_path / "bundle")
    assert metadata["name"] == "cancer" and metadata["version"] == 1
    assert set(metadata["lineage"]) >= {"run_id", "notebook_path", "notebook_sha256", "git_commit"}
    assert metadata["signature"]["inputs"][0]["name"] == "mean radius"
    on_disk = json.loads((tmp_path / "bundle" / METADATA_FILE).read_text())
    assert on_disk["artifact_sha256"] == metadata["artifact_sha256"]
    loaded, _ = load_bundle(tmp_path / "bundle")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    mlops.stop()
