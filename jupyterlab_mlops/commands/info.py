"""``info``: the version, the store this process uses and what it holds."""

from __future__ import annotations

import argparse
from typing import Any

from ..version import __version__
from .context import Context
from .render import pairs_text
from .spec import Command


def info(context: Context, options: argparse.Namespace) -> dict[str, Any]:
    mlops = context.mlops
    return {
        "version": __version__,
        "root_dir": mlops.root_dir,
        "store": mlops.db.display_url,
        "schema_revision": mlops.db.current_revision(),
        "artifact_root": mlops.resolved_artifact_root,
        "executor": mlops.runs.settings.executor_class,
        "counts": mlops.counts(),
    }


def info_text(data: dict[str, Any], options: argparse.Namespace, context: Context) -> str:
    pairs = []
    for key, value in data.items():
        if key == "counts":
            value = ", ".join(f"{n} {name}" for name, n in value.items())
        pairs.append((key.replace("_", " "), value))
    return pairs_text(pairs, width=16)


COMMANDS = [
    Command(
        "info",
        "Show the version, store and resource counts.",
        info,
        text=info_text,
        magic="info",
        magic_help="Show the version, the store this notebook uses and its counts.",
    )
]
