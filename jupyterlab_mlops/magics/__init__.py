"""``%mlops …``: the notebook's command line.

``%load_ext jupyterlab_mlops`` registers the magic. Each resource's subcommands live in their
own module in this package and register themselves in ``SUBCOMMANDS``; ``%mlops help`` lists them.
"""

from __future__ import annotations

import importlib
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.display import HTML, display

from ..errors import MLOpsError


@dataclass
class Subcommand:
    name: str
    usage: str
    help: str
    func: Callable[[MagicContext, list[str]], Any]


SUBCOMMANDS: dict[str, Subcommand] = {}

# Modules whose ``register()`` adds subcommands to ``SUBCOMMANDS``.
MAGIC_MODULES = ["info", "deploy", "models", "runs", "drift"]


def subcommand(name: str, usage: str, help: str):
    """Decorator used by the modules of this package to add ``%mlops <name>``."""

    def wrap(func: Callable[[MagicContext, list[str]], Any]):
        SUBCOMMANDS[name] = Subcommand(name, usage, help, func)
        return func

    return wrap


class MagicContext:
    """What a subcommand gets: the user namespace and a lazily built ``MLOps``."""

    def __init__(self, shell: Any):
        self.shell = shell
        self._mlops = None

    @property
    def namespace(self) -> dict[str, Any]:
        return self.shell.user_ns

    @property
    def mlops(self):
        if self._mlops is None:
            from ..app import build_mlops

            self._mlops = build_mlops()
        return self._mlops


def _load_modules() -> None:
    for name in MAGIC_MODULES:
        importlib.import_module(f".{name}", __name__)


def help_html() -> str:
    rows = "".join(
        f"<tr><td><code>%mlops {s.usage}</code></td><td>{s.help}</td></tr>"
        for s in sorted(SUBCOMMANDS.values(), key=lambda s: s.name)
    )
    return (
        "<div class='jp-mlops-magic-help'><b>%mlops</b> — jupyterlab-mlops from a notebook"
        f"<table><tr><th>command</th><th>what it does</th></tr>{rows}</table></div>"
    )


@magics_class
class MLOpsMagics(Magics):
    def __init__(self, shell: Any):
        super().__init__(shell)
        _load_modules()
        self.context = MagicContext(shell)

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
        name, args = words[0], words[1:]
        command = SUBCOMMANDS.get(name)
        if command is None:
            print(f"%mlops: unknown subcommand {name!r}. Try %mlops help.")
            return None
        try:
            return command.func(self.context, args)
        except MLOpsError as err:
            print(f"%mlops {name}: {err.message}")
        except SystemExit:  # argparse already printed its usage message
            pass
        return None
