"""Persistence: the SQL store (SQLAlchemy + alembic) and the content-addressed artifact store."""

from .artifacts import ArtifactStore
from .db import Database

__all__ = ["ArtifactStore", "Database"]
