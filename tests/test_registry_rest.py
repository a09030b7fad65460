"""The registry's REST API in a real Jupyter server: shapes for the panel, registration from a
run's artifacts, promotion/rollback/audit, downloads, and JSON errors on every bad request."""

from __future__ import annotations

import hashlib
import json
import pickle

import pytest
import skops.io as sio
from registry_utils import PROVENANCE, add_run, pipeline_model, simple_model, training_frame
from tornado.httpclient import HTTPClientError

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.store import models as m


@pytest.fixture
def mlops(jp_serverapp):
    return jp_serverapp.web_app.settings["mlops"]


async def call(jp_fetch, *path, method="GET", body=None, params=None):
    kwargs = {"method": method, "params": params or {}}
    if body is not None:
        kwargs["body"] = body if isinstance(body, str) else json.dumps(body)
    elif method in ("POST", "PUT"):
        kwargs["body"] = "{}"
    response = await jp_fetch("mlops", "api", "models", *path, **kwargs)
    return response.code, json.loads(response.body)


async def error(jp_fetch, *path, method="GET", body=None, params=None):
    with pytest.raises(HTTPClientError) as raised:
        await call(jp_fetch, *path, method=method, body=body, params=params)
    response = raised.value.response
    assert response.headers["Content-Type"].startswith("application/json")
    payload = json.loads(response.body)
    assert set(payload) == {"error"} and payload["error"]["message"]
    assert "Traceback" not in payload["error"]["message"]
    return raised.value.code, payload["error"]


def seed_registry(mlops, n_versions=3):
    for seed in range(n_versions):
        mlops.registry.register(
            simple_model(seed),
            "churn",
            metrics={"auc": round(0.8 + seed / 100, 2)},
            tags={"team": "risk"},
            user="alice",
        )


async def test_list_and_get_models_with_versions_and_aliases(jp_fetch, mlops):
    seed_registry(mlops)
    mlops.registry.register(simple_model(), "fraud", user="bob")
    mlops.registry.set_alias("churn", "production", 2, user="alice")
    code, page = await call(jp_fetch)
    assert code == 200
    assert page["total"] == 2 and page["offset"] == 0 and page["limit"] == 50
    churn = page["items"][0]
    assert churn["name"] == "churn"
    assert churn["latest_version"] == 3 and churn["version_count"] == 3
    assert churn["aliases"] == {"production": 2}
    assert churn["latest"]["metrics"] == {"auc": 0.82}
    assert "profile" not in churn["latest"]

    _, filtered = await call(jp_fetch, params={"alias": "production"})
    assert [m["name"] for m in filtered["items"]] == ["churn"]
    _, filtered = await call(jp_fetch, params={"tag": "team=risk"})
    assert [m["name"] for m in filtered["items"]] == ["churn"]
    _, filtered = await call(jp_fetch, params={"q": "fra", "limit": "1"})
    assert [m["name"] for m in filtered["items"]] == ["fraud"] and filtered["limit"] == 1

    code, model = await call(jp_fetch, "churn")
    assert code == 200 and model == churn

    _, versions = await call(jp_fetch, "churn", "versions", params={"limit": "2"})
    assert versions["total"] == 3 and [v["version"] for v in versions["items"]] == [3, 2]
    assert versions["items"][1]["aliases"] == ["production"]
    _, older = await call(jp_fetch, "churn", "versions", params={"limit": "2", "offset": "2"})
    assert [v["version"] for v in older["items"]] == [1]

    _, detail = await call(jp_fetch, "churn", "versions", "2")
    assert detail["version"] == 2 and detail["aliases"] == ["production"]
    assert detail["signature"]["inputs"][0]["name"] == "f0"
    _, by_alias = await call(jp_fetch, "churn", "versions", "@production")
    assert by_alias == detail
    _, by_alias = await call(jp_fetch, "churn", "aliases", "production")
    assert by_alias == detail
    _, aliases = await call(jp_fetch, "churn", "aliases")
    assert [(a["alias"], a["version"]) for a in aliases["items"]] == [("production", 2)]


