"""Models in and out of MLflow's format: ``models export REF --format mlflow DIR`` and
``models import DIR NAME [--trust]`` (``registry/mlflow_format.py``; MLflow itself is not
needed for either)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .context import Context
from .spec import Command, arg


def export(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.registry.export_mlflow(
        options.ref, Path(options.directory).expanduser(), trust=options.trust
    )


def export_text(result: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    return (
        f"Exported {result['name']} v{result['version']} as an MLflow model to "
        f"{options.directory} (mlflow.pyfunc.load_model({options.directory!r}) loads it)"
    )


def import_(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    return context.mlops.registry.import_mlflow(
        Path(options.directory).expanduser(),
        options.name,
        trust=options.trust,
        description=options.description,
        user=context.user,
    )


def import_text(version: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    return (
        f"Registered {version['name']} v{version['version']} from the MLflow model in "
        f"{options.directory} ({version['model_class']}, sha256 "
        f"{version['artifact_sha256'][:12]}…)"
    )


COMMANDS = [
    Command(
        "models export",
        "Write a version as an MLflow Model directory (MLmodel, sklearn + python_function).",
        export,
        (
            arg("ref", help="churn@production, churn/3 or churn (latest)"),
            arg("directory", help="A new (or empty) directory."),
            arg("--format", choices=["mlflow"], default="mlflow", help="Only mlflow for now."),
            arg("--trust", action="store_true", help="Load a version stored as a pickle."),
        ),
        text=export_text,
    ),
    Command(
        "models import",
        "Register an MLflow sklearn-flavour model directory as the next version of NAME.",
        import_,
        (
            arg("directory", help="The MLflow Model directory (with its MLmodel file)."),
            arg("name"),
            arg(
                "--trust",
                action="store_true",
                help="Load a pickle/cloudpickle model file (it can run any code).",
            ),
            arg("--description", default=""),
        ),
        text=import_text,
    ),
]
