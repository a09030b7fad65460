"""What the drift domain needs from the rest of the system, as narrow named interfaces.

Drift never imports serving, the registry or runs: ``app.py`` passes in a deployments look-up
(the serving domain's ``get``/``find``), a versions look-up (the registry's ``resolve``: a
version's reference profile, signature, metrics and tags), the prediction log reader (serving's
``read_log``/``feature_frame``), a checker for the parameters of a retraining notebook (the runs
domain's notebook inspection) and the event bus. Each is a Protocol (or a plain callable), so a
test or another composition can pass anything of that shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd


class DeploymentLookup(Protocol):
    """Deployments as dicts with at least ``id``, ``name``, ``model_name``, ``model_ref``,
    ``version``, ``status`` and ``prediction_log``."""

    def get(self, deployment_id: str) -> dict[str, Any]:
        """The deployment with this id; ``NotFound`` if there is none."""
        ...

    def find(self, **filters: Any) -> list[dict[str, Any]]:
        """Deployments matching ``name=``, ``model_ref=``, … (newest first)."""
        ...


class VersionLookup(Protocol):
    def resolve(self, ref: Any) -> dict[str, Any]:
        """The version dict a reference (``"churn@production"``, ``("churn", 3)``) points at."""
        ...


class PredictionReader(Protocol):
    def read_log(
        self,
        path: str | None,
        *,
        last_n: int | None = None,
        since: float | None = None,
        until: float | None = None,
        labelled: bool = False,
        probabilities: bool = False,
    ) -> pd.DataFrame:
        """A window of a deployment's prediction log (shadow traffic excluded);
        ``probabilities`` adds the logged ``predict_proba`` row (a list, or None) per row."""
        ...

    def feature_frame(self, frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
        """The model's input columns of a log window."""
        ...


class EventPublisher(Protocol):
    def publish(self, name: str, **payload: Any) -> Any: ...


class Retraining(Protocol):
    """The retrain workflow, to which the monitors' retraining entry points delegate."""

    def advance_all(self) -> list[dict[str, Any]]: ...

    def advance_alert(self, alert_id: int) -> dict[str, Any]: ...

    def wait(self, alert_id: int, timeout: float | None = None) -> dict[str, Any]: ...


# check_retrain(notebook or pipeline, parameters): raises InvalidInput when the target has no such
# parameter or a value cannot be its declared type, NotFound/Forbidden for a bad path.
RetrainParameterCheck = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class Deployments:
    """A :class:`DeploymentLookup` made of two callables (how ``app.py`` wires serving's)."""

    get: Callable[[str], dict[str, Any]]
    find: Callable[..., list[dict[str, Any]]]


@dataclass(frozen=True)
class DriftSettings:
    """The settings drift reads (``c.MLOps.*``): default check interval and alert channels."""

    default_interval: float = 3600.0
    webhook_url: str = ""
    smtp: Mapping[str, Any] = field(default_factory=dict)