async def test_promote_refused_by_gate_then_forced_then_rolled_back(jp_fetch, mlops):
    seed_registry(mlops)
    code, gate = await call(
        jp_fetch,
        "churn",
        "gate",
        method="PUT",
        body={"gate": {"compare": {"metric": "auc", "mode": "max"}}, "reason": "policy"},
    )
    assert code == 200 and gate["gate"]["compare"]["metric"] == "auc"
    _, gate = await call(jp_fetch, "churn", "gate")
    assert gate == {"gate": {"compare": {"metric": "auc", "mode": "max", "min_delta": 0.0}}}

    code, promoted = await call(
        jp_fetch, "churn", "aliases", "production", method="PUT", body={"version": 2}
    )
    assert code == 200 and promoted["version"] == 2 and promoted["previous_version"] is None

    status, err = await error(
        jp_fetch, "churn", "aliases", "production", method="PUT", body={"version": 1}
    )
    assert status == 409 and err["code"] == "gate_failed"
    assert "auc 0.8 < 0.81 of v2 (current production, mode max)" in err["message"]
    assert err["details"]["gate"]["passed"] is False

    code, forced = await call(
        jp_fetch,
        "churn",
        "aliases",
        "production",
        method="PUT",
        body={"version": 1, "force": True, "reason": "rollback of data bug"},
    )
    assert code == 200 and forced["forced"] is True
    code, rolled = await call(
        jp_fetch, "churn", "aliases", "production", "rollback", method="POST", body={"reason": "x"}
    )
    assert code == 200 and rolled == {
        "name": "churn",
        "alias": "production",
        "version": 2,
        "previous_version": 1,
    }
    _, audit = await call(jp_fetch, "churn", "audit", params={"limit": "3"})
    assert audit["total"] == 8  # 3 registrations, gate, set, refusal, forced set, rollback
    assert [
        (e["action"], e["from_version"], e["to_version"], e["forced"]) for e in audit["items"]
    ] == [
        ("rollback", 1, 2, False),
        ("set_alias", 2, 1, True),
        ("promotion_refused", 2, 1, False),
    ]
    assert audit["items"][1]["reason"] == "rollback of data bug"
    # A shared-token (anonymous) request is recorded as the account the server runs as.
    assert audit["items"][0]["user"] == MLOps.current_user()

    code, deleted = await call(jp_fetch, "churn", "aliases", "production", method="DELETE")
    assert code == 200 and deleted["previous_version"] == 2


async def test_lineage_route_returns_the_run_provenance(jp_fetch, mlops):
    run_id = add_run(mlops, provenance=PROVENANCE, status="succeeded")
    mlops.registry.register(simple_model(), "churn", run_id=run_id)
    code, chain = await call(jp_fetch, "churn", "versions", "1", "lineage")
    assert code == 200
    assert chain["run"]["id"] == run_id
    assert chain["notebook"] == {"path": "train.ipynb", "sha256": PROVENANCE["notebook_sha256"]}
    assert chain["parameters"] == PROVENANCE["parameters"]
    assert chain["inputs"] == PROVENANCE["inputs"]
    assert chain["git"] == PROVENANCE["git"]
    assert chain["environment"]["packages"] == PROVENANCE["packages"]


async def test_a_version_downloads_as_a_zipped_mlflow_model(jp_fetch, mlops):
    import io
    import zipfile

    import yaml

    mlops.registry.register(simple_model(), "churn")
    response = await jp_fetch("mlops", "api", "models", "churn", "versions", "1", "mlflow")
    assert response.headers["Content-Type"] == "application/zip"
    assert 'filename="churn-v1-mlflow.zip"' in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.body))
    assert {"MLmodel", "model.pkl", "requirements.txt", "python_env.yaml"} <= set(
        archive.namelist()
    )
    mlmodel = yaml.safe_load(archive.read("MLmodel"))
    assert mlmodel["flavors"]["sklearn"]["pickled_model"] == "model.pkl"
    assert pickle.loads(archive.read("model.pkl")).__class__.__name__ == "LogisticRegression"
    code, problem = await error(jp_fetch, "churn", "versions", "9", "mlflow")
    assert code == 404 and "9" in problem["message"]


async def test_artifact_download_is_streamed_with_its_sha256(jp_fetch, mlops):
    version = mlops.registry.register(simple_model(), "churn")
    response = await jp_fetch("mlops", "api", "models", "churn", "versions", "1", "artifact")
    assert response.code == 200
    assert response.headers["X-MLOps-Sha256"] == version["artifact_sha256"]
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert hashlib.sha256(response.body).hexdigest() == version["artifact_sha256"]
    assert 'filename="churn-v1.skops"' in response.headers["Content-Disposition"]
    assert sio.loads(response.body).__class__.__name__ == "LogisticRegression"

    path = mlops.artifacts.local_path(version["artifact_sha256"])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(HTTPClientError) as raised:
        await jp_fetch("mlops", "api", "models", "churn", "versions", "1", "artifact")
    assert raised.value.code == 422
    assert json.loads(raised.value.response.body)["error"]["code"] == "integrity_error"


