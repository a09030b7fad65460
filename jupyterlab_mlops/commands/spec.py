"""What a command is: its words, arguments and help, the function that calls the services and
returns data, and the renderers of that data.

The same spec drives both interfaces: cli/ turns it into an argparse sub-command (``jupyter mlops
models promote …``), magics/ into a ``%mlops`` sub-command (``%mlops promote …``). A renderer gets
``(data, options, context)`` and returns what to show: a ``str`` (printed), a
:class:`~jupyterlab_mlops.commands.render.Html` (displayed as HTML in a notebook) or an object with
its own rich display (a drift report: the widget).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .render import json_text

if TYPE_CHECKING:
    from .context import Context

Call = Callable[["Context", argparse.Namespace], Any]
Renderer = Callable[[Any, argparse.Namespace, "Context"], Any]
ExitCode = Callable[[Any, argparse.Namespace], int]

CLI, MAGIC = "cli", "magic"
# 3: accepted but waiting for someone (an approval request was made instead)
EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_PENDING = 0, 1, 2, 3


@dataclass(frozen=True)
class Arg:
    """One ``add_argument`` call; ``group`` makes the arguments of the same group mutually
    exclusive (``--json`` belongs to group ``output``)."""

    flags: tuple[str, ...]
    options: Mapping[str, Any]
    group: str | None = None


def arg(*flags: str, group: str | None = None, **options: Any) -> Arg:
    return Arg(flags, options, group)


def _no_failure(data: Any, options: argparse.Namespace) -> int:
    return EXIT_OK


@dataclass(frozen=True)
class Command:
    """A command of both interfaces.

    ``name`` is its words on the command line (``"models promote"``); ``magic`` the name of its
    ``%mlops`` sub-command, if it has one. ``text`` renders for a terminal (default: JSON),
    ``notebook`` for a notebook cell (default: ``text``); ``to_json`` makes the data JSON-ready
    for ``--json`` (default: it already is). ``exit_code`` maps the data to the CLI's
    exit status (0 ok, 1 a run failed; refused input is 2, from the error). ``magic_returns``: the
    magic returns the data, so the cell's value is the record.
    """

    name: str
    help: str
    call: Call
    arguments: tuple[Arg, ...] = ()
    description: str | None = None
    text: Renderer | None = None
    notebook: Renderer | None = None
    json: bool = True
    to_json: Callable[[Any], Any] | None = None
    exit_code: ExitCode = _no_failure
    cli: bool = True
    magic: str | None = None
    magic_help: str | None = None
    magic_returns: bool = False
    defaults: Mapping[str, Any] = field(default_factory=dict)

    def json_data(self, data: Any) -> Any:
        return self.to_json(data) if self.to_json is not None else data

    def render_text(self, data: Any, options: argparse.Namespace, context: Context) -> Any:
        if self.text is None:
            return json_text(self.json_data(data))
        return self.text(data, options, context)

    def render_notebook(self, data: Any, options: argparse.Namespace, context: Context) -> Any:
        if self.notebook is None:
            return self.render_text(data, options, context)
        return self.notebook(data, options, context)


@dataclass(frozen=True)
class Group:
    """The words in front of several commands (``models``, ``deployments``, ``drift``)."""

    name: str
    help: str


def add_arguments(parser: argparse.ArgumentParser, command: Command, interface: str) -> None:
    """Add ``command``'s arguments (and ``--json`` for the CLI) to ``parser``."""
    groups: dict[str, Any] = {}

    def target(group: str | None):
        if group is None:
            return parser
        if group not in groups:
            groups[group] = parser.add_mutually_exclusive_group()
        return groups[group]

    for argument in command.arguments:
        options = dict(argument.options)
        if not argument.flags[0].startswith("-"):  # positionals read as MODEL, RUN_ID, …
            options.setdefault("metavar", argument.flags[0].upper())
        target(argument.group).add_argument(*argument.flags, **options)
    if interface == CLI and command.json:
        output = "output" if "output" in {a.group for a in command.arguments} else None
        target(output).add_argument("--json", action="store_true", help="Print JSON.")
    parser.set_defaults(**command.defaults)
