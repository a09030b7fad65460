"""``%mlops …``: the notebook's command line, a thin adapter over the command layer.

``%load_ext jupyterlab_mlops`` registers the magic. Every command that has a ``magic`` name in
:mod:`jupyterlab_mlops.commands` is a sub-command here (``%mlops help`` lists them; a name may be
two words: ``%mlops pipeline run``): its words are parsed with the command's own arguments, its
data rendered for the notebook (HTML tables, the drift widget, progress through tqdm's notebook
widget). A refusal or an error is one printed line, never a traceback. The ``MLOps`` used is the
process's shared one for the current store environment (``MLOPS_*``), so a kernel that switches
stores follows it.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.display import HTML, display

from ..commands import MAGIC, Command, Context, magic_commands
from ..commands.render import Html, escape
from ..commands.spec import add_arguments
from ..errors import InvalidInput, MLOpsError


class _Parser(argparse.ArgumentParser):
    """Parse errors become an ``InvalidInput`` (printed), not an exit of the kernel's code."""

    def error(self, message: str):  # type: ignore[override]
        raise InvalidInput(f"{message}\nusage: {self.format_usage().strip()[len('usage: ') :]}")


def magic_parser(command: Command) -> argparse.ArgumentParser:
    parser = _Parser(prog=f"%mlops {command.magic}", description=command.magic_help or command.help)
    add_arguments(parser, command, MAGIC)
    return parser


def usage(command: Command) -> str:
    text = magic_parser(command).format_usage().strip()
    return " ".join(text.removeprefix("usage:").replace("[-h]", "").split())


def help_html() -> str:
    rows = "".join(
        f"<tr><td><code>{escape(usage(c))}</code></td>"
        f"<td>{escape(c.magic_help or c.help)}</td></tr>"
        for _, c in sorted(magic_commands().items())
    )
    return (
        "<div class='jp-mlops-magic-help'><b>%mlops</b> — jupyterlab-mlops from a notebook"
        f"<table><tr><th>command</th><th>what it does</th></tr>{rows}</table></div>"
    )


def show(output: Any) -> None:
    """Text is printed, markup and rich objects (the drift report) are displayed."""
    if output is None or (isinstance(output, str) and not output):
        return
    if isinstance(output, Html):
        display(HTML(str(output)))
    elif isinstance(output, str):
        print(output)
    else:
        display(output)


def sub_command(words: list[str]) -> tuple[str, list[str]]:
    """The sub-command's name (one word, or two: ``pipeline run``) and its arguments."""
    if len(words) > 1 and f"{words[0]} {words[1]}" in magic_commands():
        return f"{words[0]} {words[1]}", words[2:]
    return words[0], words[1:]


def unknown(name: str) -> str:
    """What to say about a name that is no sub-command (or only the first of two words)."""
    following = sorted(n for n in magic_commands() if n.startswith(f"{name} "))
    if following:
        return f"%mlops {name}: say which — {', '.join(following)}. Try %mlops help."
    return f"%mlops: unknown subcommand {name!r}. Try %mlops help."


def _shared_mlops():
    from ..facade import shared_mlops

    return shared_mlops()


@magics_class
class MLOpsMagics(Magics):
    @line_magic
    def mlops(self, line: str) -> Any:
        """Run ``%mlops help`` for the list of subcommands."""
        try:
            words = shlex.split(line)
        except ValueError as err:
            print(f"%mlops: cannot parse the line: {err}")
            return None
        if not words or words[0] in ("help", "-h", "--help"):
            display(HTML(help_html()))
            return None
        name, args = sub_command(words)
        command = magic_commands().get(name)
        if command is None:
            print(unknown(name))
            return None
        context = Context(MAGIC, _shared_mlops, namespace=self.shell.user_ns)
        try:
            options = magic_parser(command).parse_args(args)
            data = command.call(context, options)
            show(command.render_notebook(data, options, context))
        except MLOpsError as err:
            print(f"%mlops {name}: {err.message}")
            return None
        except SystemExit:  # --help: argparse printed it
            return None
        except KeyboardInterrupt:
            print(f"%mlops {name}: interrupted")
            return None
        return data if command.magic_returns else None