def run_with_artifacts(mlops, files: dict[str, bytes]) -> str:
    run_id = add_run(mlops, provenance=PROVENANCE, status="succeeded", parameters={"C": 0.5})
    with mlops.db.session() as session:
        for name, data in files.items():
            sha = mlops.artifacts.put_bytes(data)
            session.add(m.RunArtifact(run_id=run_id, name=name, sha256=sha, size=len(data)))
        session.add(m.RunMetric(run_id=run_id, key="auc", value=0.7))
        session.add(m.RunMetric(run_id=run_id, key="auc", value=0.9))
    return run_id


async def test_register_a_run_artifact_over_rest(jp_fetch, mlops):
    X, y = training_frame()
    model = pipeline_model(X, y)
    frame = X.assign(malignant=y)
    run_id = run_with_artifacts(
        mlops,
        {"model.skops": sio.dumps(model), "train.csv": frame.to_csv(index=False).encode()},
    )
    code, version = await call(
        jp_fetch,
        "churn",
        "versions",
        method="POST",
        body={
            "run_id": run_id,
            "artifact": "model.skops",
            "sample_artifact": "train.csv",
            "target": "malignant",
            "tags": {"source": "rest"},
        },
    )
    assert code == 201
    assert version["version"] == 1 and version["run_id"] == run_id
    assert version["flavour"] == "sklearn-pipeline"
    assert version["metrics"] == {"auc": 0.9}  # the run's last logged value
    assert version["params"] == {"C": 0.5}
    assert [c["name"] for c in version["signature"]["inputs"]] == list(X.columns)
    assert version["signature"]["output"]["classes"] == [0, 1]
    assert version["profile"]["n_rows"] == len(X)
    loaded = mlops.registry.load_model("churn/1")
    assert (loaded.predict(X) == model.predict(X)).all()

    # by sha256 and without a sample: the signature comes from the fitted model
    sha = version["artifact_sha256"]
    code, second = await call(
        jp_fetch, "churn", "versions", method="POST", body={"run_id": run_id, "artifact": sha}
    )
    assert code == 201 and second["version"] == 2
    assert second["signature"]["inferred_from"] == "model"
    assert [c["name"] for c in second["signature"]["inputs"]] == list(X.columns)


async def test_register_refuses_pickles_without_trust(jp_fetch, mlops):
    run_id = run_with_artifacts(mlops, {"model.pkl": pickle.dumps(simple_model())})
    status, err = await error(
        jp_fetch,
        "churn",
        "versions",
        method="POST",
        body={"run_id": run_id, "artifact": "model.pkl"},
    )
    assert status == 422 and err["code"] == "untrusted_artifact"
    assert mlops.counts()["model_versions"] == 0
    code, version = await call(
        jp_fetch,
        "churn",
        "versions",
        method="POST",
        body={"run_id": run_id, "artifact": "model.pkl", "trust": True},
    )
    assert code == 201 and version["serialization"] == "pickle"


