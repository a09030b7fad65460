"""``jupyter mlops info``: where the store is and what it holds."""

from __future__ import annotations

import argparse

from ..version import __version__
from .common import CommandContext, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="Show the version, store and resource counts.")
    parser.add_argument("--json", action="store_true", help="Print JSON.")
    parser.set_defaults(func=run)


def run(context: CommandContext, args: argparse.Namespace) -> int:
    mlops = context.mlops
    info = {
        "version": __version__,
        "root_dir": mlops.root_dir,
        "store": mlops.db.display_url,
        "schema_revision": mlops.db.current_revision(),
        "artifact_root": mlops.resolved_artifact_root,
        "executor": mlops.executor_class,
        "counts": mlops.counts(),
    }
    if args.json:
        print_json(info)
        return 0
    for key, value in info.items():
        if key == "counts":
            value = ", ".join(f"{n} {name}" for name, n in value.items())
        print(f"{key.replace('_', ' '):>16}: {value}")
    return 0
