"""``GET /mlops/api/health`` (version, store, counts) and ``GET /mlops/api/openapi.json``."""

from datetime import datetime

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..schemas import Schema
from ..version import __version__
from .base import MLOpsHandler
from .openapi import build_openapi, operation


class StoreInfo(Schema):
    kind: str
    url: str
    revision: str | None


class JobStatus(Schema):
    name: str
    interval_seconds: float
    runs: int
    failures: int
    last_started_at: datetime | None
    last_finished_at: datetime | None


class SchedulerStatus(Schema):
    """The periodic jobs of this server (off with ``c.MLOps.run_scheduler = False``)."""

    running: bool
    jobs: list[JobStatus]


class Health(Schema):
    version: str
    store: StoreInfo
    artifact_root: str
    counts: dict[str, int]
    scheduler: SchedulerStatus


class HealthHandler(MLOpsHandler):
    @operation("Version, store and resource counts", response=Health, errors=())
    @web.authenticated
    @authorized
    def get(self) -> None:
        db = self.mlops.db
        self.write_json(
            {
                "version": __version__,
                "store": {
                    "kind": db.kind,
                    "url": db.display_url,
                    "revision": db.current_revision(),
                },
                "artifact_root": self.mlops.resolved_artifact_root,
                "counts": self.mlops.counts(),
                "scheduler": self.mlops.scheduler.status(),
            }
        )


class OpenAPIHandler(MLOpsHandler):
    """The REST API described from the handlers' own models (cached: routes never change)."""

    _document: dict | None = None

    @operation("This API's OpenAPI document", errors=())
    @web.authenticated
    @authorized
    def get(self) -> None:
        if OpenAPIHandler._document is None:
            OpenAPIHandler._document = build_openapi()
        self.write_json(OpenAPIHandler._document)


routes = [(r"/mlops/api/health", HealthHandler), (r"/mlops/api/openapi.json", OpenAPIHandler)]
