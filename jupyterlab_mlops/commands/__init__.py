"""The command layer: every ``jupyter mlops …`` command and ``%mlops …`` magic, written once.

A command (:class:`~.spec.Command`) is its words, arguments and help, a function that calls the
services (``mlops.runs``, ``mlops.registry``, ``mlops.deployments``, ``mlops.monitors``,
``mlops.drift_report``, ``mlops.schedules``, ``mlops.pipelines``) and returns data, and
renderers of that data: aligned text for a terminal, HTML (or text) for a notebook, JSON with
``--json``. cli/ builds argparse sub-commands from the specs and magics/ ``%mlops``
sub-commands; neither holds presentation code of its own.

One module per resource (info, runs, models, deployments, drift, schedules, pipelines) and
``scheduler`` (the standalone process of the periodic jobs); shared pieces: ``render``
(tables, pairs, value formats), ``arguments`` (``KEY=VALUE``, JSON, methods, data files),
``progress`` (tqdm.auto), ``defaults`` (settings and limits, read in one place), ``context``.
"""

from __future__ import annotations

import functools
import importlib

from .context import Context
from .spec import CLI, EXIT_FAILED, EXIT_OK, EXIT_REFUSED, MAGIC, Arg, Command, Group, arg

# The resource modules, in the order their commands are listed.
MODULES = (
    "info",
    "runs",
    "models",
    "interchange",
    "deployments",
    "drift",
    "schedules",
    "pipelines",
    "scheduler",
)


@functools.cache
def _modules() -> tuple:
    return tuple(importlib.import_module(f".{name}", __name__) for name in MODULES)


def all_commands() -> list[Command]:
    return [command for module in _modules() for command in module.COMMANDS]


def all_groups() -> dict[str, Group]:
    return {g.name: g for module in _modules() for g in getattr(module, "GROUPS", [])}


def find_command(name: str) -> Command | None:
    """The command with these CLI words (``"runs cancel"``)."""
    return next((c for c in all_commands() if c.name == name), None)


def magic_commands() -> dict[str, Command]:
    """``%mlops`` sub-command name → command."""
    return {c.magic: c for c in all_commands() if c.magic}


__all__ = [
    "CLI",
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "MAGIC",
    "Arg",
    "Command",
    "Context",
    "Group",
    "all_commands",
    "all_groups",
    "arg",
    "find_command",
    "magic_commands",
]
