"""Shared set-up of the deployment tests: two real scikit-learn models registered in a real store.

Not a test module (no ``test_`` prefix); imported by ``test_deploy*.py``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import nbformat
import pandas as pd
from polling import wait_for  # also re-exported for the suites
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from jupyterlab_mlops.app import MLOps

BASE_IMAGE = os.environ.get("MLOPS_TEST_BASE_IMAGE", "localhost/mlops-base:bookworm")


def dataset() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@functools.lru_cache(maxsize=1)
def trained_models() -> tuple:
    """Trained once per test process: (scaled logistic regression, shallow tree)."""
    X, y = dataset()
    v1 = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    v2 = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    return v1, v2


def register_models(mlops: MLOps, name: str = "churn") -> dict:
    """v1 (logistic regression) and v2 (a shallow tree) of ``name``; production -> v1."""
    X, y = dataset()
    v1, v2 = trained_models()
    r1 = mlops.registry.register(v1, name, X_sample=X.head(100), y_sample=y.head(100))
    r2 = mlops.registry.register(v2, name, X_sample=X.head(100), y_sample=y.head(100))
    mlops.registry.set_alias(name, "production", r1["version"], user="test")
    return {"X": X, "y": y, "models": {r1["version"]: v1, r2["version"]: v2}}


def predict(url: str, frame: pd.DataFrame, client: httpx.Client | None = None) -> dict:
    payload = {"records": frame.to_dict(orient="records")}
    if client is None:
        response = httpx.post(f"{url}/predict", json=payload, timeout=30, trust_env=False)
    else:
        response = client.post(f"{url}/predict", json=payload)
    assert response.status_code == 200, response.text
    return response.json()


@contextlib.contextmanager
def stopping_all(mlops: MLOps) -> Iterator[MLOps]:
    """Stop (and remove containers of) every deployment of ``mlops`` at the end: no leaks."""
    try:
        yield mlops
    finally:
        service = mlops.deployments
        for item in service.list(limit=500, stats=False)["items"]:
            deployer = service.deployer(item["target"])
            try:
                deployer.stop(item)
                deployer.remove(item)
            except Exception:  # noqa: BLE001 - best effort clean-up, the test already reported
                pass


class RequestLoop(threading.Thread):
    """Sends /predict requests back to back until told to stop (at most ``max_requests``)."""

    def __init__(
        self,
        url: str,
        frame: pd.DataFrame,
        max_requests: int = 5000,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(daemon=True)
        self.url, self.frame, self.max_requests = url, frame, max_requests
        self.headers = headers or {}
        self.results: list[tuple[int, int | None]] = []  # (status or -1, version)
        self.answers: list[tuple[int, list]] = []  # (version, predictions) of each 200
        self.failures: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        payload = {"records": self.frame.to_dict(orient="records")}
        with httpx.Client(timeout=30, trust_env=False, headers=self.headers) as client:
            while not self.halt.is_set() and len(self.results) < self.max_requests:
                try:
                    response = client.post(f"{self.url}/predict", json=payload)
                except httpx.HTTPError as err:
                    self.results.append((-1, None))
                    self.failures.append(repr(err))
                    continue
                body = response.json() if response.status_code == 200 else {}
                version = body.get("version")
                self.results.append((response.status_code, version))
                if response.status_code == 200:
                    self.answers.append((version, body.get("predictions")))
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code}: {response.text[:200]}")

    def versions(self) -> list[int]:
        return [v for status, v in self.results if status == 200]

    def through_alias_move(self, mlops: MLOps) -> list[int]:
        """Send requests while ``churn@production`` moves from v1 to v2 and the deployments
        follow; the versions that answered, checked: no request failed, v1 first, then v2 only
        (never back)."""
        self.start()
        try:
            wait_for(lambda: len(self.results) >= 20)
            mlops.registry.set_alias("churn", "production", 2, user="test")
            switched = mlops.deployments.sync_aliases()
            assert [d["version"] for d in switched] == [2]
            seen = len(self.results)
            wait_for(lambda: len(self.results) >= seen + 20)
        finally:
            self.halt.set()
            self.join(timeout=30)
        assert self.failures == []
        versions = self.versions()
        assert versions[0] == 1 and versions[-1] == 2
        assert versions == sorted(versions)  # never back to v1 after the switch
        return versions


GATED_TRAINING = """\
import pathlib
import time

deadline = time.monotonic() + 300
while gate and not pathlib.Path(gate).exists() and time.monotonic() < deadline:
    time.sleep(0.1)

from sklearn.datasets import load_breast_cancer
from sklearn.tree import DecisionTreeClassifier

import jupyterlab_mlops as mlops

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
model = DecisionTreeClassifier(max_depth=depth, random_state=0).fit(X, y)
mlops.register_model(model, name, X_sample=X.head(50))
"""


def training_notebook(path: Path) -> Path:
    """A notebook that trains and registers ``name``, after waiting for the file ``gate``
    (parameters ``gate``, ``depth``, ``name``): a test decides when the run may finish."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.metadata["language_info"] = {"name": "python"}
    parameters = nbformat.v4.new_code_cell('gate = ""\ndepth = 2\nname = "gated"')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, nbformat.v4.new_code_cell(GATED_TRAINING)]
    nbformat.write(nb, path)
    return path
