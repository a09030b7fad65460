"""``jupyter mlops …``: the command-line interface, a thin adapter over the command layer.

``jupyter mlops`` finds this as the ``jupyter-mlops`` console script. Configuration is read the
way the server reads it (``jupyter_server_config.{py,json}`` and ``jupyter_mlops_config.{py,json}``
in the Jupyter config path and the current directory, then ``MLOPS_*`` environment variables), so
the CLI, the server and the magics see the same store. The commands, their arguments and their
output are defined once in :mod:`jupyterlab_mlops.commands`; this module builds the argparse
tree from them, runs one, prints text (or JSON with ``--json``) and returns the exit status:
0 ok, 1 a run failed (or the server side failed), 2 refused input, 130 interrupted.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Sequence

from ..commands import CLI, EXIT_FAILED, EXIT_REFUSED, Command, Context, all_commands, all_groups
from ..commands.render import json_text
from ..commands.spec import add_arguments
from ..errors import MLOpsError
from ..version import __version__

EXIT_INTERRUPTED = 130


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
    top = parser.add_subparsers(title="commands", metavar="COMMAND")
    groups = all_groups()
    containers: dict[str, argparse._SubParsersAction] = {"": top}
    for command in all_commands():
        if not command.cli:
            continue
        *prefix, last = command.name.split()
        for depth in range(len(prefix)):
            path = " ".join(prefix[: depth + 1])
            if path not in containers:
                group = groups.get(path)
                sub = containers[" ".join(prefix[:depth])].add_parser(
                    prefix[depth], help=group.help if group else None
                )
                sub.set_defaults(command=None, help_parser=sub)
                containers[path] = sub.add_subparsers(title=f"{path} commands", metavar="ACTION")
        sub = containers[" ".join(prefix)].add_parser(
            last, help=command.help, description=command.description or command.help
        )
        add_arguments(sub, command, CLI)
        sub.set_defaults(command=command, help_parser=sub)
    return parser


def run(command: Command, context: Context, options: argparse.Namespace) -> int:
    """Call the command, print its output, return its exit status."""
    data = command.call(context, options)
    if getattr(options, "json", False):
        output = json_text(command.json_data(data))
    else:
        output = command.render_text(data, options, context)
    if output:
        print(output, flush=True)
    return int(command.exit_code(data, options))


def skip_iri_format_checker() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax`` in this process.

    nbformat imports jsonschema, whose format module registers an ``iri`` checker built from
    ``rfc3987_syntax``, which compiles 38 Lark grammars at import: 1.3 s of a 3 s ``jupyter
    mlops run`` here (python-jsonschema/jsonschema#1428). No notebook or Jupyter schema uses the
    ``iri`` formats, and jsonschema skips the checker when the import fails, as it does when the
    package is not installed. Kernels and the server are not affected.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    skip_iri_format_checker()
    parser = build_parser()
    options = parser.parse_args(argv)
    command: Command | None = getattr(options, "command", None)
    if command is None:
        getattr(options, "help_parser", parser).print_help()
        return 0

    @functools.cache
    def mlops():
        from ..app import build_mlops

        return build_mlops(options.root_dir, options.config)

    try:
        return run(command, Context(CLI, mlops), options)
    except MLOpsError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return EXIT_REFUSED if err.status < 500 else EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`| head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    finally:
        # Webhooks this command caused (a registration, a promotion) go out before we exit.
        if mlops.cache_info().currsize and "outbox" in mlops().__dict__:
            mlops().outbox.drain(timeout=60)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
