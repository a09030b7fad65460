"""``jupyter mlops …``: the command-line interface.

``jupyter mlops`` finds this as the ``jupyter-mlops`` console script. Configuration is read the
way the server reads it (``jupyter_server_config.{py,json}`` and ``jupyter_mlops_config.{py,json}``
in the Jupyter config path and the current directory, then ``MLOPS_*`` environment variables), so
the CLI, the server and the magics see the same store. Each resource's commands live in their own
module in this package and register themselves on the parser.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from ..app import build_mlops
from ..errors import MLOpsError
from ..version import __version__
from .common import CommandContext

# Modules whose ``register(subparsers)`` adds commands; each command sets ``func``.
COMMAND_MODULES = ["info", "deploy", "models", "runs"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter mlops",
        description="Reproducible notebook runs, model registry, serving and drift monitoring.",
    )
    parser.add_argument("--version", action="version", version=f"jupyterlab-mlops {__version__}")
    parser.add_argument(
        "--root-dir",
        default=None,
        help="Project root (the Jupyter server root); default: the current directory.",
    )
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="FILE",
        help="Extra config file (.py or .json) with c.MLOps.* settings; may be repeated.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f".{name}", __name__)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[CommandContext, argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 0
    try:
        context = CommandContext(build_mlops(args.root_dir, args.config))
        return int(func(context, args) or 0)
    except MLOpsError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 2 if err.status < 500 else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
