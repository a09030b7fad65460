"""The serving process end to end: real ``python -m jupyterlab_mlops.serving`` uvicorn processes."""

import asyncio
import json
import random
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families
from registry_utils import training_frame
from serving_utils import Server, make_bundle, mixed_pipeline
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

from jupyterlab_mlops.serving.prediction_log import PredictionLog

TOKEN = "s3cret-admin-token"


def _client(**kwargs) -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=30, **kwargs)


def _poll(condition, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value is not None and value is not False:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    v1 = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    v2 = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)  # disagrees sometimes
    return X, y, v1, v2


@pytest.fixture(scope="module")
def bundles(tmp_path_factory, cancer):
    X, _, v1, v2 = cancer
    root = tmp_path_factory.mktemp("bundles")
    return {
        "v1": make_bundle(root / "v1", v1, X, version=1),
        "v2": make_bundle(root / "v2", v2, X, version=2),
    }


@pytest.fixture(scope="module")
def server(bundles, tmp_path_factory):
    log = tmp_path_factory.mktemp("main") / "predictions.db"
    with Server(bundles["v1"], log, "--max-latency-ms", "20") as s:
        s.log_path = log
        yield s


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A pipeline with numeric, categorical (strict encoder) and boolean inputs; extras rejected."""
    X, y = training_frame()
    X = X.fillna({"city": "unknown"})
    model = mixed_pipeline(X, y, handle_unknown="error")
    root = tmp_path_factory.mktemp("mixed")
    bundle = make_bundle(root / "bundle", model, X, name="mixed", nullable=("mean area",))
    with Server(
        bundle, root / "predictions.db", "--extra-columns", "reject", "--max-latency-ms", "20"
    ) as s:
        s.X, s.model = X, model
        yield s


def _records(frame):
    return frame.to_dict("records")  # native Python values, full float precision


def test_predictions_equal_model_predict(server, cancer):
    X, _, v1, _ = cancer
    frame = X.sample(60, random_state=3)
    with _client() as client:
        by_records = client.post(f"{server.url}/predict", json={"records": _records(frame)})
        by_columns = client.post(f"{server.url}/predict", json={"columns": frame.to_dict("list")})
    for response in (by_records, by_columns):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["model"] == "cancer" and body["version"] == 1
        assert body["variant"] == "champion"
        assert body["predictions"] == v1.predict(frame).tolist()
        np.testing.assert_allclose(body["probabilities"], v1.predict_proba(frame))
        assert body["classes"] == [0, 1]
        assert len(set(body["prediction_ids"])) == 60
    assert not set(by_records.json()["prediction_ids"]) & set(by_columns.json()["prediction_ids"])


BAD_INPUTS = [
    (b'{"records": [', "not valid JSON"),
    (b"", "empty"),
    (b"[1, 2]", "JSON object"),
    (b'{"rows": []}', "'records'"),
    (b'{"records": "x"}', "'records': 'records' must be a list"),
    (b'{"records": [3]}', "'records': every record must be an object"),
    (b'{"columns": {"city": [1, 2], "member": [true]}}', "'city': has 2 values"),
]


def _good_row(mixed) -> dict:
    return _records(mixed.X.iloc[:1])[0]


FIELD_ERRORS = [
    (lambda r: r.pop("mean radius"), "'mean radius': is missing"),
    (lambda r: r.update({"mean texture": "12.5"}), "'mean texture': expected a number, got string"),
    (lambda r: r.update({"mean perimeter": None}), "'mean perimeter': must not be null"),
    (lambda r: r.update({"member": "yes"}), "'member': expected true or false, got string"),
    (lambda r: r.update({"city": {"a": 1}}), "'city': expected a category"),
    (lambda r: r.update({"shoe size": 44}), "'shoe size': is not an input of this model"),
]


@pytest.mark.parametrize(("body", "fragment"), BAD_INPUTS)
def test_malformed_bodies_are_422(mixed, body, fragment):
    with _client() as client:
        response = client.post(
            f"{mixed.url}/predict", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert fragment in error["message"]


@pytest.mark.parametrize(("change", "fragment"), FIELD_ERRORS)
def test_each_bad_field_is_422_naming_it(mixed, change, fragment):
    row = _good_row(mixed)
    change(row)
    with _client() as client:
        response = client.post(f"{mixed.url}/predict", json={"records": [_good_row(mixed), row]})
    assert response.status_code == 422
    assert fragment in response.json()["error"]["message"]
    assert (
        "rows 1" in response.json()["error"]["message"]
        or "missing" in fragment
        or "not an input" in fragment
    )


def test_nan_where_not_nullable_and_null_where_nullable(mixed):
    row = _good_row(mixed)
    text = json.dumps({"records": [{**row, "mean radius": float("nan")}]})  # a NaN literal
    assert "NaN" in text
    with _client() as client:
        response = client.post(
            f"{mixed.url}/predict", content=text, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422
        assert "'mean radius': must not be null or NaN" in response.json()["error"]["message"]
        # "mean area" is nullable in this signature: null reaches the model as NaN, which the
        # tree cannot take -> the model's own refusal is a 422 too, never a 500
        response = client.post(
            f"{mixed.url}/predict", json={"records": [{**row, "mean area": None}]}
        )
        assert response.status_code in (200, 422)
        assert client.get(f"{mixed.url}/predict").status_code == 405
        assert client.get(f"{mixed.url}/nowhere").json()["error"]["code"] == "not_found"


def test_model_rejection_inside_a_batch_fails_alone(mixed):
    rows = _records(mixed.X.iloc[:50])
    bad_index = 17

    async def run():
        async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
            payloads = [{"records": [r]} for r in rows]
            payloads[bad_index] = {"records": [{**rows[bad_index], "city": "atlantis"}]}
            return await asyncio.gather(
                *(client.post(f"{mixed.url}/predict", json=p) for p in payloads)
            )

    responses = asyncio.run(run())
    for i, response in enumerate(responses):
        if i == bad_index:
            assert response.status_code == 422
            body = response.json()["error"]
            assert body["code"] == "model_rejected_input" and "atlantis" in body["message"]
        else:
            assert response.status_code == 200, response.text
            assert response.json()["predictions"] == mixed.model.predict(mixed.X.iloc[[i]]).tolist()


def test_concurrent_batched_answers_equal_unbatched_predict(server, cancer):
    X, _, v1, _ = cancer
    rng = random.Random(5)
    slices = []
    for _ in range(50):
        start = rng.randrange(0, len(X) - 8)
        slices.append(X.iloc[start : start + rng.randint(1, 7)])

    async def run():
        async with httpx.AsyncClient(
            trust_env=False, timeout=60, limits=httpx.Limits(max_connections=50)
        ) as client:
            return await asyncio.gather(
                *(
                    client.post(f"{server.url}/predict", json={"records": _records(frame)})
                    for frame in slices
                )
            )

    responses = asyncio.run(run())
    for frame, response in zip(slices, responses, strict=True):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["predictions"] == v1.predict(frame).tolist()  # one predict per request
        np.testing.assert_allclose(body["probabilities"], v1.predict_proba(frame))
        assert len(body["prediction_ids"]) == len(frame)
    with _client() as client:
        families = {
            f.name: f
            for f in text_string_to_metric_families(client.get(f"{server.url}/metrics").text)
        }
    requests_merged = [
        s.value
        for s in families["mlops_batch_requests"].samples
        if s.name == "mlops_batch_requests_sum"
    ]
    assert sum(requests_merged) >= 50  # every request went through the batcher


def test_metrics_parse_as_prometheus_text(server, cancer):
    X = cancer[0]
    with _client() as client:
        client.post(f"{server.url}/predict", json={"records": _records(X.iloc[:2])})
        client.post(f"{server.url}/predict", json={"records": [{"mean radius": "x"}]})
        response = client.get(f"{server.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    for name, kind in [
        ("mlops_requests", "counter"),
        ("mlops_errors", "counter"),
        ("mlops_predicted_rows", "counter"),
        ("mlops_request_latency_seconds", "histogram"),
        ("mlops_model_call_seconds", "histogram"),
        ("mlops_batch_rows", "histogram"),
        ("mlops_queue_wait_seconds", "histogram"),
    ]:
        assert families[name].type == kind, name
    ok = [
        s
        for s in families["mlops_requests"].samples
        if s.labels.get("status") == "200" and s.labels["version"] == "1"
    ]
    assert ok and ok[0].value >= 1
    errors = [s for s in families["mlops_errors"].samples if s.labels["code"] == "invalid_input"]
    assert errors and errors[0].value >= 1
    latency_count = [
        s
        for s in families["mlops_request_latency_seconds"].samples
        if s.name.endswith("_count") and s.labels["variant"] == "champion"
    ]
    assert latency_count[0].value >= 1


def test_health_metadata_and_docs(server):
    with _client() as client:
        health = client.get(f"{server.url}/health").json()
        assert health["status"] == "ok" and health["version"] == 1
        metadata = client.get(f"{server.url}/metadata").json()
        assert metadata["name"] == "cancer" and metadata["version"] == 1
        assert metadata["signature"]["inputs"][0]["name"] == "mean radius"
        assert metadata["lineage"]["notebook_path"] == "train.ipynb"
        assert metadata["batching"] == {
            "enabled": True,
            "max_latency_ms": 20.0,
            "max_batch_rows": 2048,
        }
        assert client.get(f"{server.url}/docs").status_code == 200
        paths = client.get(f"{server.url}/openapi.json").json()["paths"]
        assert {"/predict", "/feedback", "/health", "/metadata", "/metrics"} <= set(paths)
        # the admin API is off without MLOPS_SERVING_ADMIN_TOKEN
        assert client.post(f"{server.url}/admin/reload", json={"bundle": "x"}).status_code == 404


def test_feedback_joins_predictions(server, cancer):
    X = cancer[0]
    frame = X.iloc[100:105]
    with _client() as client:
        body = client.post(f"{server.url}/predict", json={"records": _records(frame)}).json()
        ids = body["prediction_ids"]
        items = [
            {"prediction_id": ids[i], "label": int(label)}
            for i, label in zip(range(3), [1, 0, 1], strict=True)
        ]
        response = client.post(f"{server.url}/feedback", json={"items": items})
        assert response.status_code == 200 and response.json() == {"stored": 3}
        for bad in (
            {"items": [{"label": 1}]},
            {"items": "x"},
            [1],
            {"items": [{"prediction_id": ids[0]}]},
        ):
            response = client.post(f"{server.url}/feedback", json=bad)
            assert response.status_code == 422, bad
    log = PredictionLog(server.log_path)

    def joined():
        frame = log.labelled()
        frame = frame[frame["id"].isin(ids)].reset_index(drop=True)
        return frame if len(frame) == 3 else None

    labelled = _poll(joined, "predictions joined with their labels")
    assert labelled["id"].tolist() == ids[:3]
    assert labelled["label"].tolist() == [1, 0, 1]
    assert labelled["prediction"].tolist() == body["predictions"][:3]
    assert labelled["mean radius"].tolist() == frame["mean radius"].iloc[:3].tolist()
    log.close()


def test_canary_routes_and_logs_both_variants(bundles, cancer, tmp_path):
    X, _, v1, v2 = cancer
    log_path = tmp_path / "canary.db"
    frames = [X.iloc[i : i + 2] for i in range(0, 240, 2)]
    with (
        Server(
            bundles["v1"],
            log_path,
            "--challenger-bundle",
            str(bundles["v2"]),
            "--canary-percent",
            "50",
        ) as server,
        _client() as client,
    ):
        responses = [
            client.post(f"{server.url}/predict", json={"records": _records(f)}).json()
            for f in frames
        ]
        assert client.get(f"{server.url}/health").json()["challenger"]["version"] == 2
    variants = {r["variant"] for r in responses}
    assert variants == {"champion", "challenger"}
    for frame, body in zip(frames, responses, strict=True):
        model = v1 if body["variant"] == "champion" else v2
        assert body["version"] == (1 if body["variant"] == "champion" else 2)
        assert body["predictions"] == model.predict(frame).tolist()
    frame = PredictionLog(log_path).read()
    assert len(frame) == 240  # everything flushed on stop
    counts = frame.groupby(["variant", "model_version"]).size().to_dict()
    served = {v: 2 * sum(r["variant"] == v for r in responses) for v in variants}
    assert counts == {("challenger", 2): served["challenger"], ("champion", 1): served["champion"]}


def test_shadow_answers_from_champion_and_logs_challenger(bundles, cancer, tmp_path):
    X, _, v1, v2 = cancer
    log_path = tmp_path / "shadow.db"
    frame = X.iloc[:30]
    with (
        Server(
            bundles["v1"], log_path, "--challenger-bundle", str(bundles["v2"]), "--shadow"
        ) as server,
        _client() as client,
    ):
        bodies = [
            client.post(f"{server.url}/predict", json={"records": _records(frame)}).json()
            for _ in range(3)
        ]
    assert {b["variant"] for b in bodies} == {"champion"}
    assert all(b["predictions"] == v1.predict(frame).tolist() for b in bodies)
    log = PredictionLog(log_path)
    shadow = log.read(variant="shadow")
    assert len(shadow) == 90 and set(shadow["model_version"]) == {2}
    assert shadow["prediction"].tolist() == v2.predict(frame).tolist() * 3
    assert log.count(variant="champion") == 90


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_loses_no_prediction_log_rows(bundles, cancer, tmp_path, workers):
    X = cancer[0]
    log_path = tmp_path / "stop.db"
    server = Server(
        bundles["v1"], log_path, "--workers", str(workers), "--log-flush-interval", "3600"
    )  # only the shutdown flush can write them

    async def run():
        async with httpx.AsyncClient(trust_env=False, timeout=60) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        f"{server.url}/predict", json={"records": _records(X.iloc[i : i + 3])}
                    )
                    for i in range(40)
                )
            )

    try:
        responses = asyncio.run(run())
        assert PredictionLog(log_path).count() == 0  # still buffered in the server
        with _client() as client:  # any worker's /metrics counts every worker's requests
            metrics = client.get(f"{server.url}/metrics").text
        families = {f.name: f for f in text_string_to_metric_families(metrics)}
        answered = sum(
            s.value for s in families["mlops_requests"].samples if s.labels["status"] == "200"
        )
        assert answered == 40
    finally:
        returncode = server.stop()
    assert returncode in (0, -15), server.output()
    ids = {i for r in responses for i in r.json()["prediction_ids"]}
    assert len(ids) == 120
    assert set(PredictionLog(log_path).read()["id"]) == ids


def test_admin_reload_switches_with_zero_failed_requests(bundles, cancer, tmp_path):
    X, _, _, v2 = cancer
    frame = X.iloc[:4]
    payload = {"records": _records(frame)}
    server = Server(
        bundles["v1"],
        tmp_path / "reload.db",
        "--workers",
        "2",
        env={"MLOPS_SERVING_ADMIN_TOKEN": TOKEN},
    )
    failures, versions, stop = [], [], threading.Event()

    def hammer():
        with _client() as client:
            while not stop.is_set():
                try:
                    response = client.post(f"{server.url}/predict", json=payload)
                except httpx.HTTPError as err:
                    failures.append(repr(err))
                    continue
                if response.status_code != 200:
                    failures.append(response.text)
                else:
                    versions.append(response.json()["version"])

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    try:
        with _client() as admin:
            url = f"{server.url}/admin/reload"
            assert admin.post(url, json={"bundle": str(bundles["v2"])}).status_code == 401
            assert (
                admin.post(
                    url,
                    json={"bundle": str(bundles["v2"])},
                    headers={"Authorization": "Bearer wrong"},
                ).status_code
                == 401
            )
            auth = {"Authorization": f"Bearer {TOKEN}"}
            missing = admin.post(url, json={"bundle": str(tmp_path / "nope")}, headers=auth)
            assert missing.status_code == 404 and "not a serving bundle" in missing.text
            assert admin.post(url, json={"bundel": "x"}, headers=auth).status_code == 422
            for thread in threads:
                thread.start()
            _poll(lambda: len(versions) > 20, "traffic before the switch")
            response = admin.post(url, json={"bundle": str(bundles["v2"])}, headers=auth)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["version"] == 2 and body["workers_switched"] == 2
            switched_at = len(versions)
            _poll(lambda: len(versions) > switched_at + 40, "traffic after the switch")
            after = [admin.post(f"{server.url}/predict", json=payload).json() for _ in range(10)]
    finally:
        stop.set()
        for thread in threads:
            if thread.is_alive():
                thread.join(30)
        server.stop()
    assert failures == []
    assert versions[0] == 1 and set(versions) == {1, 2}
    assert all(b["version"] == 2 for b in after)
    assert all(b["predictions"] == v2.predict(frame).tolist() for b in after)


def test_corrupt_bundle_refuses_to_start(bundles, tmp_path):
    import shutil

    bundle = tmp_path / "corrupt"
    shutil.copytree(bundles["v1"], bundle)
    model_file = next(bundle.glob("model.*"))
    data = bytearray(model_file.read_bytes())
    data[-5] ^= 0xFF
    model_file.write_bytes(bytes(data))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyterlab_mlops.serving",
            "--bundle",
            str(bundle),
            "--prediction-log",
            str(tmp_path / "p.db"),
            "--port",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "corrupt" in result.stderr and "Traceback" not in result.stderr
    usage = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyterlab_mlops.serving",
            "--bundle",
            str(bundle),
            "--prediction-log",
            "p.db",
            "--shadow",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert usage.returncode == 2 and "--challenger-bundle" in usage.stderr


def _assert_error_shape(response, status: int = 422) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and error["message"], error
    return error


def test_non_finite_huge_and_deep_numbers_are_422_never_500(mixed):
    """What JSON (or Python's parser) lets through but no model input takes."""
    good = _good_row(mixed)
    text = json.dumps({"records": [good]})
    cases = [
        (text.replace('"mean texture": ', '"mean texture": Infinity, "x": ', 1), "mean texture"),
        (text.replace('"mean texture": ', '"mean texture": -Infinity, "x": ', 1), "mean texture"),
        (text.replace('"mean texture": ', '"mean texture": 1e400, "x": ', 1), "mean texture"),
        (text.replace('"mean texture": ', '"mean texture": ' + "9" * 400 + ', "x": ', 1), None),
        (
            text.replace(
                '"mean texture": ', '"mean texture": 99999999999999999999999, "y": NaN, "x": ', 1
            ),
            None,
        ),
        ("[" * 100_000, "nests too deeply"),
        ('{"records": [{"mean radius": ' + "[" * 100_000 + "]" * 100_000 + "}]}", None),
        ('{"records": [' + '{"a": ' * 5_000 + "1" + "}" * 5_000 + "]}", None),
        ('{"columns": {"city": ' + "[" * 2_000 + "]" * 2_000 + "}}", None),
    ]
    with _client() as client:
        for body, fragment in cases:
            response = client.post(
                f"{mixed.url}/predict", content=body, headers={"content-type": "application/json"}
            )
            error = _assert_error_shape(response)
            if fragment is not None:
                assert fragment in error["message"], error
        # still serving
        assert client.post(f"{mixed.url}/predict", json={"records": [good]}).status_code == 200


def test_feedback_refuses_non_finite_huge_and_deep_values_storing_nothing(server):
    log = PredictionLog(server.log_path)
    before = log.feedback_count()
    cases = [
        ('{"items": [{"prediction_id": "a", "label": NaN}]}', "items.0.label", 400),
        ('{"items": [{"prediction_id": "a", "label": Infinity}]}', "items.0.label", 400),
        ('{"items": [{"prediction_id": "a", "label": 1e400}]}', "items.0.label", 400),
        ('{"items": [{"prediction_id": "a", "label": 99999999999999999999999}]}', "items.0.label"),
        ('{"items": [{"prediction_id": "a", "label": 1, "ts": 1e400}]}', "items.0.ts"),
        ('{"items": [{"prediction_id": "a", "label": 1, "ts": "soon"}]}', "items.0.ts"),
        (
            '{"items": [{"prediction_id": 12345678901234567890123, "label": 1}]}',
            "items.0.prediction_id",
        ),
        ('{"items": [{"prediction_id": "a", "label": [1]}]}', "items.0.label"),
        ('{"items": []}', "items"),
        ('{"items": ' + "[" * 100_000, None),
    ]
    with _client() as client:
        for body, field, *status in cases:
            response = client.post(
                f"{server.url}/feedback", content=body, headers={"content-type": "application/json"}
            )
            error = _assert_error_shape(response, *status)
            if field is not None:
                assert error["details"]["errors"][0]["field"] == field, error
                assert f"'{field}'" in error["message"], error
    assert log.feedback_count() == before
    log.close()


def test_admin_reload_refuses_bad_bodies_and_keeps_serving(bundles, tmp_path):
    with (
        Server(
            bundles["v1"], tmp_path / "p.db", env={"MLOPS_SERVING_ADMIN_TOKEN": TOKEN}
        ) as server,
        _client(headers={"Authorization": f"Bearer {TOKEN}"}) as client,
    ):
        url = f"{server.url}/admin/reload"
        head = '{"bundle": ' + json.dumps(str(bundles["v2"])) + ", "
        for body, field in (
            (head + '"canary_percent": NaN}', "canary_percent"),
            (head + '"canary_percent": 1e400}', "canary_percent"),
            (head + '"canary_percent": 99999999999999999999999}', "canary_percent"),
            (head + '"canary_percent": 101}', "canary_percent"),
            (head + '"shadow": "yes"}', "shadow"),
            (head + '"challenger_bundle": 3}', "challenger_bundle"),
            ('{"bundle": 1}', "bundle"),
            ('{"bundle": ' + "[" * 100_000, None),
            ("[1]", None),
        ):
            error = _assert_error_shape(
                client.post(url, content=body, headers={"content-type": "application/json"})
            )
            if field is not None:
                assert error["details"]["errors"][0]["field"] == field, error
        health = client.get(f"{server.url}/health").json()
        assert (health["version"], health["generation"]) == (1, 0)
        response = client.post(url, json={"bundle": str(bundles["v2"])})
        assert response.status_code == 200 and response.json()["version"] == 2


def test_openapi_documents_the_bodies_with_the_shared_models(server):
    with _client() as client:
        document = client.get(f"{server.url}/openapi.json").json()
    schemas = document["components"]["schemas"]
    for path, model in (
        ("/predict", "PredictRequest"),
        ("/feedback", "FeedbackRequest"),
        ("/admin/reload", "ReloadRequest"),
    ):
        body = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"] == {"$ref": f"#/components/schemas/{model}"}
        assert model in schemas
    assert set(schemas["PredictRequest"]["properties"]) == {"records", "columns"}
    assert set(schemas["FeedbackItem"]["required"]) == {"prediction_id", "label"}


def test_the_serving_process_imports_no_server_code():
    probe = (
        "import sys\n"
        "import jupyterlab_mlops.serving.__main__, jupyterlab_mlops.serving.app\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    forbidden = (
        "sqlalchemy",
        "alembic",
        "jupyter_server",
        "traitlets",
        "jupyterlab_mlops.app",
        "jupyterlab_mlops.store",
        "jupyterlab_mlops.registry",
        "jupyterlab_mlops.runs",
        "jupyterlab_mlops.drift",
        "jupyterlab_mlops.workflows",
        "jupyterlab_mlops.serving.service",
        "jupyterlab_mlops.serving.records",
        "jupyterlab_mlops.serving.deployers",
    )
    assert [name for name in loaded if name.startswith(forbidden)] == []
