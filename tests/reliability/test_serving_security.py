"""A real serving process (uvicorn) driven the way a hostile web page or a careless client would:
Host (DNS rebinding), Origin (cross-site requests), Content-Type, API keys (re-read from the
policy file), ``/metadata`` without paths, ``/feedback`` refusing unknown ids and non-finite
labels, and strict ``/predict`` inputs with the unknown-category policy."""

from __future__ import annotations

import json

import httpx
import pytest
from polling import wait_for
from prometheus_client.parser import text_string_to_metric_families
from registry_utils import pipeline_model, training_frame
from serving_utils import Server, make_bundle

from jupyterlab_mlops.serving.keys import write_policy
from jupyterlab_mlops.serving.prediction_log import PredictionLog
from jupyterlab_mlops.serving.security import key_hash

KEY = "mlops_test-key-one"
OTHER_KEY = "mlops_test-key-two"
ALLOWED_ORIGIN = "https://app.example"
JSON = {"content-type": "application/json"}


def _policy(*keys: str) -> dict:
    return {
        "allowed_hosts": ["model.internal"],
        "allowed_origins": [ALLOWED_ORIGIN],
        "require_api_key": True,
        "api_key_sha256": [key_hash(k) for k in keys],
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("secure")
    X, y = training_frame()
    bundle = make_bundle(root / "bundle", pipeline_model(X, y), X, name="churn", nullable=("city",))
    policy_file = root / "security.json"
    write_policy(policy_file, _policy(KEY))
    log = root / "predictions.sqlite"
    with Server(
        bundle,
        log,
        "--security-file",
        str(policy_file),
        "--max-string-length",
        "1024",
        "--unknown-categories",
        "accept",
        "--log-flush-interval",
        "0.05",
    ) as server:
        server.X = X
        server.policy_file = policy_file
        server.log_path = log
        server.root = root
        yield server


@pytest.fixture
def client(served):
    with httpx.Client(
        base_url=served.url,
        trust_env=False,
        timeout=30,
        headers={"authorization": f"Bearer {KEY}"},
    ) as c:
        yield c


def _row(served, **changes) -> dict:
    row = json.loads(served.X.iloc[[0]].to_json(orient="records"))[0]
    row.update(changes)
    return row


def _predict(client, *rows, **kwargs) -> httpx.Response:
    return client.post("/predict", json={"records": list(rows)}, **kwargs)


def _error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


def test_host_must_name_this_server(served, client):
    for host in ("evil.example", "evil.example:80", f"attacker.test:{served.port}"):
        error = _error(client.get("/metadata", headers={"host": host}), 421)
        assert error["code"] == "misdirected_request" and host in error["message"]
        assert _error(_predict(client, _row(served), headers={"host": host}), 421)
    for host in (f"127.0.0.1:{served.port}", f"localhost:{served.port}", "model.internal"):
        assert client.get("/metadata", headers={"host": host}).status_code == 200, host


def test_cross_origin_requests_are_refused_unless_allowed(served, client):
    evil = {"origin": "https://evil.example"}
    error = _error(_predict(client, _row(served), headers=evil), 403)
    assert error["code"] == "origin_not_allowed" and "evil.example" in error["message"]
    preflight = {**evil, "access-control-request-method": "POST"}
    assert client.options("/predict", headers=preflight).status_code == 403
    assert _error(client.post("/feedback", json={"items": []}, headers=evil), 403)

    allowed = {"origin": ALLOWED_ORIGIN, "access-control-request-method": "POST"}
    answer = client.options("/predict", headers=allowed)
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "authorization" in answer.headers["access-control-allow-headers"]
    answer = _predict(client, _row(served), headers={"origin": ALLOWED_ORIGIN})
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == (
        ALLOWED_ORIGIN
    )
    same_origin = {"origin": f"http://127.0.0.1:{served.port}"}
    assert _predict(client, _row(served), headers=same_origin).status_code == 200


def test_bodies_must_be_json(served, client):
    body = json.dumps({"records": [_row(served)]})
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"content-type": content_type} if content_type else {}
        for path in ("/predict", "/feedback"):
            error = _error(client.post(path, content=body, headers=headers), 415)
            assert error["code"] == "unsupported_media_type"
    ok = client.post(
        "/predict", content=body, headers={"content-type": "application/json; charset=utf-8"}
    )
    assert ok.status_code == 200


def test_api_keys_are_required_and_reloaded(served, client):
    row = _row(served)
    with httpx.Client(base_url=served.url, trust_env=False, timeout=30) as anonymous:
        for path in ("/metadata",):
            assert _error(anonymous.get(path), 401)["code"] == "unauthorized"
        response = _predict(anonymous, row)
        assert _error(response, 401) and response.headers["www-authenticate"].startswith("Bearer")
        assert _error(_predict(anonymous, row, headers={"authorization": "Bearer nope"}), 401)
        assert _error(_predict(anonymous, row, headers={"authorization": KEY}), 401)
        # probes and counters stay open
        assert anonymous.get("/health").status_code == 200
        assert anonymous.get("/metrics").status_code == 200
    try:
        write_policy(served.policy_file, _policy(OTHER_KEY))  # rotate: KEY revoked
        wait_for(lambda: _predict(client, row).status_code == 401, timeout=30)
        other = {"authorization": f"Bearer {OTHER_KEY}"}
        assert _predict(client, row, headers=other).status_code == 200
    finally:
        write_policy(served.policy_file, _policy(KEY))
        wait_for(lambda: _predict(client, row).status_code == 200, timeout=30)


