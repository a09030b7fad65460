"""The standard protocols of a real serving process: Open Inference Protocol (driven by Triton's
own ``tritonclient``, unchanged, and by hand per the spec) and MLflow's ``/invocations`` — each
gives the same predictions as ``model.predict``/``predict_proba`` and as ``/predict``, goes
through the same validation, API-key check, prediction log and metrics."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from prometheus_client.parser import text_string_to_metric_families
from registry_utils import training_frame
from serving_utils import Server, make_bundle, mixed_pipeline
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from tritonclient.utils import InferenceServerException

from jupyterlab_mlops.serving.deployers.base import free_port
from jupyterlab_mlops.serving.keys import write_policy
from jupyterlab_mlops.serving.prediction_log import PredictionLog
from jupyterlab_mlops.serving.security import key_hash

KEY = "mlops_protocol-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _client() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=30, headers=dict(AUTH))


def _wait_for(condition, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def cancer(tmp_path_factory):
    """A classifier behind an API key."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = RandomForestClassifier(n_estimators=20, random_state=0).fit(X, y)
    root = tmp_path_factory.mktemp("oip")
    bundle = make_bundle(root / "bundle", model, X, version=3)
    policy = root / "security.json"
    write_policy(policy, {"require_api_key": True, "api_key_sha256": [key_hash(KEY)]})
    log = root / "predictions.db"
    with Server(bundle, log, "--security-file", str(policy), "--max-latency-ms", "10") as server:
        server.X, server.model, server.log_path = X, model, log
        yield server


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Numeric, categorical (unknown categories rejected) and boolean inputs."""
    X, y = training_frame()
    X = X.fillna({"city": "unknown"})
    model = mixed_pipeline(X, y, handle_unknown="ignore")
    root = tmp_path_factory.mktemp("oip-mixed")
    bundle = make_bundle(root / "bundle", model, X, name="mixed")
    with Server(bundle, root / "p.db", "--unknown-categories", "reject") as server:
        server.X, server.model = X, model
        yield server


# (tritonclient adds its Inference-Header-Content-Length to the headers dict it is given: a fresh
# dict per call)


def _triton(server) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(server.url.removeprefix("http://"))


def test_tritonclient_works_unchanged(cancer):
    X, model = cancer.X, cancer.model
    frame = X.sample(40, random_state=1)
    client = _triton(cancer)
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("cancer") and client.is_model_ready("cancer", "3")
        assert not client.is_model_ready("other")
        assert client.get_server_metadata()["name"] == "jupyterlab-mlops"
        meta = client.get_model_metadata("cancer", headers=dict(AUTH))
        assert meta["versions"] == ["3"]
        assert [i["name"] for i in meta["inputs"]] == list(X.columns)
        assert {i["datatype"] for i in meta["inputs"]} == {"FP64"}
        assert {o["name"]: o["shape"] for o in meta["outputs"]}["predict_proba"] == [-1, 2]

        # one tensor per column, binary tensor data both ways (the client's defaults)
        inputs = []
        for column in X.columns:
            tensor = triton.InferInput(column, [len(frame)], "FP64")
            tensor.set_data_from_numpy(frame[column].to_numpy(np.float64))
            inputs.append(tensor)
        result = client.infer("cancer", inputs, headers=dict(AUTH))
        assert result.as_numpy("predict").tolist() == model.predict(frame).tolist()
        np.testing.assert_allclose(result.as_numpy("predict_proba"), model.predict_proba(frame))

        # one [rows, n] tensor in signature order, JSON both ways, a version and an id
        matrix = triton.InferInput("features", list(frame.shape), "FP64")
        matrix.set_data_from_numpy(frame.to_numpy(np.float64), binary_data=False)
        result = client.infer(
            "cancer",
            [matrix],
            model_version="3",
            request_id="req-7",
            outputs=[
                triton.InferRequestedOutput("predict", binary_data=False),
                triton.InferRequestedOutput("prediction_id", binary_data=False),
            ],
            parameters={"note": "accepted"},
            headers=dict(AUTH),
        )
        response = result.get_response()
        assert response["id"] == "req-7" and response["model_version"] == "3"
        assert [o["name"] for o in response["outputs"]] == ["predict", "prediction_id"]
        assert result.as_numpy("predict").tolist() == model.predict(frame).tolist()
        assert len(set(result.as_numpy("prediction_id").tolist())) == len(frame)

        with pytest.raises(InferenceServerException, match="API key"):
            client.infer("cancer", inputs)
        with pytest.raises(InferenceServerException, match="unknown model 'other'"):
            client.infer("other", inputs, headers=dict(AUTH))
    finally:
        client.close()


def _csv(frame) -> bytes:
    return frame.to_csv(index=False).encode()


def test_every_protocol_gives_the_same_predictions_logged_and_counted(cancer):
    X, model = cancer.X, cancer.model
    frame = X.sample(25, random_state=2)
    expected = model.predict(frame).tolist()
    records = frame.to_dict("records")
    rows = frame.to_numpy().tolist()
    tensors = {
        "inputs": [
            {"name": c, "shape": [len(frame)], "datatype": "FP64", "data": frame[c].tolist()}
            for c in X.columns
        ],
        "outputs": [{"name": "predict"}, {"name": "predict_proba"}],
    }
    nested = {
        "inputs": [{"name": "x", "shape": list(frame.shape), "datatype": "FP64", "data": rows}]
    }
    invocations = [
        {"dataframe_split": {"columns": list(X.columns), "data": rows}},
        {"dataframe_records": records},
        {"instances": records},
        {"inputs": frame.to_dict("list")},
        {"inputs": rows, "params": {"ignored": 1}},
    ]
    url = cancer.url
    with _client() as client:
        before = client.get(f"{url}/metrics").text
        ours = client.post(f"{url}/predict", json={"records": records}).json()
        assert ours["predictions"] == expected
        for body in (tensors, nested):
            answer = client.post(f"{url}/v2/models/cancer/infer", json=body)
            assert answer.status_code == 200, answer.text
            outputs = {o["name"]: o for o in answer.json()["outputs"]}
            assert outputs["predict"]["data"] == expected
            assert outputs["predict"]["datatype"] == "INT64"
            if "predict_proba" in outputs:
                assert outputs["predict_proba"]["shape"] == [len(frame), 2]
                np.testing.assert_allclose(
                    np.reshape(outputs["predict_proba"]["data"], (-1, 2)),
                    model.predict_proba(frame),
                )
        for body in invocations:
            answer = client.post(f"{url}/invocations", json=body)
            assert answer.status_code == 200, (body.keys(), answer.text)
            assert answer.json() == {"predictions": expected}
        answer = client.post(
            f"{url}/invocations", content=_csv(frame), headers={"Content-Type": "text/csv"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"predictions": expected}
        after = client.get(f"{url}/metrics").text

    def rows_ok(text: str) -> float:
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "mlops_predicted_rows_total" and sample.labels["model"] == "cancer"
        )

    answered = 1 + 2 + len(invocations) + 1
    assert rows_ok(after) - rows_ok(before) == answered * len(frame)
    log = PredictionLog(cancer.log_path)
    try:
        _wait_for(
            lambda: log.count() >= (answered + 1) * len(frame) - len(frame),
            "every protocol's rows in the prediction log",
        )
    finally:
        log.close()


def test_protocol_errors_in_each_protocols_shape(cancer):
    url, X = cancer.url, cancer.X
    column = X.columns[0]
    good = {
        "inputs": [
            {"name": c, "shape": [1], "datatype": "FP64", "data": [float(X[c].iloc[0])]}
            for c in X.columns
        ]
    }
    with _client() as client:
        for path, status in (
            ("/v2/models/other", 404),
            ("/v2/models/cancer/versions/9", 404),
            ("/v2/models/other/ready", 404),
        ):
            answer = client.get(f"{url}{path}")
            assert answer.status_code == status and isinstance(answer.json()["error"], str)
        bad_bodies = [
            (b"{", "not valid JSON"),
            ({"inputs": []}, "'inputs'"),
            (
                {"inputs": [{"name": column, "shape": [2], "datatype": "FP64", "data": [1.0]}]},
                "shape",
            ),
            (
                {"inputs": [{"name": column, "shape": [1], "datatype": "FP99", "data": [1]}]},
                "datatype",
            ),
            ({**good, "outputs": [{"name": "explain"}]}, "unknown output 'explain'"),
            (
                {"inputs": [dict(good["inputs"][0], data=["x"]), *good["inputs"][1:]]},
                f"'{column}': expected a number",
            ),
        ]
        for body, fragment in bad_bodies:
            kwargs = {"content": body, "headers": {"Content-Type": "application/json"}}
            if not isinstance(body, bytes):
                kwargs = {"json": body}
            answer = client.post(f"{url}/v2/models/cancer/infer", **kwargs)
            assert answer.status_code == 400, answer.text
            assert fragment in answer.json()["error"], answer.json()
        answer = client.post(f"{url}/v2/models/other/infer", json=good)
        assert answer.status_code == 404 and "unknown model" in answer.json()["error"]
        for body, fragment in (
            ({"records": []}, "exactly one of"),
            ({"dataframe_split": {"columns": [column], "data": [[1, 2]]}}, "every row must"),
            ({"dataframe_records": [{column: "x"}]}, f"'{column}': expected a number"),
        ):
            answer = client.post(f"{url}/invocations", json=body)
            assert answer.status_code == 400, answer.text
            assert answer.json()["error_code"] == "BAD_REQUEST"
            assert fragment in answer.json()["message"]
        answer = client.post(
            f"{url}/invocations", content=b"a=1", headers={"Content-Type": "text/plain"}
        )
        assert answer.status_code == 415 and "error_code" in answer.json()
    with httpx.Client(trust_env=False, timeout=30) as anonymous:
        assert anonymous.get(f"{url}/v2/health/ready").status_code == 200
        assert anonymous.get(f"{url}/v2/models/cancer/ready").status_code == 200
        refused = anonymous.post(f"{url}/invocations", json={"dataframe_records": []})
        assert refused.status_code == 401 and "API key" in refused.json()["message"]
        refused = anonymous.get(f"{url}/v2/models/cancer")
        assert refused.status_code == 401 and "API key" in refused.json()["error"]
        cross_site = anonymous.post(
            f"{url}/v2/models/cancer/infer",
            content=b"{}",
            headers={**AUTH, "Origin": "https://evil.example"},
        )
        assert cross_site.status_code == 403 and isinstance(cross_site.json()["error"], str)


def test_bytes_and_bool_tensors_and_strict_categories(mixed):
    X, model = mixed.X, mixed.model
    frame = X.iloc[:12]
    with httpx.Client(trust_env=False, timeout=30) as client:
        meta = client.get(f"{mixed.url}/v2/models/mixed").json()
        types = {i["name"]: i["datatype"] for i in meta["inputs"]}
        assert types["city"] == "BYTES" and types["member"] == "BOOL"

        def tensors(data):
            return {
                "inputs": [
                    {
                        "name": c,
                        "shape": [len(data)],
                        "datatype": types[c],
                        "data": data[c].tolist(),
                    }
                    for c in X.columns
                ]
            }

        answer = client.post(f"{mixed.url}/v2/models/mixed/infer", json=tensors(frame))
        assert answer.status_code == 200, answer.text
        predict = {o["name"]: o for o in answer.json()["outputs"]}["predict"]
        assert predict["data"] == model.predict(frame).tolist()
        answer = client.post(
            f"{mixed.url}/invocations", content=_csv(frame), headers={"Content-Type": "text/csv"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == model.predict(frame).tolist()

        unknown = frame.assign(city=["Atlantis"] * len(frame))
        answer = client.post(f"{mixed.url}/v2/models/mixed/infer", json=tensors(unknown))
        assert (
            answer.status_code == 400
            and "'city': unknown category 'Atlantis'" in answer.json()["error"]
        )
        answer = client.post(
            f"{mixed.url}/invocations", json={"dataframe_records": unknown.to_dict("records")}
        )
        assert (
            answer.status_code == 400 and "unknown category 'Atlantis'" in answer.json()["message"]
        )


def test_a_bundle_that_will_not_deserialise_ends_the_start_with_status_2(tmp_path):
    """The sha256 matches, so the server starts while the model deserialises in its thread; the
    pickle is refused there (no --trust): one line, status 2, no traceback, never ready."""
    import pickle
    import subprocess
    import sys

    from jupyterlab_mlops.serving.bundle import write_metadata
    from jupyterlab_mlops.store.artifacts import sha256_bytes

    data = pickle.dumps({"not": "a model"})
    (tmp_path / "model.pkl").write_bytes(data)
    write_metadata(
        tmp_path,
        {
            "name": "pickled",
            "version": 1,
            "artifact_sha256": sha256_bytes(data),
            "serialization": "pickle",
            "model_file": "model.pkl",
            "signature": {"inputs": [{"name": "x", "kind": "numeric", "dtype": "float64"}]},
        },
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyterlab_mlops.serving",
            "--bundle",
            str(tmp_path),
            "--prediction-log",
            str(tmp_path / "p.db"),
            "--port",
            str(free_port()),
            "--log-level",
            "warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "error:" in result.stderr and "trust" in result.stderr
    assert "Traceback" not in result.stderr
