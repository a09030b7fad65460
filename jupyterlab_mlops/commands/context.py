"""What a command gets from the interface running it: the ``MLOps``, the user, the notebook's
variables (magics only), where to print, and how a command is spelled in this interface (so a
hint says ``jupyter mlops runs cancel X`` on a terminal and ``%mlops cancel X`` in a notebook)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from .defaults import Defaults
from .spec import CLI, MAGIC

if TYPE_CHECKING:
    from ..app import MLOps


class Context:
    def __init__(
        self,
        interface: str,
        mlops: Callable[[], MLOps],
        *,
        namespace: Mapping[str, Any] | None = None,
    ):
        if interface not in (CLI, MAGIC):
            raise ValueError(f"unknown interface {interface!r}")
        self.interface = interface
        self._mlops = mlops
        self.namespace: Mapping[str, Any] = namespace if namespace is not None else {}

    @property
    def mlops(self) -> MLOps:
        """Asked for on each use: the magics' factory follows the store environment."""
        return self._mlops()

    @property
    def user(self) -> str:
        return self.mlops.current_user()

    @property
    def defaults(self) -> Defaults:
        return Defaults.of(self.mlops)

    @property
    def trigger(self) -> str:
        """What a run records as its trigger."""
        return self.interface

    def variable(self, name: str) -> Any:
        """A variable of the notebook, or a message naming it."""
        if name not in self.namespace:
            raise InvalidInput(f"no variable named {name!r} in the notebook")
        return self.namespace[name]

    def spell(self, command: str, *words: Any) -> str:
        """How to type ``command`` (its CLI words) with ``words`` in this interface."""
        from . import find_command

        spec = find_command(command)
        tail = "".join(f" {w}" for w in words)
        if self.interface == MAGIC and spec is not None and spec.magic:
            return f"%mlops {spec.magic}{tail}"
        prefix = "!" if self.interface == MAGIC else ""
        return f"{prefix}jupyter mlops {command}{tail}"

    @staticmethod
    def say(line: str) -> None:
        """A line of output while a command works (``deployments sync --follow``, ``build``)."""
        print(line, flush=True)

    @staticmethod
    def warn(line: str) -> None:
        print(line, file=sys.stderr, flush=True)
