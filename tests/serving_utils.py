"""Helpers for the serving tests: bundles built from real fitted models, real uvicorn processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pandas as pd

from jupyterlab_mlops.registry.signature import infer_signature
from jupyterlab_mlops.serialization import dump
from jupyterlab_mlops.serving.bundle import write_metadata
from jupyterlab_mlops.serving.deployers.base import free_port
from jupyterlab_mlops.store.artifacts import sha256_bytes


def make_bundle(
    directory: Path, model, X: pd.DataFrame, *, name="cancer", version=1, nullable=()
) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    data, serialization, trusted = dump(model)
    filename = f"model.{serialization}"
    (directory / filename).write_bytes(data)
    signature = infer_signature(X, None, model)
    for spec in signature["inputs"]:
        if spec["name"] in nullable:
            spec["nullable"] = True
    write_metadata(
        directory,
        {
            "name": name,
            "version": version,
            "artifact_sha256": sha256_bytes(data),
            "serialization": serialization,
            "model_file": filename,
            "trusted_types": trusted,
            "signature": signature,
            "profile": {},
            "metrics": {"accuracy": 0.9},
            "lineage": {
                "run_id": "run123",
                "notebook_path": "train.ipynb",
                "notebook_sha256": "ab" * 32,
                "git_commit": None,
            },
        },
    )
    return directory


class Server:
    """``python -m jupyterlab_mlops.serving`` on a free port, ready when /health answers
    (``bundle`` None: the hosted models come from a ``--models-file`` in ``args``)."""

    def __init__(
        self, bundle, log_path, *args: str, env: dict | None = None, timeout: float = 60.0
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = open(Path(log_path).with_suffix(f".{self.port}.out"), "w+b")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab_mlops.serving",
                *(["--bundle", str(bundle)] if bundle is not None else []),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--prediction-log",
                str(log_path),
                "--log-level",
                "warning",
                *args,
            ],
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"serving process exited {self.proc.returncode}: {self.output()}"
                )
            try:
                if httpx.get(f"{self.url}/health", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                output = self.output()  # before stop() closes the file
                self.stop()
                raise RuntimeError(f"serving process never became healthy: {output}")
            time.sleep(0.05)

    def output(self) -> str:
        self.log_file.flush()
        self.log_file.seek(0)
        return self.log_file.read().decode(errors="replace")

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        return self.proc.returncode

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def mixed_pipeline(X: pd.DataFrame, y, handle_unknown: str):
    """One-hot ``city`` (``handle_unknown`` as the encoder takes it), the other columns as they
    are, then a depth-4 tree: a model with numeric, categorical and boolean inputs."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder
    from sklearn.tree import DecisionTreeClassifier

    encoder = OneHotEncoder(handle_unknown=handle_unknown)
    return Pipeline(
        [
            ("pre", ColumnTransformer([("cat", encoder, ["city"])], remainder="passthrough")),
            ("clf", DecisionTreeClassifier(max_depth=4, random_state=0)),
        ]
    ).fit(X, y)
