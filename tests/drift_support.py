"""Shared set-up of the drift monitor tests: a real model, real receivers for alert channels.

Not a test module (no ``test_`` prefix); imported by ``test_drift_*.py``.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pandas as pd
from polling import wait_for  # noqa: F401 - re-exported for the suites
from receivers import SmtpReceiver, WebhookReceiver  # noqa: F401 - re-exported
from sklearn.datasets import load_breast_cancer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

MODEL = "cancer"
# The suites that create their own monitor opt out of the one every deployment gets.
NO_MONITOR = {"monitor": False}
KEY_FEATURES = ["mean radius", "mean texture"]


def dataset() -> dict:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, random_state=0)
    X_train = X_train.copy()
    # A few missing textures in training: the signature marks the column nullable, so the
    # serving process accepts requests without it (and the imputer fills them in).
    X_train.iloc[::50, X_train.columns.get_loc("mean texture")] = np.nan
    return {"X_train": X_train, "X_test": X_test, "y_train": y_train, "y_test": y_test}


def fit(X: pd.DataFrame, y: pd.Series):
    return make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=1000)).fit(
        X, y
    )


def register_champion(mlops, data: dict) -> dict:
    model = fit(data["X_train"], data["y_train"])
    accuracy = float(model.score(data["X_test"], data["y_test"]))
    version = mlops.registry.register(
        model,
        MODEL,
        X_sample=data["X_train"],
        y_sample=data["y_train"],
        metrics={"accuracy": accuracy},
    )
    mlops.registry.set_alias(MODEL, "production", version["version"], user="test")
    return version


def records(frame: pd.DataFrame) -> list[dict]:
    return [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def predict(url: str, frame: pd.DataFrame) -> dict:
    response = httpx.post(
        f"{url}/predict", json={"records": records(frame)}, timeout=60, trust_env=False
    )
    assert response.status_code == 200, response.text
    return response.json()


def feedback(url: str, ids: list[str], labels) -> None:
    items = [{"prediction_id": i, "label": int(v)} for i, v in zip(ids, labels, strict=True)]
    response = httpx.post(f"{url}/feedback", json={"items": items}, timeout=60, trust_env=False)
    assert response.status_code == 200, response.text


def logged(path: str, n: int, labelled: bool = False) -> bool:
    from jupyterlab_mlops.serving.prediction_log import read_log

    return len(read_log(path, labelled=labelled)) >= n


def drifted(frame: pd.DataFrame, *, radius: float = 1.25, missing: float = 0.1) -> pd.DataFrame:
    """The seeds' two examples: a key feature's mean moves, requests miss a key feature."""
    out = frame.copy()
    out["mean radius"] = out["mean radius"] * radius
    n_missing = int(round(len(out) * missing))
    out.iloc[:n_missing, out.columns.get_loc("mean texture")] = np.nan
    return out


RETRAIN_PARAMETERS = """\
prediction_log = ""
quality = "good"
"""

RETRAIN_CELLS = [
    """\
import numpy as np
from sklearn.dummy import DummyClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import jupyterlab_mlops as mlops
from jupyterlab_mlops.serving.prediction_log import PredictionLog

log = PredictionLog(prediction_log)
data = log.labelled()
log.close()
meta = {"id", "ts", "model_version", "variant", "latency_ms", "prediction", "label"}
X = data[[c for c in data.columns if c not in meta]].astype(float)
y = data["label"].astype(int)
if quality == "good":
    model = make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=1000))
else:  # a deliberately bad challenger: always the rarer class
    model = DummyClassifier(strategy="constant", constant=int(y.value_counts().idxmin()))
model.fit(X, y)
accuracy = float(model.score(X, y))
print(f"retrained on {len(X)} labelled predictions: accuracy {accuracy:.3f}")
mlops.register_model(model, "cancer", X_sample=X, y_sample=y, metrics={"accuracy": accuracy})
""",
]


# With ``hold=True`` the notebook first waits (bounded) until the file named by its ``release``
# parameter exists: a test decides when the run may finish, e.g. after a server restart.
HOLD_PARAMETER = 'release = ""\n'
HOLD_CELL = """\
import pathlib
import time

deadline = time.monotonic() + 600
while release and not pathlib.Path(release).exists():
    assert time.monotonic() < deadline, "never released"
    time.sleep(0.2)
"""


def retrain_notebook(root: Path, name: str = "retrain.ipynb", *, hold: bool = False) -> Path:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = RETRAIN_PARAMETERS + (HOLD_PARAMETER if hold else "")
    nb.cells.append(new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    if hold:
        nb.cells.append(new_code_cell(HOLD_CELL))
    nb.cells.extend(new_code_cell(source) for source in RETRAIN_CELLS)
    path = root / name
    nbformat.write(nb, path)
    return path
