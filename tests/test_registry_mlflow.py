"""MLflow interchange: a version exported as an MLflow Model directory loads with
``mlflow.pyfunc`` / ``mlflow.sklearn`` and predicts identically; a model MLflow saved imports,
registers and serves; pickles need an explicit trust; bad directories are refused.

MLflow runs in its own interpreter (``.venv-mlflow``, made by ``make test``: ``mlflow-skinny``
with this venv's scikit-learn, numpy, pandas and skops), as it is an optional extra that the
package never imports. ``MLOPS_TEST_MLFLOW_PYTHON`` names another interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from deploy_support import stopping_all
from drift_support import predict
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from jupyterlab_mlops.app import MLOps
from jupyterlab_mlops.cli import main

REPO = Path(__file__).resolve().parents[1]
MLFLOW_PYTHON = os.environ.get("MLOPS_TEST_MLFLOW_PYTHON") or str(
    REPO / ".venv-mlflow" / "bin" / "python"
)


def mlflow_python() -> str:
    if Path(MLFLOW_PYTHON).exists():
        return MLFLOW_PYTHON
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"no MLflow interpreter at {MLFLOW_PYTHON} (make test creates it)")
    pytest.skip("no MLflow interpreter: run `make mlflow-venv` or set MLOPS_TEST_MLFLOW_PYTHON")


def in_mlflow(script: str, *args: str) -> dict:
    done = subprocess.run(
        [mlflow_python(), "-c", textwrap.dedent(script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "MLFLOW_TRACKING_URI": "", "DO_NOT_TRACK": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def cli(root: Path, *args: str) -> int:
    return main(["--root-dir", str(root), *args])


@pytest.fixture
def iris():
    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y, LogisticRegression(max_iter=500).fit(X, y)


@pytest.fixture
def mlops(tmp_path):
    instance = MLOps(root_dir=str(tmp_path / "root"), deployment_poll_interval=0.0)
    Path(instance.root_dir).mkdir(exist_ok=True)
    with stopping_all(instance):
        yield instance
    instance.stop()


LOAD = """
import json, sys
import numpy as np, pandas as pd
import mlflow.pyfunc, mlflow.sklearn
X = pd.read_csv(sys.argv[2])
pyfunc = mlflow.pyfunc.load_model(sys.argv[1])
sk = mlflow.sklearn.load_model(sys.argv[1])
print(json.dumps({
    "pyfunc": np.asarray(pyfunc.predict(X)).tolist(),
    "proba": sk.predict_proba(X).tolist(),
    "inputs": pyfunc.metadata.signature.inputs.input_names(),
}))
"""


def test_an_exported_version_loads_in_mlflow_and_predicts_identically(mlops, iris, tmp_path):
    X, y, model = iris
    version = mlops.registry.register(model, "iris", X_sample=X, y_sample=y)
    out = tmp_path / "exported"
    assert cli(Path(mlops.root_dir), "models", "export", "iris/1", str(out)) == 0
    mlmodel = yaml.safe_load((out / "MLmodel").read_text())
    assert set(mlmodel["flavors"]) == {"python_function", "sklearn"}
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert (
        mlmodel["metadata"]["jupyterlab_mlops"]["artifact_sha256"] == (version["artifact_sha256"])
    )
    inputs = json.loads(mlmodel["signature"]["inputs"])
    assert [c["name"] for c in inputs] == list(X.columns)
    assert {c["type"] for c in inputs} == {"double"}
    requirements = (out / "requirements.txt").read_text().split()
    import sklearn

    assert f"scikit-learn=={sklearn.__version__}" in requirements
    # A second export into the same directory is refused, leaving it as it was.
    assert cli(Path(mlops.root_dir), "models", "export", "iris/1", str(out)) == 2

    X.to_csv(tmp_path / "X.csv", index=False)
    loaded = in_mlflow(LOAD, str(out), str(tmp_path / "X.csv"))
    assert loaded["pyfunc"] == model.predict(X).tolist()
    assert np.array_equal(np.asarray(loaded["proba"]), model.predict_proba(X))
    assert loaded["inputs"] == list(X.columns)


SAVE = """
import json, sys
import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True, as_frame=True)
model = LogisticRegression(max_iter=500).fit(X, y)
mlflow.sklearn.save_model(model, sys.argv[1], signature=infer_signature(X, model.predict(X)),
                          input_example=X.head(5))
print(json.dumps({"predictions": model.predict(X).tolist()}))
"""


def test_a_model_mlflow_saved_imports_registers_and_serves(mlops, iris, tmp_path):
    X, _, _ = iris
    saved = in_mlflow(SAVE, str(tmp_path / "saved"))
    root = Path(mlops.root_dir)
    assert cli(root, "models", "import", str(tmp_path / "saved"), "iris") == 0  # skops
    version = mlops.registry.resolve("iris/1")
    assert version["tags"]["imported_from"] == "mlflow"
    assert "scikit-learn" in version["tags"]["requirements"]
    assert [c["name"] for c in version["signature"]["inputs"]] == list(X.columns)
    assert mlops.registry.load_model("iris/1").predict(X).tolist() == saved["predictions"]

    deployment = mlops.deployments.create("iris/1", "local")
    served = predict(deployment["url"], X.head(20))
    assert served["predictions"] == saved["predictions"][:20]


def test_pickled_models_need_trust_and_bad_directories_are_refused(mlops, iris, tmp_path):
    X, y, model = iris
    mlops.registry.register(model, "iris", X_sample=X, y_sample=y)
    exported = tmp_path / "exported"
    mlops.registry.export_mlflow("iris/1", exported)
    root = Path(mlops.root_dir)

    assert cli(root, "models", "import", str(exported), "copy") == 2  # a pickle, not trusted
    assert mlops.registry.list_models()["total"] == 1
    assert cli(root, "models", "import", str(exported), "copy", "--trust") == 0
    copy = mlops.registry.load_model("copy/1")
    assert copy.predict(X).tolist() == model.predict(X).tolist()
    assert mlops.registry.resolve("copy/1")["serialization"] == "skops"  # stored safely

    assert cli(root, "models", "import", str(tmp_path), "nothing") == 2  # no MLmodel
    escaping = tmp_path / "escaping"
    escaping.mkdir()
    (tmp_path / "outside.pkl").write_bytes(b"not a model")
    (escaping / "MLmodel").write_text(
        yaml.safe_dump({"flavors": {"sklearn": {"pickled_model": "../outside.pkl"}}})
    )
    with pytest.raises(Exception, match="pickled_model '../outside.pkl' is not a file inside"):
        mlops.registry.import_mlflow(escaping, "bad", trust=True)
    (escaping / "MLmodel").write_text(yaml.safe_dump({"flavors": {"python_function": {}}}))
    with pytest.raises(Exception, match="only MLflow models with the sklearn flavour"):
        mlops.registry.import_mlflow(escaping, "bad")
    assert mlops.registry.list_models()["total"] == 2
