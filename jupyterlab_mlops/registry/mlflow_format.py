"""MLflow Model directories, written and read without MLflow installed.

``write_mlflow_model`` writes what ``mlflow.sklearn.save_model`` writes for a scikit-learn
model: ``MLmodel`` with the ``python_function`` and ``sklearn`` flavours and the signature as
an MLflow ``ModelSignature`` (column specs), the model pickled as MLflow's sklearn flavour loads
it (``serialization_format: pickle``), ``requirements.txt``, ``python_env.yaml`` and
``conda.yaml`` from the environment of the run that made the version (else this process's),
and an ``input_example.json`` when the version has a reference sample. So
``mlflow.pyfunc.load_model(DIR)`` and ``mlflow.sklearn.load_model(DIR)`` load it.

``read_mlflow_model`` reads a sklearn-flavour directory for registration. Its model file is
loaded only when that is safe: a skops file through the registry's allow-list
(``serialization.load``), a pickle or cloudpickle file only with an explicit ``trust`` — a
pickle can run any code when it is loaded.
"""

from __future__ import annotations

import json
import pickle
import platform
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from .. import serialization
from ..errors import InvalidInput

MLMODEL = "MLmodel"
MODEL_FILE = "model.pkl"
# Packages the sklearn flavour needs at load time, pinned from the recorded environment.
REQUIRED_PACKAGES = ("mlflow", "scikit-learn", "numpy", "scipy", "pandas")
MLFLOW_TYPES = {"f": "double", "i": "long", "u": "long", "b": "boolean"}


# -- export ---------------------------------------------------------------------------------


def mlflow_type(dtype: str) -> str:
    """MLflow's column type for a numpy/pandas dtype name."""
    import numpy as np

    if dtype in ("category", "object", "string", "str"):
        return "string"
    try:
        return MLFLOW_TYPES.get(np.dtype(dtype).kind, "string")
    except TypeError:
        return "string"


def mlflow_signature(signature: dict[str, Any]) -> dict[str, Any] | None:
    """Our signature (``inputs`` with name, dtype, nullable; ``output``) as MLflow's."""
    inputs = signature.get("inputs") or []
    if not inputs:
        return None
    columns = [
        {
            "type": mlflow_type(str(column.get("dtype", "float64"))),
            "name": column["name"],
            "required": not column.get("nullable", False),
        }
        for column in inputs
    ]
    output = signature.get("output") or {}
    outputs = None
    if output.get("dtype"):
        outputs = json.dumps([{"type": mlflow_type(str(output["dtype"])), "required": True}])
    return {"inputs": json.dumps(columns), "outputs": outputs, "params": None}


def requirements(packages: dict[str, str]) -> list[str]:
    """Pinned requirements for the packages the flavour loads with (unpinned when unknown)."""
    lines = []
    for name in REQUIRED_PACKAGES:
        version = packages.get(name)
        lines.append(f"{name}=={version}" if version else name)
    return lines


def write_mlflow_model(
    directory: Path,
    model: Any,
    version: dict[str, Any],
    *,
    environment: dict[str, Any] | None = None,
    input_example: Any = None,
) -> Path:
    """An MLflow Model directory for ``model`` (the loaded object of ``version``)."""
    import sklearn

    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()):
        raise InvalidInput(
            f"{directory} exists and is not empty: give a new directory",
            details={"field": "directory"},
        )
    directory.mkdir(parents=True, exist_ok=True)
    environment = environment or {}
    packages = {k.lower(): v for k, v in (environment.get("packages") or {}).items()}
    packages.setdefault("scikit-learn", sklearn.__version__)
    python = (environment.get("python") or {}).get("version") or platform.python_version()

    (directory / MODEL_FILE).write_bytes(pickle.dumps(model))
    pinned = requirements(packages)
    (directory / "requirements.txt").write_text("\n".join(pinned) + "\n")
    (directory / "python_env.yaml").write_text(
        yaml.safe_dump(
            {
                "python": python,
                "build_dependencies": ["pip"],
                "dependencies": ["-r requirements.txt"],
            },
            sort_keys=False,
        )
    )
    (directory / "conda.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "mlflow-env",
                "channels": ["conda-forge"],
                "dependencies": [f"python={python}", "pip", {"pip": pinned}],
            },
            sort_keys=False,
        )
    )
    mlmodel: dict[str, Any] = {
        "flavors": {
            "python_function": {
                "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
                "loader_module": "mlflow.sklearn",
                "model_path": MODEL_FILE,
                "predict_fn": "predict",
                "python_version": python,
            },
            "sklearn": {
                "code": None,
                "pickled_model": MODEL_FILE,
                "serialization_format": "pickle",
                "sklearn_version": packages["scikit-learn"],
            },
        },
        "model_uuid": uuid.uuid4().hex,
        "utc_time_created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f"),
        "metadata": {
            "jupyterlab_mlops": {
                "model": version["name"],
                "version": int(version["version"]),
                "artifact_sha256": version.get("artifact_sha256"),
                "run_id": version.get("run_id"),
            }
        },
    }
    signature = mlflow_signature(version.get("signature") or {})
    if signature is not None:
        mlmodel["signature"] = signature
    if input_example is not None:
        example = input_example.head(5)
        (directory / "input_example.json").write_text(example.to_json(orient="split", index=False))
        mlmodel["saved_input_example_info"] = {
            "artifact_path": "input_example.json",
            "type": "dataframe",
            "pandas_orient": "split",
        }
    (directory / MLMODEL).write_text(yaml.safe_dump(mlmodel, sort_keys=False))
    return directory


