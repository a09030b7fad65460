"""The registry service against a real SQLite store and artifact store: registration,
signature and profile values, aliases and their audit log, rollback, the quality gate,
archiving, lineage and safe loading."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from registry_utils import PROVENANCE, add_run, pipeline_model, simple_model, training_frame
from sklearn.ensemble import RandomForestClassifier
from sklearn.preprocessing import FunctionTransformer

from jupyterlab_mlops import serialization
from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.errors import (
    Conflict,
    GateFailed,
    IntegrityError,
    InvalidInput,
    NotFound,
    UntrustedArtifact,
)
from jupyterlab_mlops.refs import ModelRef, parse_ref
from jupyterlab_mlops.store import models as m


@pytest.fixture
def mlops(tmp_path, store_url):
    instance = MLOps(root_dir=str(tmp_path), store_url=store_url)
    yield instance
    instance.stop()


@pytest.fixture
def registry(mlops):
    return mlops.registry


def register_simple(registry, name="churn", metrics=None, seed=0, **kwargs):
    return registry.register(simple_model(seed), name, metrics=metrics or {}, user="u", **kwargs)


# -- references -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("churn@production", ModelRef("churn", alias="production")),
        ("churn/3", ModelRef("churn", version=3)),
        ("churn:12", ModelRef("churn", version=12)),
        ("churn", ModelRef("churn")),
        (("churn", 3), ModelRef("churn", version=3)),
        ("my.model-v2_x@stage-1", ModelRef("my.model-v2_x", alias="stage-1")),
    ],
)
def test_parse_ref_accepts_every_contract_form(text, expected):
    assert parse_ref(text) == expected


@pytest.mark.parametrize(
    "text", ["", "churn/x", "churn:0", "churn@", "churn@latest", "@prod", "a b", "churn/-1"]
)
def test_parse_ref_refuses_malformed_references(text):
    with pytest.raises(InvalidInput):
        parse_ref(text)


# -- registration ---------------------------------------------------------------------------


def test_interactive_registration_stores_everything(registry, mlops):
    X, y = training_frame()
    model = pipeline_model(X, y)
    version = registry.register(
        model,
        "churn",
        X_sample=X,
        y_sample=y,
        metrics={"auc": np.float64(0.93), "f1": 0.8},
        params={"C": 1.0, "features": ["a", "b"]},
        tags={"team": "risk", "stage": 1},
        description="first",
        user="alice",
    )
    assert version["name"] == "churn" and version["version"] == 1
    assert version["serialization"] == "skops"
    assert version["flavour"] == "sklearn-pipeline"
    assert version["model_class"] == "sklearn.pipeline.Pipeline"
    assert version["metrics"] == {"auc": 0.93, "f1": 0.8}
    assert version["params"] == {"C": 1.0, "features": ["a", "b"]}
    assert version["tags"] == {"team": "risk", "stage": "1"}
    assert version["description"] == "first"
    assert version["run_id"] is None
    assert version["created_by"] == "alice"
    assert version["environment"]["packages"]["scikit-learn"]
    # the stored bytes are the artifact the sha256 names, and load back to the same model
    data = mlops.artifacts.get_bytes(version["artifact_sha256"])
    assert len(data) == version["artifact_size"]
    loaded = registry.load_model("churn/1")
    assert type(loaded).__name__ == "Pipeline"
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert registry.resolve("churn") == version | {"aliases": []}

    plain = registry.register(simple_model(), "churn", user="bob")
    assert plain["version"] == 2 and plain["flavour"] == "sklearn"
    assert plain["model_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert registry.resolve("churn")["version"] == 2


def test_signature_matches_the_training_frame(registry):
    X, y = training_frame()
    version = registry.register(pipeline_model(X, y), "sig", X_sample=X, y_sample=y)
    signature = version["signature"]
    assert signature["input_type"] == "dataframe"
    assert [c["name"] for c in signature["inputs"]] == list(X.columns)
    by_name = {c["name"]: c for c in signature["inputs"]}
    for column in X.columns[:4]:
        assert by_name[column] == {
            "name": column,
            "dtype": "float64",
            "kind": "numeric",
            "nullable": False,
        }
    assert by_name["city"]["kind"] == "categorical"
    assert by_name["city"]["nullable"] is True
    assert by_name["city"]["categories"] == sorted(X["city"].dropna().unique())
    assert by_name["member"] == {
        "name": "member",
        "dtype": "bool",
        "kind": "boolean",
        "nullable": False,
    }
    assert signature["output"] == {"task": "classification", "dtype": "int64", "classes": [0, 1]}


def test_signature_of_an_ndarray_and_a_regressor(registry):
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 3))
    y = X @ np.array([1.0, 2.0, 3.0])
    version = registry.register(Ridge().fit(X, y), "reg", X_sample=X, y_sample=y)
    signature = version["signature"]
    assert signature["input_type"] == "ndarray"
    assert [c["name"] for c in signature["inputs"]] == ["f0", "f1", "f2"]
    assert signature["output"] == {"task": "regression", "dtype": "float64"}
    assert set(version["profile"]["columns"]) == {"f0", "f1", "f2"}
    assert version["profile"]["columns"]["f1"]["mean"] == pytest.approx(X[:, 1].mean())


def test_profile_matches_the_training_frame(registry):
    X, y = training_frame()
    profile = registry.register(pipeline_model(X, y), "prof", X_sample=X, y_sample=y)["profile"]
    assert profile["n_rows"] == len(X)
    # A labelled sample also calibrates the estimate of performance without labels (CBPE).
    estimator = profile["performance_estimation"]
    assert estimator["available"] is True and estimator["classes"] == ["0", "1"]
    assert estimator["n_reference"] == len(X) and 0.5 < estimator["reference"]["accuracy"] <= 1
    column = X.columns[0]
    numeric = profile["columns"][column]
    values = X[column].to_numpy()
    assert numeric["kind"] == "numeric"
    assert numeric["count"] == len(X) and numeric["missing"] == 0
    assert numeric["mean"] == pytest.approx(values.mean())
    assert numeric["std"] == pytest.approx(values.std(ddof=1))
    assert numeric["min"] == pytest.approx(values.min())
    assert numeric["max"] == pytest.approx(values.max())
    assert numeric["quantiles"]["0.5"] == pytest.approx(np.median(values))
    assert len(numeric["bin_edges"]) == 11 and sum(numeric["bin_counts"]) == len(X)
    city = profile["columns"]["city"]
    expected = X["city"].value_counts()
    assert city["kind"] == "categorical"
    assert city["missing"] == int(X["city"].isna().sum())
    assert city["missing_rate"] == pytest.approx(X["city"].isna().mean())
    assert city["counts"] == {k: int(v) for k, v in expected.items()}
    assert city["frequencies"]["paris"] == pytest.approx(expected["paris"] / expected.sum())
    assert profile["columns"]["member"]["kind"] == "boolean"


def test_registration_refuses_bad_input_and_writes_nothing(registry, mlops):
    model = simple_model()
    with pytest.raises(InvalidInput, match="invalid model name"):
        registry.register(model, "bad name")
    with pytest.raises(InvalidInput, match="metric 'auc' must be a finite number"):
        registry.register(model, "churn", metrics={"auc": float("nan")})
    with pytest.raises(NotFound, match="run 'nope' not found"):
        registry.register(model, "churn", run_id="nope")
    with pytest.raises(InvalidInput, match="2-D"):
        registry.register(model, "churn", X_sample=np.arange(5))
    with mlops.db.session() as session:
        assert session.query(m.RegisteredModel).count() == 0
        assert session.query(m.ModelVersion).count() == 0


def test_unknown_references_are_404(registry):
    with pytest.raises(NotFound, match="model 'ghost' not found"):
        registry.resolve("ghost")
    register_simple(registry)
    with pytest.raises(NotFound, match="version 7 of model 'churn' not found"):
        registry.resolve("churn/7")
    with pytest.raises(NotFound, match="alias 'production' of model 'churn' not found"):
        registry.resolve("churn@production")


# -- safe artifacts -------------------------------------------------------------------------


def test_tampered_artifact_is_refused(registry, mlops):
    version = register_simple(registry)
    path = mlops.artifacts.local_path(version["artifact_sha256"])
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="corrupt"):
        registry.load_model("churn/1")
    with pytest.raises(IntegrityError):
        registry.artifact_stream("churn/1")


class CustomTransformer(FunctionTransformer):
    """A user-defined class: skops cannot prove it safe."""


def test_untrusted_models_need_explicit_trust(registry):
    custom = CustomTransformer().fit(np.ones((3, 2)))
    with pytest.raises(UntrustedArtifact, match="trust_pickle=True"):
        registry.register(custom, "custom")
    with pytest.raises(UntrustedArtifact, match="not a scikit-learn estimator"):
        registry.register({"weights": [1, 2]}, "custom")
    version = registry.register(custom, "custom", trust_pickle=True)
    assert version["serialization"] == "pickle" and version["flavour"] == "sklearn"
    with pytest.raises(UntrustedArtifact, match="unpickling can run arbitrary code"):
        registry.load_model("custom/1")
    assert isinstance(registry.load_model("custom/1", trust=True), CustomTransformer)


def test_skops_types_are_checked_against_the_recorded_list(registry, mlops):
    X, y = training_frame()
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X.iloc[:, :4], y)
    version = registry.register(forest, "forest")
    assert version["trusted_types"] == ["sklearn.tree._tree.Tree"]
    np.testing.assert_array_equal(
        registry.load_model("forest").predict(X.iloc[:, :4]), forest.predict(X.iloc[:, :4])
    )
    data = mlops.artifacts.get_bytes(version["artifact_sha256"])
    # the same bytes with a recorded list that does not cover them are refused
    with pytest.raises(UntrustedArtifact, match="not recorded at save time"):
        serialization.load(data, "skops", [])
    # a skops file carrying a foreign type is refused even if someone recorded it
    import skops.io as sio

    foreign = sio.dumps({"model": CustomTransformer()})
    with pytest.raises(UntrustedArtifact, match="outside the allow-list"):
        serialization.load(foreign, "skops", [f"{__name__}.CustomTransformer"])


def test_allow_list():
    assert serialization.is_safe_type("sklearn.tree._tree.Tree")
    assert serialization.is_safe_type("numpy.float64")
    assert not serialization.is_safe_type("builtins.eval")
    assert not serialization.is_safe_type("numpy.load")
    assert not serialization.is_safe_type("os.system")
    assert not serialization.is_safe_type("__main__.Thing")


def test_pickle_bytes_refused_without_trust():
    data = pickle.dumps(simple_model())
    with pytest.raises(UntrustedArtifact):
        serialization.load(data, "pickle", [])
    assert serialization.detect(data, "model.pkl") == "pickle"


# -- aliases, audit and rollback ------------------------------------------------------------


def test_alias_set_move_rollback_and_audit(registry):
    for seed in range(3):
        register_simple(registry, seed=seed)
    registry.set_alias("churn", "production", 1, user="alice", reason="first release")
    assert registry.resolve("churn@production")["version"] == 1
    moved = registry.set_alias("churn", "production", 2, user="bob", reason="better")
    assert moved["previous_version"] == 1 and moved["version"] == 2
    registry.set_alias("churn", "production", 3, user="carol")
    registry.set_alias("churn", "staging", 3, user="carol")
    assert registry.resolve("churn@production")["aliases"] == ["production", "staging"]

    back = registry.rollback("churn", "production", user="dave", reason="v3 misbehaves")
    assert back == {"name": "churn", "alias": "production", "version": 2, "previous_version": 3}
    assert registry.rollback("churn", "production", user="dave")["version"] == 1
    with pytest.raises(Conflict, match="no earlier version"):
        registry.rollback("churn", "production", user="dave")
    assert registry.resolve("churn@staging")["version"] == 3  # other aliases untouched

    entries = [e for e in reversed(registry.audit("churn")["items"]) if e["action"] != "register"]
    assert [
        (e["action"], e["alias"], e["from_version"], e["to_version"], e["user"], e["reason"])
        for e in entries
    ] == [
        ("set_alias", "production", None, 1, "alice", "first release"),
        ("set_alias", "production", 1, 2, "bob", "better"),
        ("set_alias", "production", 2, 3, "carol", ""),
        ("set_alias", "staging", None, 3, "carol", ""),
        ("rollback", "production", 3, 2, "dave", "v3 misbehaves"),
        ("rollback", "production", 2, 1, "dave", ""),
    ]
    assert all(e["created_at"].endswith("+00:00") for e in entries)
    assert registry.audit("churn", alias="staging")["total"] == 1


def test_deleted_alias_can_be_rolled_back(registry):
    register_simple(registry)
    registry.set_alias("churn", "production", 1, user="u")
    registry.delete_alias("churn", "production", user="u", reason="incident")
    with pytest.raises(NotFound):
        registry.resolve("churn@production")
    assert registry.rollback("churn", "production", user="u")["version"] == 1
    assert registry.resolve("churn@production")["version"] == 1


def test_setting_the_same_version_is_a_no_op(registry):
    register_simple(registry)
    registry.set_alias("churn", "production", 1, user="u")
    again = registry.set_alias("churn", "production", 1, user="u")
    assert again["changed"] is False
    assert registry.audit("churn", action="set_alias")["total"] == 1


# -- quality gate ---------------------------------------------------------------------------


def test_gate_refuses_worse_challenger_and_audits_forced_promotion(registry):
    register_simple(registry, metrics={"auc": 0.91})
    register_simple(registry, metrics={"auc": 0.87}, seed=1)
    registry.set_gate(
        "churn",
        {
            "thresholds": {"auc": {">=": 0.85}},
            "compare": {"alias": "production", "metric": "auc", "mode": "max"},
        },
        user="lead",
    )
    registry.set_alias("churn", "production", 1, user="u")
    with pytest.raises(GateFailed) as refused:
        registry.set_alias("churn", "production", 2, user="eve")
    message = refused.value.message
    assert "quality gate refused churn v2 → production" in message
    assert "auc 0.87 < 0.91 of v1 (current production, mode max)" in message
    assert refused.value.status == 409
    assert registry.resolve("churn@production")["version"] == 1

    with pytest.raises(InvalidInput, match="reason is required"):
        registry.set_alias("churn", "production", 2, user="eve", force=True)
    forced = registry.set_alias(
        "churn", "production", 2, user="eve", force=True, reason="latency fix outweighs auc"
    )
    assert forced["forced"] is True
    assert registry.resolve("churn@production")["version"] == 2

    log = registry.audit("churn")["items"]
    assert log[0]["action"] == "set_alias" and log[0]["forced"] is True
    assert log[0]["reason"] == "latency fix outweighs auc" and log[0]["user"] == "eve"
    assert log[0]["details"]["gate"]["passed"] is False
    refusal = next(e for e in log if e["action"] == "promotion_refused")
    assert refusal["to_version"] == 2 and "auc 0.87 < 0.91" in refusal["details"]["message"]


def test_gate_thresholds_and_minimisation(registry):
    register_simple(registry, metrics={"rmse": 3.0})
    register_simple(registry, metrics={"rmse": 2.5}, seed=1)
    register_simple(registry, metrics={"rmse": 2.8}, seed=2)
    registry.set_gate(
        "churn",
        {
            "thresholds": {"rmse": {"<": 2.9}},
            "compare": {"metric": "rmse", "mode": "min"},
            "aliases": ["production"],
        },
    )
    with pytest.raises(GateFailed, match=r"rmse 3 fails < 2\.9"):
        registry.set_alias("churn", "production", 1)
    registry.set_alias("churn", "staging", 1)  # the gate only guards production
    registry.set_alias("churn", "production", 2)
    with pytest.raises(GateFailed, match=r"rmse 2\.8 > 2\.5 of v2"):
        registry.set_alias("churn", "production", 3)


def test_gate_definition_is_validated(registry):
    register_simple(registry)
    with pytest.raises(InvalidInput, match="unknown operator"):
        registry.set_gate("churn", {"thresholds": {"auc": {"~": 1}}})
    with pytest.raises(InvalidInput, match="mode"):
        registry.set_gate("churn", {"compare": {"metric": "auc", "mode": "best"}})
    with pytest.raises(InvalidInput, match="unknown gate key"):
        registry.set_gate("churn", {"threshold": {}})
    assert registry.get_gate("churn") == {}


def test_non_finite_gate_thresholds_are_refused_and_nothing_is_stored(registry):
    register_simple(registry)
    registry.set_gate("churn", {"thresholds": {"auc": 0.8}}, user="lead")
    audit_before = registry.audit("churn")["total"]
    for gate, field in (
        ({"thresholds": {"auc": {">=": float("inf")}}}, "thresholds.auc.>="),
        ({"thresholds": {"auc": float("nan")}}, "thresholds.auc"),
        ({"compare": {"metric": "auc", "min_delta": float("-inf")}}, "compare.min_delta"),
        ({"thresholds": {"auc": {">=": True}}}, "thresholds.auc.>="),
    ):
        with pytest.raises(InvalidInput) as refused:
            registry.set_gate("churn", gate, user="eve")
        assert refused.value.details["field"] == field
        assert field in refused.value.message
    # the gate and the audit log are as they were
    assert registry.get_gate("churn") == {"thresholds": {"auc": {">=": 0.8}}}
    assert registry.audit("churn")["total"] == audit_before


# -- archiving ------------------------------------------------------------------------------


def test_archive_refused_while_in_use(registry, mlops):
    register_simple(registry)
    register_simple(registry, seed=1)
    registry.set_alias("churn", "production", 1)
    with pytest.raises(Conflict, match="alias"):
        registry.archive("churn", 1)
    with mlops.db.session() as session:
        session.add(
            m.Deployment(
                name="churn-api",
                model_name="churn",
                model_ref="churn/2",
                version=2,
                status="running",
            )
        )
    with pytest.raises(Conflict, match="churn-api"):
        registry.archive("churn", 2)
    with mlops.db.session() as session:
        session.query(m.Deployment).update({"status": "stopped"})
    assert registry.archive("churn", 2, reason="superseded")["archived"] is True
    assert registry.resolve("churn")["version"] == 1  # latest non-archived
    with pytest.raises(Conflict, match="archived"):
        registry.set_alias("churn", "staging", 2)
    assert registry.unarchive("churn", 2)["archived"] is False
    assert [e["action"] for e in registry.audit("churn")["items"][:2]] == ["unarchive", "archive"]


# -- lineage --------------------------------------------------------------------------------


def test_lineage_equals_the_run_provenance(registry, mlops):
    run_id = add_run(
        mlops,
        provenance=PROVENANCE,
        status="succeeded",
        parameters={"C": 0.5, "max_iter": 200},
        created_by="alice",
        input_notebook_sha256=PROVENANCE["notebook_sha256"],
    )
    register_simple(registry, run_id=run_id)
    registry.set_alias("churn", "production", 1)
    chain = registry.lineage("churn@production")
    assert chain["model"]["version"] == 1 and chain["model"]["aliases"] == ["production"]
    assert chain["run"]["id"] == run_id and chain["run"]["status"] == "succeeded"
    assert chain["notebook"] == {"path": "train.ipynb", "sha256": PROVENANCE["notebook_sha256"]}
    assert chain["parameters"] == PROVENANCE["parameters"]
    assert chain["inputs"] == PROVENANCE["inputs"]
    assert chain["git"] == PROVENANCE["git"]
    assert chain["environment"] == {
        key: PROVENANCE[key] for key in ("kernel", "python", "packages", "platform")
    }
    assert chain["missing"] == []


def test_lineage_without_a_run_says_what_is_missing(registry):
    register_simple(registry)
    chain = registry.lineage("churn")
    assert chain["run"] is None and chain["missing"] == ["run"]
    assert chain["environment"]["python"]["version"]


# -- listing --------------------------------------------------------------------------------


def test_list_models_filters_and_paginates(registry):
    for i in range(3):
        registry.register(simple_model(i), f"model-{i}", tags={"team": "a" if i else "b"})
    registry.register(simple_model(), "model-1", tags={"candidate": "yes"})
    registry.set_alias("model-1", "production", 2)
    page = registry.list_models(limit=2)
    assert page["total"] == 3 and [m["name"] for m in page["items"]] == ["model-0", "model-1"]
    assert page["items"][1]["latest_version"] == 2 and page["items"][1]["version_count"] == 2
    assert page["items"][1]["aliases"] == {"production": 2}
    assert page["items"][1]["latest"]["aliases"] == ["production"]
    assert [m["name"] for m in registry.list_models(offset=2)["items"]] == ["model-2"]
    assert [m["name"] for m in registry.list_models(q="DEL-2")["items"]] == ["model-2"]
    assert [m["name"] for m in registry.list_models(tag="team=a")["items"]] == [
        "model-1",
        "model-2",
    ]
    assert [m["name"] for m in registry.list_models(tag="candidate")["items"]] == ["model-1"]
    assert [m["name"] for m in registry.list_models(alias="production")["items"]] == ["model-1"]
    assert registry.list_models(q="%")["total"] == 0  # LIKE wildcards are literal
    versions = registry.list_versions("model-1")
    assert [v["version"] for v in versions["items"]] == [2, 1]
    assert "profile" not in versions["items"][0]