ERROR_CASES = [
    (("ghost",), "GET", None, None, 404, "not_found", "model 'ghost' not found"),
    (("ghost", "versions"), "GET", None, None, 404, "not_found", "model 'ghost' not found"),
    (("churn", "versions", "9"), "GET", None, None, 404, "not_found", "version 9"),
    (("churn", "versions", "abc"), "GET", None, None, 400, "invalid_input", "positive integer"),
    (("churn", "versions", "9", "lineage"), "GET", None, None, 404, "not_found", "version 9"),
    (("churn", "versions", "9", "artifact"), "GET", None, None, 404, "not_found", "version 9"),
    (("churn", "aliases", "prod"), "GET", None, None, 404, "not_found", "alias 'prod'"),
    (("churn", "aliases", "prod"), "DELETE", None, None, 404, "not_found", "alias 'prod'"),
    (
        ("churn", "aliases", "prod"),
        "PUT",
        "{nope",
        None,
        400,
        "invalid_input",
        "not valid JSON",
    ),
    (("churn", "aliases", "prod"), "PUT", "[1]", None, 400, "invalid_input", "JSON object"),
    (
        ("churn", "aliases", "prod"),
        "PUT",
        {},
        None,
        400,
        "invalid_input",
        "'version' is required",
    ),
    (
        ("churn", "aliases", "prod"),
        "PUT",
        {"version": "x"},
        None,
        400,
        "invalid_input",
        "integer",
    ),
    (
        ("churn", "aliases", "prod"),
        "PUT",
        {"version": 0},
        None,
        400,
        "invalid_input",
        "positive",
    ),
    (("churn", "aliases", "prod"), "PUT", {"version": 9}, None, 404, "not_found", "version 9"),
    (
        ("churn", "aliases", "prod"),
        "PUT",
        {"version": 1, "force": "yes"},
        None,
        400,
        "invalid_input",
        "'force' must be true or false",
    ),
    (
        ("churn", "aliases", "prod"),
        "PUT",
        {"version": 1, "force": True},
        None,
        400,
        "invalid_input",
        "reason is required",
    ),
    (
        ("churn", "aliases", "prod"),
        "PUT",
        {"version": 1, "extra": 1},
        None,
        400,
        "invalid_input",
        "unknown field",
    ),
    (
        ("churn", "aliases", "latest"),
        "PUT",
        {"version": 1},
        None,
        400,
        "invalid_input",
        "reserved",
    ),
    (
        ("churn", "aliases", "prod", "rollback"),
        "POST",
        None,
        None,
        409,
        "conflict",
        "no earlier version",
    ),
    (("churn", "versions", "1", "archive"), "POST", None, None, 409, "conflict", "staging"),
    (
        ("churn", "gate"),
        "PUT",
        {"gate": {"thresholds": {"auc": {"~": 1}}}},
        None,
        400,
        "invalid_input",
        "unknown operator",
    ),
    (("churn", "gate"), "PUT", {"gate": []}, None, 400, "invalid_input", "JSON object"),
    (("churn", "versions"), "POST", {}, None, 400, "invalid_input", "'run_id' is required"),
    (
        ("churn", "versions"),
        "POST",
        {"run_id": "nope", "artifact": "m.skops"},
        None,
        404,
        "not_found",
        "run 'nope' not found",
    ),
    (
        ("churn", "versions"),
        "POST",
        {"run_id": 3, "artifact": "m"},
        None,
        400,
        "invalid_input",
        "'run_id' must be a string",
    ),
    (("bad name!", "versions"), "POST", {}, None, 400, "invalid_input", "invalid model name"),
    ((), "GET", None, {"limit": "0"}, 400, "invalid_input", "'limit'"),
    ((), "GET", None, {"tag": "a b"}, 400, "invalid_input", "invalid tag filter"),
    ((), "GET", None, {"alias": "9x"}, 400, "invalid_input", "invalid alias"),
    (
        ("churn", "versions"),
        "GET",
        None,
        {"archived": "maybe"},
        400,
        "invalid_input",
        "'archived'",
    ),
    (("churn", "audit"), "GET", None, {"offset": "-1"}, 400, "invalid_input", "'offset'"),
    (("churn",), "PATCH", {"tags": "x"}, None, 400, "invalid_input", "tags must be"),
]


async def test_error_paths_return_json_errors(jp_fetch, mlops):
    """One server for all cases (each is independent: none of them changes the state)."""
    seed_registry(mlops, n_versions=1)
    mlops.registry.set_alias("churn", "staging", 1)
    for path, method, body, params, status, code, message in ERROR_CASES:
        got_status, err = await error(jp_fetch, *path, method=method, body=body, params=params)
        case = f"{method} {'/'.join(path)} {body!r} {params!r}: {err}"
        assert (got_status, err["code"]) == (status, code), case
        assert message in err["message"], case
    assert mlops.counts()["model_versions"] == 1


async def test_register_errors_for_run_artifacts(jp_fetch, mlops):
    run_id = run_with_artifacts(mlops, {"notes.txt": b"hello"})
    status, err = await error(
        jp_fetch, "churn", "versions", method="POST", body={"run_id": run_id, "artifact": "x.skops"}
    )
    assert status == 404 and "its artifacts: notes.txt" in err["message"]
    status, err = await error(
        jp_fetch,
        "churn",
        "versions",
        method="POST",
        body={"run_id": run_id, "artifact": "notes.txt"},
    )
    assert status == 400 and "not a model file" in err["message"]
    assert mlops.counts()["models"] == 0


async def test_archive_and_unarchive_over_rest(jp_fetch, mlops):
    seed_registry(mlops, n_versions=2)
    code, archived = await call(
        jp_fetch, "churn", "versions", "1", "archive", method="POST", body={"reason": "old"}
    )
    assert code == 200 and archived["archived"] is True
    _, active = await call(jp_fetch, "churn", "versions", params={"archived": "false"})
    assert [v["version"] for v in active["items"]] == [2]
    status, err = await error(
        jp_fetch, "churn", "aliases", "staging", method="PUT", body={"version": 1}
    )
    assert status == 409 and "archived" in err["message"]
    code, restored = await call(jp_fetch, "churn", "versions", "1", "unarchive", method="POST")
    assert code == 200 and restored["archived"] is False
