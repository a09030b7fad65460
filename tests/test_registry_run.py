"""Registration linked to runs: from inside a real papermill run (``MLOPS_RUN_ID``), from the CLI
with a run's logged artifact, and interactively through ``mlops.register_model``."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from _runs_support import RUN_DEADLINE, write_notebook
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.cli import main as cli_main
from jupyterlab_mlops.errors import Conflict

TRAIN = """\
import skops.io as sio
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
import pandas as pd
import jupyterlab_mlops as mlops

data = load_breast_cancer(as_frame=True)
X = data.data.iloc[:, :5]
y = data.target
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
model = LogisticRegression(C=C, max_iter=1000).fit(X_train, y_train)
auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
mlops.log_metric("auc", auc)
version = mlops.register_model(
    model, "churn", X_sample=X_train, y_sample=y_train, metrics={"auc": auc}, params={"C": C}
)
sio.dump(model, "model.skops")
mlops.log_artifact("model.skops")
X_train.assign(target=y_train).to_csv("train.csv", index=False)
mlops.log_artifact("train.csv")
"""


@pytest.fixture
def mlops(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    instance = MLOps(root_dir=str(root))
    yield instance
    for item in instance.runs.list(0, 50, status="queued,running", kind="batch")["items"]:
        try:
            instance.runs.cancel(item["id"])
        except Conflict:
            pass
    instance.stop()


def training_split():
    data = load_breast_cancer(as_frame=True)
    X, y = data.data.iloc[:, :5], data.target
    return train_test_split(X, y, test_size=0.25, random_state=0)


def test_model_registered_inside_a_real_run_is_linked_to_it(mlops, capsys):
    root = Path(mlops.root_dir)
    write_notebook(root / "train.ipynb", [TRAIN], parameters="C = 1.0")
    (root / "data.csv").write_text("a\n1\n")
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    git = ["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "add", "train.ipynb"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "train"], check=True)

    run = mlops.runs.submit("train.ipynb", {"C": 0.5}, input_files=["data.csv"], user="ada")
    run = mlops.runs.wait(run["id"], timeout=RUN_DEADLINE)
    assert run["status"] == "succeeded", run.get("error") or run.get("status_reason")

    version = mlops.registry.resolve("churn/1")
    assert version["run_id"] == run["id"]
    assert version["params"] == {"C": 0.5}
    assert version["metrics"]["auc"] == pytest.approx(run["metrics"]["auc"])
    X_train, _, y_train, _ = training_split()
    assert [c["name"] for c in version["signature"]["inputs"]] == list(X_train.columns)
    assert version["signature"]["output"]["classes"] == [0, 1]
    assert version["profile"]["n_rows"] == len(X_train)
    first = X_train.columns[0]
    assert version["profile"]["columns"][first]["mean"] == pytest.approx(X_train[first].mean())
    model = mlops.registry.load_model("churn")
    assert model.get_params()["C"] == 0.5

    # lineage is the run's recorded provenance
    provenance = run["provenance"]
    chain = mlops.registry.lineage("churn/1")
    assert chain["run"]["id"] == run["id"] and chain["run"]["status"] == "succeeded"
    assert chain["notebook"] == {"path": "train.ipynb", "sha256": provenance["notebook_sha256"]}
    assert chain["parameters"] == provenance["parameters"] == {"C": 0.5}
    assert chain["inputs"] == provenance["inputs"] and "data.csv" in chain["inputs"]
    assert chain["git"] == provenance["git"] and chain["git"]["branch"] == "main"
    for key in ("kernel", "python", "packages", "platform"):
        assert chain["environment"][key] == provenance[key]
    assert chain["missing"] == []

    # the same run's logged model file, registered from the command line
    args = ["--root-dir", str(root), "models", "register", "churn", "--run", run["id"]]
    args += ["--artifact", "model.skops", "--sample", "train.csv", "--target", "target"]
    assert cli_main(args) == 0
    assert "Registered churn v2 from run" in capsys.readouterr().out
    second = mlops.registry.resolve("churn/2")
    assert second["run_id"] == run["id"] and second["metrics"] == {"auc": run["metrics"]["auc"]}
    assert second["signature"]["inputs"] == version["signature"]["inputs"]
    assert cli_main(["--root-dir", str(root), "lineage", "churn/2"]) == 0
    out = capsys.readouterr().out
    assert f"run          {run['id']} (batch, succeeded, by ada)" in out
    assert f"notebook     train.ipynb  sha256:{provenance['notebook_sha256']}" in out
    assert f"git          {provenance['git']['commit']} (main)" in out


def test_interactive_register_model_and_load_model(mlops, monkeypatch, capsys):
    import jupyterlab_mlops as api
    from jupyterlab_mlops.facade import tracking

    monkeypatch.delenv("MLOPS_RUN_ID", raising=False)
    monkeypatch.setenv("MLOPS_ROOT_DIR", mlops.root_dir)
    monkeypatch.setenv("JPY_SESSION_NAME", str(Path(mlops.root_dir) / "explore.ipynb"))
    tracking.end_interactive_run()  # start from a clean slate: a new interactive run
    from sklearn.ensemble import RandomForestClassifier

    X_train, X_test, y_train, _ = training_split()
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X_train, y_train)
    version = api.register_model(
        model, "churn", X_sample=X_train, y_sample=y_train, metrics={"auc": 0.9}
    )
    assert "Registered churn version 1" in capsys.readouterr().out
    run = mlops.runs.get(version["run_id"])
    assert run["kind"] == "interactive" and run["notebook_path"] == "explore.ipynb"
    assert mlops.registry.lineage("churn")["run"]["id"] == run["id"]
    loaded = api.load_model("churn/1")
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))
    mlops.runs.close_interactive(run["id"])
