"""Former home of the tracking API, kept so old imports work: see ``facade/tracking.py``."""

from __future__ import annotations

from .facade.tracking import (  # noqa: F401
    current_run_id,
    end_interactive_run,
    log_artifact,
    log_metric,
    log_param,
    notebook_path,
)
