"""Many models in one process: real serving processes (``--models-file``) over real HTTP, and
multi-model local deployments made through the service (alias following per model, bad
configs)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from deploy_support import register_models, stopping_all, wait_for
from prometheus_client.parser import text_string_to_metric_families
from serving_utils import Server, make_bundle
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import Ridge
from sklearn.tree import DecisionTreeClassifier

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.errors import InvalidInput, NotFound
from jupyterlab_mlops.serving.keys import write_policy
from jupyterlab_mlops.serving.prediction_log import PredictionLog
from jupyterlab_mlops.serving.security import key_hash


def _client() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=30)


def _records(frame) -> dict:
    return {"records": frame.to_dict(orient="records")}


def _counters(url: str) -> dict[tuple[str, str], float]:
    """(metric, model) -> value of the hosted-model lifecycle counters in ``/metrics``."""
    text = httpx.get(f"{url}/metrics", trust_env=False, timeout=10).text
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in (
                "mlops_model_loads_total",
                "mlops_model_unloads_total",
                "mlops_model_reloads_total",
            ):
                found[(sample.name.removesuffix("_total"), sample.labels["model"])] = sample.value
    return found


def _loaded(url: str) -> dict[str, bool]:
    health = httpx.get(f"{url}/health", trust_env=False, timeout=10).json()
    return {m["name"]: m["loaded"] for m in health["models"]}


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    """A classifier ("cancer") and a regressor ("diabetes"), each with its bundle."""
    root = tmp_path_factory.mktemp("multi")
    Xc, yc = load_breast_cancer(return_X_y=True, as_frame=True)
    Xd, yd = load_diabetes(return_X_y=True, as_frame=True)
    cancer = DecisionTreeClassifier(max_depth=3, random_state=0).fit(Xc, yc)
    diabetes = Ridge(alpha=1.0).fit(Xd, yd)
    return {
        "root": root,
        "cancer": (Xc, cancer, make_bundle(root / "cancer", cancer, Xc, name="cancer", version=4)),
        "diabetes": (
            Xd,
            diabetes,
            make_bundle(root / "diabetes", diabetes, Xd, name="diabetes", version=2),
        ),
    }


def _models_file(two_models, directory, max_loaded=None):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "models.json"
    models = [
        {"bundle": str(two_models["cancer"][2]), "ref": "cancer@production"},
        {
            "bundle": str(two_models["diabetes"][2]),
            "ref": "diabetes/2",
            "prediction_log": str(directory / "predictions-diabetes.sqlite"),
        },
    ]
    path.write_text(json.dumps({"models": models, "max_loaded_models": max_loaded}))
    return path


def test_two_models_answer_both_by_name_in_every_protocol(two_models, tmp_path):
    Xc, cancer, _ = two_models["cancer"]
    Xd, diabetes, _ = two_models["diabetes"]
    log = tmp_path / "predictions.sqlite"
    models_file = _models_file(two_models, tmp_path)
    with Server(None, log, "--models-file", str(models_file)) as server, _client() as client:
        health = client.get(f"{server.url}/health").json()
        assert [(m["name"], m["ref"], m["version"], m["loaded"]) for m in health["models"]] == [
            ("cancer", "cancer@production", 4, True),
            ("diabetes", "diabetes/2", 2, True),
        ]
        assert health["max_loaded_models"] is None

        answer = client.post(f"{server.url}/models/cancer/predict", json=_records(Xc.head(50)))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["model"], body["version"]) == ("cancer", 4)
        assert body["predictions"] == cancer.predict(Xc.head(50)).tolist()
        np.testing.assert_allclose(body["probabilities"], cancer.predict_proba(Xc.head(50)))

        answer = client.post(f"{server.url}/models/diabetes/predict", json=_records(Xd.head(30)))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["model"], body["version"]) == ("diabetes", 2)
        np.testing.assert_allclose(body["predictions"], diabetes.predict(Xd.head(30)))
        diabetes_ids = body["prediction_ids"]

        # Open Inference Protocol, by name: each model's own signature and outputs
        for name, X, model in (("cancer", Xc, cancer), ("diabetes", Xd, diabetes)):
            inputs = [
                {"name": c, "datatype": "FP64", "shape": [10], "data": X[c].head(10).tolist()}
                for c in X.columns
            ]
            answer = client.post(f"{server.url}/v2/models/{name}/infer", json={"inputs": inputs})
            assert answer.status_code == 200, answer.text
            outputs = {o["name"]: o["data"] for o in answer.json()["outputs"]}
            np.testing.assert_allclose(outputs["predict"], model.predict(X.head(10)))
            meta = client.get(f"{server.url}/v2/models/{name}").json()
            assert [i["name"] for i in meta["inputs"]] == list(X.columns)
            assert client.get(f"{server.url}/v2/models/{name}/ready").json()["ready"] is True
        assert client.get(f"{server.url}/v2/models/diabetes/versions/2").status_code == 200
        assert client.get(f"{server.url}/v2/models/diabetes/versions/4").status_code == 404
        meta = client.get(f"{server.url}/models/diabetes/metadata").json()
        assert (meta["name"], meta["version"], meta["task"]) == ("diabetes", 2, "regression")
        mlflow = client.post(
            f"{server.url}/models/cancer/invocations",
            json={"dataframe_split": Xc.head(5).to_dict(orient="split")},
        )
        assert mlflow.status_code == 200, mlflow.text
        assert mlflow.json()["predictions"] == cancer.predict(Xc.head(5)).tolist()

        # the unscoped routes name the model-scoped ones; unknown names are 404s
        unscoped = client.post(f"{server.url}/predict", json=_records(Xc.head(1)))
        assert unscoped.status_code == 404
        assert unscoped.json()["error"]["code"] == "model_required"
        assert "/models/{name}/predict" in unscoped.json()["error"]["message"]
        assert "cancer, diabetes" in unscoped.json()["error"]["message"]
        assert client.post(f"{server.url}/invocations", json={}).status_code == 404
        assert client.get(f"{server.url}/metadata").json()["error"]["code"] == "model_required"
        unknown = client.post(f"{server.url}/models/churn/predict", json=_records(Xc.head(1)))
        assert unknown.status_code == 404
        assert "unknown model 'churn'" in unknown.json()["error"]["message"]
        assert client.post(f"{server.url}/v2/models/churn/infer", json={}).status_code == 404

        # labels go to the log of the model that predicted
        stored = client.post(
            f"{server.url}/feedback",
            json={"items": [{"prediction_id": diabetes_ids[0], "label": 151.0}]},
        )
        assert stored.json() == {"stored": 1}

        text = client.get(f"{server.url}/metrics").text
        requests = {
            (s.labels["model"], s.labels["version"]): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == "mlops_requests_total" and s.labels["status"] == "200"
        }
        assert requests == {("cancer", "4"): 3.0, ("diabetes", "2"): 2.0}
    # each model has its own prediction log stream
    with PredictionLog(log) as main, PredictionLog(tmp_path / "predictions-diabetes.sqlite") as d:
        assert main.count() == 50 + 10 + 5
        assert d.count() == 30 + 10
        assert main.feedback_count() == 0 and d.feedback_count() == 1


def test_max_loaded_models_unloads_the_least_recently_used_and_reloads_on_demand(
    two_models, tmp_path
):
    Xc, cancer, _ = two_models["cancer"]
    Xd, diabetes, _ = two_models["diabetes"]
    models_file = _models_file(two_models, tmp_path, max_loaded=1)
    with (
        Server(None, tmp_path / "p.sqlite", "--models-file", str(models_file)) as server,
        _client() as client,
    ):
        url = server.url
        assert _loaded(url) == {"cancer": True, "diabetes": False}
        assert client.get(f"{url}/health").json()["max_loaded_models"] == 1
        assert _counters(url) == {("mlops_model_loads", "cancer"): 1.0}

        rounds = 3
        for _ in range(rounds):
            answer = client.post(f"{url}/models/diabetes/predict", json=_records(Xd.head(5)))
            assert answer.status_code == 200, answer.text
            np.testing.assert_allclose(answer.json()["predictions"], diabetes.predict(Xd.head(5)))
            assert _loaded(url) == {"cancer": False, "diabetes": True}
            answer = client.post(f"{url}/models/cancer/predict", json=_records(Xc.head(5)))
            assert answer.status_code == 200, answer.text
            assert answer.json()["predictions"] == cancer.predict(Xc.head(5)).tolist()
            assert _loaded(url) == {"cancer": True, "diabetes": False}
        # a model in memory answers without a load
        assert client.post(f"{url}/models/cancer/predict", json=_records(Xc.head(2))).is_success
        assert _counters(url) == {
            ("mlops_model_loads", "cancer"): 1.0 + rounds,
            ("mlops_model_loads", "diabetes"): float(rounds),
            ("mlops_model_unloads", "cancer"): float(rounds),
            ("mlops_model_unloads", "diabetes"): float(rounds),
            ("mlops_model_reloads", "cancer"): float(rounds),
            ("mlops_model_reloads", "diabetes"): float(rounds - 1),
        }
        loads = {m["name"]: m["loads"] for m in client.get(f"{url}/health").json()["models"]}
        assert loads == {"cancer": 1 + rounds, "diabetes": rounds}
        # OIP metadata of an unloaded model loads it too
        assert client.get(f"{url}/v2/models/diabetes").status_code == 200
        assert _loaded(url) == {"cancer": False, "diabetes": True}

        # concurrent requests for both: each evicts the other, none fails, each answer is right
        expected = {
            "cancer": cancer.predict(Xc.head(3)).tolist(),
            "diabetes": diabetes.predict(Xd.head(3)).tolist(),
        }
        bodies = {"cancer": _records(Xc.head(3)), "diabetes": _records(Xd.head(3))}

        def send(i: int) -> tuple[str, int, list]:
            name = ("cancer", "diabetes")[i % 2]
            with _client() as own:
                answer = own.post(f"{url}/models/{name}/predict", json=bodies[name])
            return name, answer.status_code, answer.json().get("predictions")

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(send, range(80)))
        assert {status for _, status, _ in answers} == {200}
        for name, _, predictions in answers:
            np.testing.assert_allclose(predictions, expected[name])
        assert sum(_loaded(url).values()) == 1


def test_the_model_routes_take_the_api_key_and_content_type_checks(two_models, tmp_path):
    Xc = two_models["cancer"][0]
    policy = tmp_path / "security.json"
    write_policy(policy, {"require_api_key": True, "api_key_sha256": [key_hash("mlops_k1")]})
    models_file = _models_file(two_models, tmp_path)
    with (
        Server(
            None,
            tmp_path / "p.sqlite",
            "--models-file",
            str(models_file),
            "--security-file",
            str(policy),
        ) as server,
        _client() as client,
    ):
        url, rows = server.url, _records(Xc.head(2))
        for path in ("/models/cancer/predict", "/models/cancer/invocations"):
            assert client.post(f"{url}{path}", json=rows).status_code == 401
        assert client.get(f"{url}/models/cancer/metadata").status_code == 401
        form = client.post(
            f"{url}/models/cancer/predict",
            content=b"a=1",
            headers={"content-type": "text/plain", "authorization": "Bearer mlops_k1"},
        )
        assert form.status_code == 415
        keyed = {"authorization": "Bearer mlops_k1"}
        answer = client.post(f"{url}/models/cancer/predict", json=rows, headers=keyed)
        assert answer.status_code == 200, answer.text
        assert client.get(f"{url}/health").status_code == 200  # probes stay open


# -- deployments ----------------------------------------------------------------------------


@pytest.fixture
def mlops(tmp_path):
    instance = MLOps(root_dir=str(tmp_path), deployment_poll_interval=0.0)
    with stopping_all(instance):
        yield instance
    instance.stop()


def _predict(url: str, name: str, frame) -> dict:
    response = httpx.post(
        f"{url}/models/{name}/predict", json=_records(frame), timeout=30, trust_env=False
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_multi_model_deployment_follows_each_alias_on_its_own(mlops):
    churn = register_models(mlops, "churn")
    fraud = register_models(mlops, "fraud")
    X = churn["X"].head(40)
    deployment = mlops.deployments.create(
        None,
        "local",
        config={"models": ["churn@production", {"model": "fraud@production"}]},
        user="ann",
    )
    assert deployment["status"] == "running" and deployment["name"] == "churn-fraud"
    assert (deployment["model"], deployment["version"]) == ("churn", 1)
    assert [(m["name"], m["model_ref"], m["version"]) for m in deployment["models"]] == [
        ("churn", "churn@production", 1),
        ("fraud", "fraud@production", 1),
    ]
    url = deployment["url"]
    for name, registered in (("churn", churn), ("fraud", fraud)):
        body = _predict(url, name, X)
        assert (body["model"], body["version"]) == (name, 1)
        assert body["predictions"] == registered["models"][1].predict(X).tolist()

    # fraud's alias moves: fraud alone follows, churn keeps serving v1
    mlops.registry.set_alias("fraud", "production", 2, user="test")
    switched = mlops.deployments.sync_aliases()
    assert [[(m["name"], m["version"]) for m in d["models"]] for d in switched] == [
        [("churn", 1), ("fraud", 2)]
    ]
    assert _predict(url, "fraud", X)["predictions"] == fraud["models"][2].predict(X).tolist()
    assert _predict(url, "fraud", X)["version"] == 2
    assert _predict(url, "churn", X)["predictions"] == churn["models"][1].predict(X).tolist()
    assert mlops.deployments.sync_aliases() == []  # nothing else moved

    shown = mlops.deployments.get(deployment["id"])
    assert [(m["name"], m["version"], m["loaded"]) for m in shown["models"]] == [
        ("churn", 1, True),
        ("fraud", 2, True),
    ]
    assert "fraud@production from v1 to v2" in shown["status_reason"]
    # the panel's numbers count every hosted model's prediction log: 5 calls of 40 rows
    stats = wait_for(
        lambda: (s := mlops.deployments.get(deployment["id"])["stats"])["predictions"] == 200 and s
    )
    assert stats["requests"] == 5 and stats["errors"] == 0
    # a restart serves what the deployment followed to
    restarted = mlops.deployments.restart(deployment["id"], user="ann")
    assert _predict(restarted["url"], "fraud", X)["version"] == 2
    assert _predict(restarted["url"], "churn", X)["version"] == 1


def test_a_deployment_under_max_loaded_models_shows_what_is_loaded(mlops):
    frame = register_models(mlops, "churn")["X"].head(5)
    fraud = register_models(mlops, "fraud")["models"]
    entry = {"model": "fraud/1", "canary": {"version": 2, "percent": 100}, "batching": False}
    deployment = mlops.deployments.create(
        None, "local", config={"models": ["churn/2", entry], "max_loaded_models": 1}
    )
    assert deployment["config"]["models"] == [{"model": "churn/2"}, entry]
    url = deployment["url"]
    assert [m["loaded"] for m in mlops.deployments.get(deployment["id"])["models"]] == [True, False]
    # fraud's own canary (all of its traffic) answers from its challenger, v2
    body = _predict(url, "fraud", frame)
    assert (body["version"], body["variant"]) == (2, "challenger")
    assert body["predictions"] == fraud[2].predict(frame).tolist()
    assert [m["loaded"] for m in mlops.deployments.get(deployment["id"])["models"]] == [False, True]
    listed = mlops.deployments.list()["items"][0]["models"]
    assert [(m["name"], m["version"], m["challenger_version"], m["loaded"]) for m in listed] == [
        ("churn", 2, None, False),
        ("fraud", 1, 2, True),
    ]
    wait_for(lambda: _counters(url).get(("mlops_model_unloads", "churn")) == 1.0)
    metadata = {
        name: httpx.get(f"{url}/models/{name}/metadata", trust_env=False, timeout=30).json()
        for name in ("churn", "fraud")
    }
    assert metadata["fraud"]["batching"]["enabled"] is False
    assert metadata["churn"]["batching"]["enabled"] is True
    assert (metadata["fraud"]["challenger"]["version"], metadata["fraud"]["canary_percent"]) == (
        2,
        100.0,
    )
    # a challenger is per hosted model: the deployment-wide canary route refuses
    with pytest.raises(InvalidInput) as caught:
        mlops.deployments.set_canary(deployment["id"], {"version": 1, "percent": 5})
    assert caught.value.details["field"] == "canary"


@pytest.mark.parametrize(
    ("model", "config", "field", "words"),
    [
        ("churn/1", {"models": ["fraud/1"]}, "model", "not both"),
        (None, {"models": ["churn/1", "churn@production"]}, "config.models", "one entry per model"),
        (None, {"models": []}, "config.models", "at least 1"),
        (None, {"models": ["churn/1"], "canary": {"version": 2}}, "config.canary", "per entry"),
        (None, {"models": [{"model": "churn/1", "percent": 3}]}, "config.models.0.percent", ""),
        (None, {"models": ["churn/x"]}, "config.models.0.model", "positive integer"),
        ("churn/1", {"max_loaded_models": 1}, "config.max_loaded_models", "needs config.models"),
        (None, {"models": ["churn/1"], "max_loaded_models": 0}, "config.max_loaded_models", ""),
        (None, {}, "model", "required"),
    ],
)
def test_bad_multi_model_configs_are_400s_naming_the_field(mlops, model, config, field, words):
    register_models(mlops, "churn")
    register_models(mlops, "fraud")
    with pytest.raises(InvalidInput) as caught:
        mlops.deployments.create(model, "local", config=config)
    err = caught.value
    assert err.status == 400
    assert err.details.get("field") == field, (err.message, err.details)
    assert words in err.message
    assert mlops.deployments.list(stats=False)["total"] == 0


def test_an_entry_that_does_not_resolve_is_named(mlops):
    register_models(mlops, "churn")
    with pytest.raises(NotFound) as caught:
        mlops.deployments.create(None, "local", config={"models": ["churn/1", "fraud/1"]})
    assert caught.value.details["field"] == "config.models[1]"
    assert mlops.deployments.list(stats=False)["total"] == 0


def test_multi_model_deployments_run_on_the_local_target_only(mlops):
    register_models(mlops, "churn")
    with pytest.raises(InvalidInput) as caught:
        mlops.deployments.create(None, "docker", config={"models": ["churn/1"]})
    assert caught.value.details["field"] == "config.models"
    assert "local target" in caught.value.message


def test_the_cli_deploys_lists_and_shows_the_hosted_models_and_the_magic_predicts(
    tmp_path, monkeypatch, capsys
):
    from IPython.core.interactiveshell import InteractiveShell

    from jupyterlab_mlops.cli import main

    monkeypatch.setenv("MLOPS_ROOT_DIR", str(tmp_path))
    monkeypatch.setenv("MLOPS_DEPLOYMENT_POLL_INTERVAL", "0")
    monkeypatch.chdir(tmp_path)
    mlops = MLOps(root_dir=str(tmp_path))
    with stopping_all(mlops):
        churn = register_models(mlops, "churn")
        fraud = register_models(mlops, "fraud")
        config = json.dumps({"models": ["churn@production", "fraud/2"], "max_loaded_models": 1})
        root = ["--root-dir", str(tmp_path)]
        assert main([*root, "deploy", "--config", config, "--json"]) == 0
        deployment = json.loads(capsys.readouterr().out)
        assert [m["model_ref"] for m in deployment["models"]] == ["churn@production", "fraud/2"]

        assert main([*root, "deployments", "list"]) == 0
        table = capsys.readouterr().out
        assert "churn@production, fraud/2" in table and "1, 2" in table
        assert main([*root, "deployments", "get", deployment["id"]]) == 0
        shown = capsys.readouterr().out
        assert "models:  2 in one process (at most 1 loaded), at /models/{name}/predict" in shown
        assert "churn@production -> v1  loaded" in shown
        assert "fraud/2 -> v2  unloaded" in shown

        shell = InteractiveShell.instance()
        try:
            shell.run_line_magic("load_ext", "jupyterlab_mlops")
            frame = churn["X"].head(8)
            shell.user_ns["df"] = frame
            result = shell.run_line_magic("mlops", "predict fraud/2 df")
            assert result["prediction"].tolist() == fraud["models"][2].predict(frame).tolist()
            result = shell.run_line_magic("mlops", "predict churn@production df")
            assert result["prediction"].tolist() == churn["models"][1].predict(frame).tolist()
            capsys.readouterr()
            shell.run_line_magic("mlops", f"predict {deployment['id']} df")
            assert "hosts several models: name one of churn@production, fraud/2" in (
                capsys.readouterr().out
            )
        finally:
            InteractiveShell.clear_instance()
    mlops.stop()
