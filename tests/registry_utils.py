"""Shared helpers for the registry tests: a training frame and small fitted models."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from jupyterlab_mlops.store import models as m


def training_frame(n_columns: int = 4) -> tuple[pd.DataFrame, pd.Series]:
    """Breast-cancer features plus a categorical column with missing values and a boolean."""
    data = load_breast_cancer(as_frame=True)
    X = data.data.iloc[:, :n_columns].copy()
    rng = np.random.default_rng(0)
    city = rng.choice(["paris", "lyon", "nice"], size=len(X), p=[0.5, 0.3, 0.2]).astype(object)
    city[::17] = None
    X["city"] = city
    X["member"] = rng.random(len(X)) < 0.25
    return X, data.target.rename("malignant")


def pipeline_model(X: pd.DataFrame, y: pd.Series) -> Pipeline:
    numeric = [c for c in X.columns if c not in ("city", "member")]
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                ["city"],
            ),
            ("bool", "passthrough", ["member"]),
        ]
    )
    return Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=500))]).fit(X, y)


def simple_model(seed: int = 0) -> LogisticRegression:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    return LogisticRegression().fit(X, y)


def add_run(mlops, *, provenance: dict | None = None, **values) -> str:
    """A Run row as the runs service records it (for lineage tests that need no execution)."""
    with mlops.db.session() as session:
        run = m.Run(notebook_path=values.pop("notebook_path", "train.ipynb"), **values)
        run.provenance = provenance or {}
        session.add(run)
        session.flush()
        return run.id


PROVENANCE = {
    "notebook_sha256": "a" * 64,
    "parameters": {"C": 0.5, "max_iter": 200},
    "kernel": {"name": "python3", "language": "python", "language_version": "3.11.7"},
    "python": {"version": "3.11.7", "executable": "/usr/bin/python3"},
    "packages": {"scikit-learn": "1.9.1", "numpy": "2.4.6"},
    "platform": {"system": "Linux", "release": "6.1", "machine": "x86_64", "hostname": "box"},
    "git": {"commit": "0123456789abcdef", "branch": "main", "dirty": False, "root": "/repo"},
    "inputs": {"data/train.csv": "b" * 64},
    "user": "alice",
}


def register_in_process(root: str, barrier, seed: int, results, store_url: str = "") -> None:
    """Child-process body of the concurrency test: open the store, wait for all, register."""
    import os

    from jupyterlab_mlops.app import MLOps

    mlops = MLOps(root_dir=root, store_url=store_url)
    model = simple_model(seed)
    mlops.db  # noqa: B018 - open (and check) the store before the race starts
    barrier.wait(timeout=120)
    version = mlops.registry.register(model, "race", metrics={"seed": seed}, user=f"p{seed}")
    results.put((seed, version["version"], os.getpid()))
    mlops.stop()
