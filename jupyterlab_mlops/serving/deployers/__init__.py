"""Deployment targets: ``local`` (a uvicorn process), ``docker`` (an image and a container),
``kubernetes`` (manifests for the image). Each is a :class:`~.base.Deployer`; this module only
names them and builds each once, lazily (docker's module is not imported until it is used).
"""

from __future__ import annotations

import threading

from ...errors import InvalidInput
from ..config import TARGETS
from .base import Deployer, DeployerContext

__all__ = ["TARGETS", "Deployers", "check_target"]


def check_target(target: object) -> str:
    if not isinstance(target, str) or target not in TARGETS:
        raise InvalidInput(
            f"unknown target {target!r}: use one of {', '.join(TARGETS)}",
            details={"field": "target"},
        )
    return target


class Deployers:
    """One deployer per target, built on first use with the shared context."""

    def __init__(self, context: DeployerContext):
        self.context = context
        self._built: dict[str, Deployer] = {}
        self._lock = threading.Lock()

    def __call__(self, target: str) -> Deployer:
        check_target(target)
        with self._lock:
            if target not in self._built:
                if target == "local":
                    from .local import LocalDeployer as cls
                elif target == "docker":
                    from .docker import DockerDeployer as cls
                else:
                    from .kubernetes import KubernetesDeployer as cls
                self._built[target] = cls(self.context)
            return self._built[target]
