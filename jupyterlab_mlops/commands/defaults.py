"""The defaults of every command, in one place.

Settings a user configures (``c.MLOps.default_deploy_target``, ``c.MLOps.default_timeout``) are
read from the ``MLOps`` through :class:`Defaults`; nothing in cli/, magics/ or the command modules
spells a target or a timeout of its own. The constants below are the interfaces' own choices
(page sizes, how long to wait for an endpoint, how often to poll).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..app import MLOps

# The deploy targets offered as choices; which one is used when none is given is configuration.
DEPLOY_TARGETS = ("local", "docker", "kubernetes")

PAGE_SIZE = 50  # models, versions, deployments, audit entries, monitors, alerts
RUNS_PAGE_SIZE = 20
MAX_PAGE_SIZE = 500  # as the REST API's
LOG_TAIL_LINES = 200
SYNC_INTERVAL_SECONDS = 2.0
LIVE_POLL_SECONDS = 0.5  # runs logs --follow
MIN_SYNC_INTERVAL_SECONDS = 0.2
PREDICT_TIMEOUT_SECONDS = 60.0
STATUS_WIDTH = 160  # characters of a progress line shown


@dataclass(frozen=True)
class Defaults:
    """What the configuration says when a command is not told."""

    deploy_target: str
    run_timeout: float | None

    @classmethod
    def of(cls, mlops: MLOps) -> Defaults:
        timeout = float(mlops.default_timeout or 0.0)
        return cls(
            deploy_target=mlops.default_deploy_target,
            run_timeout=timeout if timeout > 0 else None,
        )


def page(offset: int | None, limit: int | None, default: int = PAGE_SIZE) -> tuple[int, int]:
    """An (offset, limit) within the bounds every listing accepts."""
    limit = default if limit is None else limit
    return max(0, offset or 0), max(1, min(limit, MAX_PAGE_SIZE))
