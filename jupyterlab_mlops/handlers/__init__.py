"""REST routes under ``/mlops/api/``: one module per resource, collected here.

The catch-all comes last so unknown routes get a JSON 404.
"""

from __future__ import annotations

from . import deployments, drift, health, models, runs
from .base import NotFoundHandler

API_PREFIX = "/mlops/api"


def all_routes() -> list[tuple]:
    routes: list[tuple] = []
    for module in (health, deployments, models, runs, drift):
        routes.extend(module.routes)
    routes.append((rf"{API_PREFIX}/(.*)", NotFoundHandler))
    return routes