def zip_directory(directory: Path) -> bytes:
    """The directory's files in a zip archive (paths relative to it), built in memory."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(Path(directory).rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


# -- import ---------------------------------------------------------------------------------


def _inside(directory: Path, name: Any, what: str) -> Path:
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"MLmodel: {what} is missing", details={"field": what})
    path = (directory / name).resolve()
    if not path.is_relative_to(directory.resolve()) or not path.is_file():
        raise InvalidInput(
            f"MLmodel: {what} {name!r} is not a file inside the model directory",
            details={"field": what},
        )
    return path


def read_mlflow_model(directory: Path, *, trust: bool = False) -> dict[str, Any]:
    """``{"model", "X_sample", "tags"}`` of an MLflow sklearn-flavour model directory."""
    directory = Path(directory)
    mlmodel_path = directory / MLMODEL
    if not mlmodel_path.is_file():
        raise InvalidInput(
            f"{directory} has no MLmodel file: not an MLflow Model directory",
            details={"field": "directory"},
        )
    try:
        mlmodel = yaml.safe_load(mlmodel_path.read_text())
    except yaml.YAMLError as err:
        raise InvalidInput(f"MLmodel is not valid YAML: {err}") from None
    flavour = ((mlmodel or {}).get("flavors") or {}).get("sklearn")
    if not isinstance(flavour, dict):
        found = sorted((mlmodel or {}).get("flavors") or {})
        raise InvalidInput(
            f"only MLflow models with the sklearn flavour can be imported (this one has: "
            f"{', '.join(found) or 'none'})",
            details={"field": "flavors"},
        )
    model_file = _inside(directory, flavour.get("pickled_model"), "pickled_model")
    data = model_file.read_bytes()
    kind = flavour.get("serialization_format", "pickle")
    if kind == "skops":
        import skops.io as sio

        # The allow-list decides (nothing was recorded for a file made elsewhere).
        allowed = [t for t in sio.get_untrusted_types(data=data) if serialization.is_safe_type(t)]
        model = serialization.load(data, serialization.SKOPS, allowed, trust=trust)
    elif kind in ("pickle", "cloudpickle"):
        # UntrustedArtifact unless trusted: a pickle can run any code when loaded.
        model = serialization.load(data, serialization.PICKLE, [], trust=trust)
    else:
        raise InvalidInput(
            f"unknown sklearn serialization_format {kind!r}",
            details={"field": "serialization_format"},
        )
    tags = {"imported_from": "mlflow", "mlflow_model_uuid": str(mlmodel.get("model_uuid", ""))}
    if mlmodel.get("signature"):
        tags["mlflow_signature"] = json.dumps(mlmodel["signature"], sort_keys=True)
    requirements_file = directory / "requirements.txt"
    if requirements_file.is_file():
        tags["requirements"] = ", ".join(
            line.strip() for line in requirements_file.read_text().splitlines() if line.strip()
        )
    return {"model": model, "X_sample": _example(directory, mlmodel), "tags": tags}


def _example(directory: Path, mlmodel: dict[str, Any]) -> Any:
    """The saved input example as a DataFrame (the signature and reference sample), if any."""
    import pandas as pd

    info = mlmodel.get("saved_input_example_info") or {}
    name = info.get("artifact_path")
    if not name:
        return None
    path = _inside(directory, name, "saved_input_example_info.artifact_path")
    try:
        content = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise InvalidInput(f"{name} is not valid JSON: {err}") from None
    if isinstance(content, dict) and "dataframe_split" in content:
        content = content["dataframe_split"]
    if isinstance(content, dict) and {"columns", "data"} <= set(content):
        return pd.DataFrame(content["data"], columns=content["columns"])
    if isinstance(content, list):
        return pd.DataFrame(content)
    return None


__all__ = ["mlflow_signature", "read_mlflow_model", "write_mlflow_model", "zip_directory"]
