"""``GET /mlops/api/health``: version, store kind and resource counts."""

from jupyter_server.auth.decorator import authorized
from tornado import web

from .. import __version__
from .base import MLOpsHandler


class HealthHandler(MLOpsHandler):
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
            }
        )


routes = [(r"/mlops/api/health", HealthHandler)]