def test_metadata_shows_no_paths(served, client):
    metadata = client.get("/metadata").json()
    text = json.dumps(metadata)
    assert str(served.root) not in text and "/tmp" not in text
    assert "bundle" not in metadata and metadata["prediction_log"] is True

    def strings(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)
        elif isinstance(value, str):
            yield value

    assert not [s for s in strings(metadata) if s.startswith("/")]


def test_feedback_refuses_unknown_ids_and_non_finite_labels(served, client):
    known = _predict(client, _row(served)).json()["prediction_ids"][0]
    error = _error(
        client.post("/feedback", json={"items": [{"prediction_id": "never-made", "label": 1}]}), 404
    )
    assert error["code"] == "unknown_prediction" and "never-made" in error["message"]
    mixed = {"items": [{"prediction_id": known, "label": 1}, {"prediction_id": "x", "label": 0}]}
    assert _error(client.post("/feedback", json=mixed), 404)["details"]["prediction_ids"] == ["x"]
    for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
        body = f'{{"items": [{{"prediction_id": "{known}", "label": {literal}}}]}}'
        error = _error(client.post("/feedback", content=body, headers=JSON), 400)
        assert error["details"]["errors"][0]["field"] == "items.0.label"
    log = PredictionLog(served.log_path)
    try:
        assert "x" not in set(log.labelled()["id"])  # nothing of a refused body was stored
        assert client.post("/feedback", json={"items": [mixed["items"][0]]}).json() == {"stored": 1}
        assert known in set(log.labelled()["id"])
    finally:
        log.close()


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"city": 3}, "city", "expected a category (a string), got number"),
        ({"city": True}, "city", "got boolean"),
        ({"mean radius": True}, "mean radius", "expected a number, got boolean"),
        ({"city": "p" * 1025}, "city", "longer than 1024 characters"),
        ({"member": 1}, "member", "expected true or false"),
    ],
)
def test_predict_inputs_are_strict(served, client, change, field, fragment):
    error = _error(_predict(client, _row(served), _row(served, **change)), 422)
    assert error["details"]["errors"][0]["field"] == field
    assert fragment in error["message"] and "rows 1" in error["message"]


def test_columns_payload_refuses_booleans_in_numeric_columns(served, client):
    columns = {k: [v] for k, v in _row(served, **{"mean texture": False}).items()}
    error = _error(client.post("/predict", json={"columns": columns}), 422)
    assert error["details"]["errors"][0]["field"] == "mean texture"


def _unknown_counter(client) -> float:
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        if family.name == "mlops_unknown_categories":
            return sum(s.value for s in family.samples if s.labels.get("column") == "city")
    return 0.0


def test_unknown_categories_are_accepted_counted_and_flagged(served, client):
    before = _unknown_counter(client)
    answer = _predict(client, _row(served, city="atlantis"), _row(served), _row(served, city="mu"))
    assert answer.status_code == 200, answer.text
    assert _unknown_counter(client) == before + 2
    ids = answer.json()["prediction_ids"]
    log = PredictionLog(served.log_path)
    try:
        wait_for(lambda: set(ids) <= set(log.read()["id"]))
        frame = log.read()
        rows = frame.set_index("id").loc[ids]
        assert list(rows["city"])[::2] == ["atlantis", "mu"]
        assert frame.attrs["unknown_categories"]["city"] >= 2
        outputs = dict(log._query("SELECT id, outputs FROM predictions WHERE id IN (?, ?, ?)", ids))
        assert [json.loads(outputs[i]).get("unknown_categories") for i in ids] == [
            ["city"],
            None,
            ["city"],
        ]
    finally:
        log.close()


def test_unknown_categories_rejected_by_policy(served, tmp_path):
    policy_file = tmp_path / "security.json"
    write_policy(policy_file, {"require_api_key": False})
    bundle = served.root / "bundle"
    with (
        Server(
            bundle,
            tmp_path / "p.sqlite",
            "--security-file",
            str(policy_file),
            "--unknown-categories",
            '{"city": "reject"}',
        ) as strict,
        httpx.Client(base_url=strict.url, trust_env=False, timeout=30) as client,
    ):
        error = _error(_predict(client, _row(served), _row(served, city="atlantis")), 422)
        assert error["details"]["errors"][0] == {
            "field": "city",
            "message": error["details"]["errors"][0]["message"],
            "rows": [1],
        }
        assert "'atlantis'" in error["message"] and "reject" in error["message"]
        assert _predict(client, _row(served), _row(served, city=None)).status_code == 200
        assert _unknown_counter(client) == 0
