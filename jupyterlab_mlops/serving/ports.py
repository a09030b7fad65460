"""What serving needs from other domains, named here by the consumer and passed in by app.py.

Serving never imports the registry or the runs domain: the composition root hands it objects
that have these methods (the registry service and the runs service satisfy them as they are).

- :class:`VersionLookup` — resolve ``churn@production`` / ``churn/3`` to a version dict (name,
  version, artifact_sha256, serialization, trusted_types, signature, profile, run_id, …);
- :class:`RunLookup` — a run's detail dict (notebook_path, provenance, parameters, …), for the
  lineage a bundle records and the packages a container pins.

:class:`Deferred` lets app.py pass a peer that is built later (the registry also needs the
deployments service, so neither can be built first).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar


class VersionLookup(Protocol):
    def resolve(self, ref: Any) -> dict[str, Any]:
        """The registered version ``ref`` names (``NotFound`` when there is none)."""


class RunLookup(Protocol):
    def get(self, run_id: str) -> dict[str, Any]:
        """A run's detail dict (``NotFound`` when there is none)."""


T = TypeVar("T")


class Deferred(Generic[T]):
    """A stand-in that builds its target on first use and forwards every attribute to it."""

    def __init__(self, factory: Callable[[], T]):
        self._factory = factory
        self._target: T | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._target is None:
            self._target = self._factory()
        return getattr(self._target, name)
