"""REST routes under ``/mlops/api/``: one module per resource, collected here.

The catch-all comes last so unknown routes get a JSON 404.
"""

from __future__ import annotations

from . import (
    deployments,
    drift,
    governance,
    health,
    models,
    notifications,
    pipelines,
    runs,
    schedules,
)
from .base import NotFoundHandler

API_PREFIX = "/mlops/api"


def all_routes() -> list[tuple]:
    routes: list[tuple] = []
    for module in (
        health,
        governance,
        deployments,
        models,
        runs,
        drift,
        schedules,
        pipelines,
        notifications,
    ):
        routes.extend(module.routes)
    routes.append((rf"{API_PREFIX}/(.*)", NotFoundHandler))
    return routes
