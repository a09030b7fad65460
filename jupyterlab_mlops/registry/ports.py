"""What the registry needs from other domains, as narrow interfaces the composition root fills.

The registry never imports ``runs/``, ``serving/`` or ``drift/``: ``app.py`` passes in

- ``runs``: a :class:`RunLookup` (the runs service) — a run's metrics, parameters, artifacts
  and provenance, to link a version to its run, register a run's model file and build lineage;
- ``deployments_holding(model, version)``: the names of the active deployments serving that
  version (an archive is refused while there are any);
- ``profile_builder(frame, model=…, y=…)``: the drift engine's reference profile of a
  training sample, stored on the version at registration; given the model and the sample's
  labels it also holds the calibration that estimates performance without labels (CBPE).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class RunLookup(Protocol):
    def get(self, run_id: str) -> dict[str, Any]:
        """The run's detail dict (raises ``NotFound``): ``id``, ``kind``, ``status``,
        ``trigger``, ``created_by``, ``created_at``, ``started_at``, ``finished_at``,
        ``notebook_path``, ``input_notebook_sha256``, ``output_notebook_path``,
        ``output_notebook_sha256``, ``parameters``, ``metrics`` (last value per key),
        ``logged_params``, ``artifacts`` (``[{name, sha256, size, kind}]``, in logging order)
        and ``provenance``."""
        ...


DeploymentsHolding = Callable[[str, int], list[str]]
ProfileBuilder = Callable[..., dict[str, Any]]
