"""A version's model file: what it is, where it was made, whether it is safe to load.

Artifacts live content-addressed in the artifact store and are verified against their sha256
on every read. Deserialisation goes through the allow-listed skops path; pickle only with
explicit trust. A run's model file is checked the same way *before* it becomes a version, and
a run's sample file (CSV/Parquet/JSON) is read as the frame that gives signature and profile.
"""

from __future__ import annotations

import io
import platform
import sys
from importlib import metadata
from typing import Any

from .. import serialization
from ..errors import InvalidInput, NotFound, UntrustedArtifact

ENVIRONMENT_PACKAGES = ("scikit-learn", "numpy", "scipy", "pandas", "skops", "jupyterlab_mlops")


def describe_model(model: Any) -> tuple[str, str]:
    """``(flavour, model_class)``: sklearn-pipeline, sklearn or python."""
    cls = type(model)
    model_class = f"{cls.__module__}.{cls.__qualname__}"
    try:
        from sklearn.base import BaseEstimator
        from sklearn.pipeline import Pipeline
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        return "python", model_class
    if isinstance(model, Pipeline):
        return "sklearn-pipeline", model_class
    if isinstance(model, BaseEstimator):
        return "sklearn", model_class
    return "python", model_class


def environment_snapshot() -> dict[str, Any]:
    """Where the model was serialised: enough to rebuild a compatible environment."""
    packages = {}
    for name in ENVIRONMENT_PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": {"version": platform.python_version(), "executable": sys.executable},
        "packages": packages,
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "hostname": platform.node(),
        },
    }


def load_run_model(data: bytes, filename: str, *, trust: bool) -> tuple[Any, str, list[str]]:
    """A run's model file as ``(model, serialization kind, trusted types)``, refusing what
    could run code unless ``trust``."""
    kind = serialization.detect(data, filename)
    if kind == serialization.SKOPS:
        trusted = serialization._untrusted_types(data)
        disallowed = [t for t in trusted if not serialization.is_safe_type(t)]
        if disallowed and not trust:
            raise UntrustedArtifact(
                f"{filename} contains types outside the allow-list: "
                f"{', '.join(disallowed)}; pass trust=true only if you trust this run"
            )
    elif not trust:
        raise UntrustedArtifact(
            f"{filename} is a {kind} file: unpickling can run arbitrary code. "
            "Save the model with skops, or pass trust=true if you trust this run."
        )
    else:
        trusted = []
    return serialization.load(data, kind, trusted, trust=trust), kind, trusted


def read_frame(data: bytes, filename: str):
    """A sample file as a DataFrame (by its extension), or a 400 saying why not."""
    import pandas as pd

    buffer = io.BytesIO(data)
    lowered = filename.lower()
    try:
        if lowered.endswith(".parquet"):
            return pd.read_parquet(buffer)
        if lowered.endswith(".json"):
            return pd.read_json(buffer)
        if lowered.endswith((".csv", ".csv.gz", ".txt")):
            return pd.read_csv(buffer)
    except Exception as err:
        raise InvalidInput(f"cannot read {filename} as a table: {err}") from None
    raise InvalidInput(f"{filename}: a sample must be a .csv, .parquet or .json file")


def run_artifact(run: dict[str, Any], key: Any) -> dict[str, Any]:
    """One of the run's artifacts by name or sha256 (the last logged one wins)."""
    if not isinstance(key, str) or not key:
        raise InvalidInput("artifact must be the name or sha256 of one of the run's artifacts")
    artifacts = run.get("artifacts") or []
    matches = [a for a in artifacts if a["name"] == key or a["sha256"] == key.lower()]
    if not matches:
        names = ", ".join(sorted({a["name"] for a in artifacts})) or "none"
        raise NotFound(f"run {run['id']} has no artifact {key!r} (its artifacts: {names})")
    return matches[-1]
