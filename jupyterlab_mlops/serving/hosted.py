"""One model a serving process hosts: a name on ``/models/{name}/…``, loaded or not.

A process hosts one model (``--bundle``) or several (``--models-file``); each
:class:`HostedModel` keeps what it needs to (re)load itself — its bundle, its challenger and
split, its batching — its prediction log, and, while loaded, its :class:`~.state.Routing`.
Under ``max_loaded_models`` the least recently used one is unloaded (its routing dropped, its
batchers stopped) and loaded again by the next request for it (:meth:`.state.ServingState.use`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .bundle import read_metadata

if TYPE_CHECKING:
    from .prediction_log import PredictionLog
    from .state import Routing


class Unavailable(Exception):
    """No such model or version here (404 in every protocol)."""


class ModelRequired(Unavailable):
    """An unscoped route (``/predict``) on a process that hosts several models."""


class HostedModel:
    """One hosted model: its bundles and split, its prediction log, its routing once loaded."""

    def __init__(
        self,
        bundle: str,
        *,
        challenger_bundle: str | None = None,
        canary_percent: float = 0.0,
        shadow: bool = False,
        batching: dict[str, Any] | None = None,
        log: PredictionLog | None = None,
        ref: str | None = None,
    ):
        self.bundle = str(bundle)
        self.challenger_bundle = str(challenger_bundle) if challenger_bundle else None
        self.canary_percent = float(canary_percent or 0)
        self.shadow = bool(shadow)
        self.batching = batching  # {"enabled", "max_latency_ms", "max_batch_rows"}; None: the app's
        self.log = log
        self.ref = ref  # the registry reference it was deployed from (shown in /health)
        described = read_metadata(self.bundle)
        self.name = str(described.get("name", "model"))
        self._version = described.get("version")
        self._challenger_version = self._version_of(self.challenger_bundle)
        self.routing: Routing | None = None
        self.generation = 0
        self.last_used = 0
        self.loads = 0

    @staticmethod
    def _version_of(bundle: str | None) -> Any:
        return read_metadata(bundle).get("version") if bundle else None

    @property
    def loaded(self) -> bool:
        return self.routing is not None

    @property
    def version(self) -> Any:
        return self.routing.champion.version if self.routing is not None else self._version

    def versions(self) -> list[str]:
        """The version labels this model answers (``/v2/models/{name}/versions/{v}``)."""
        if self.routing is not None:
            return [m.version_label for m in self.routing.models()]
        return [str(v) for v in (self._version, self._challenger_version) if v is not None]

    def configure(self, spec: dict[str, Any]) -> None:
        """Take a reload's ``spec`` (what it leaves out is kept) for this and later loads."""
        if "bundle" in spec:
            self.bundle = str(spec["bundle"])
            self._version = read_metadata(self.bundle).get("version")
        if "challenger_bundle" in spec:
            self.challenger_bundle = spec["challenger_bundle"] or None
            self._challenger_version = self._version_of(self.challenger_bundle)
        if "canary_percent" in spec:
            self.canary_percent = float(spec["canary_percent"] or 0)
        if "shadow" in spec:
            self.shadow = bool(spec["shadow"])
        if not self.challenger_bundle:
            self.canary_percent, self.shadow = 0.0, False

    def describe(self) -> dict[str, Any]:
        """Its line in ``/health``: name, reference, version, loaded, loads."""
        routing = self.routing
        return {
            "name": self.name,
            "ref": self.ref,
            "version": self.version,
            "challenger": self._challenger_version,
            "canary_percent": self.canary_percent,
            "shadow": self.shadow,
            "loaded": routing is not None,
            "loads": self.loads,
        }
