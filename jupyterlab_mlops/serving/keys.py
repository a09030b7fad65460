"""API keys of deployments (the ``deployment_keys`` table) and the policy file a serving
process reads.

A key is ``mlops_<random>``; the store keeps its sha256 and an 8-character prefix to tell keys
apart, never the key, which is shown once when it is created. Whether a deployment requires a
key is ``config.api_keys`` (default: on for docker and kubernetes, whose process listens on
every interface of its container; off for local processes on 127.0.0.1). After every change the
deployment's policy file is rewritten (:func:`write_policy`); the serving process re-reads it
within a second, so a revoked key stops working without a restart.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..errors import InvalidInput, NotFound
from ..store import models as m
from ..store.db import Database
from .config import KEYS_BY_DEFAULT
from .security import key_hash

KEY_PREFIX = "mlops_"
MAX_KEYS = 100


def keys_required(deployment: dict[str, Any]) -> bool:
    """``config.api_keys``, or the target's default."""
    value = (deployment.get("config") or {}).get("api_keys")
    return deployment["target"] in KEYS_BY_DEFAULT if value is None else bool(value)


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _key_dict(row: m.DeploymentKey) -> dict[str, Any]:
    return {
        "id": row.id,
        "deployment_id": row.deployment_id,
        "name": row.name,
        "prefix": row.prefix,
        "created_by": row.created_by,
        "created_at": _iso(row.created_at),
        "revoked_at": _iso(row.revoked_at),
        "active": row.revoked_at is None,
    }


class DeploymentKeys:
    """Create, list and revoke the API keys of deployments."""

    def __init__(self, db: Database):
        self.db = db

    def create(self, deployment_id: str, *, name: str = "", user: str = "") -> dict[str, Any]:
        """A new key; the returned dict holds the key itself (``key``) — the only time it is."""
        if not isinstance(name, str) or len(name) > 255:
            raise InvalidInput(
                "'name' must be a string of at most 255 characters", details={"field": "name"}
            )
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self.db.session() as session:
            if session.get(m.Deployment, deployment_id) is None:
                raise NotFound(f"no deployment with id {deployment_id!r}")
            active = session.scalars(
                select(m.DeploymentKey.id).where(
                    m.DeploymentKey.deployment_id == deployment_id,
                    m.DeploymentKey.revoked_at.is_(None),
                )
            ).all()
            if len(active) >= MAX_KEYS:
                raise InvalidInput(f"a deployment has at most {MAX_KEYS} active keys: revoke one")
            row = m.DeploymentKey(
                deployment_id=deployment_id,
                name=name,
                key_sha256=key_hash(key),
                prefix=key[: len(KEY_PREFIX) + 4],
                created_by=user,
            )
            session.add(row)
            session.flush()
            return {**_key_dict(row), "key": key}

    def list(self, deployment_id: str, *, include_revoked: bool = True) -> list[dict[str, Any]]:
        query = select(m.DeploymentKey).where(m.DeploymentKey.deployment_id == deployment_id)
        if not include_revoked:
            query = query.where(m.DeploymentKey.revoked_at.is_(None))
        with self.db.session() as session:
            rows = session.scalars(query.order_by(m.DeploymentKey.created_at)).all()
            return [_key_dict(row) for row in rows]

    def revoke(self, deployment_id: str, key_id: str) -> dict[str, Any]:
        with self.db.session() as session:
            row = session.get(m.DeploymentKey, key_id) if isinstance(key_id, str) else None
            if row is None or row.deployment_id != deployment_id:
                raise NotFound(f"deployment {deployment_id!r} has no key {key_id!r}")
            if row.revoked_at is None:
                row.revoked_at = m.utcnow()
            session.flush()
            return _key_dict(row)

    def delete_all(self, deployment_id: str) -> None:
        with self.db.session() as session:
            for row in session.scalars(
                select(m.DeploymentKey).where(m.DeploymentKey.deployment_id == deployment_id)
            ).all():
                session.delete(row)

    def hashes(self, deployment_id: str) -> list[str]:
        with self.db.session() as session:
            return sorted(
                session.scalars(
                    select(m.DeploymentKey.key_sha256).where(
                        m.DeploymentKey.deployment_id == deployment_id,
                        m.DeploymentKey.revoked_at.is_(None),
                    )
                ).all()
            )


POLICY_FILE = "security.json"


def policy_path(deployment: dict[str, Any]) -> Path:
    """Where a deployment's policy file lives (containers: in the directory they mount)."""
    root = Path(deployment["log_path"]).parent
    if deployment["target"] == "local":
        return root / POLICY_FILE
    return root / "container-data" / POLICY_FILE


def policy(deployment: dict[str, Any], hashes: list[str]) -> dict[str, Any]:
    """The policy file's content for a deployment (see ``security.py``)."""
    config = deployment.get("config") or {}
    return {
        "allowed_hosts": list(config.get("allowed_hosts") or []),
        "allowed_origins": list(config.get("allowed_origins") or []),
        "require_api_key": keys_required(deployment),
        "api_key_sha256": hashes,
    }


def write_policy(path: str | Path, content: dict[str, Any]) -> None:
    """Replace the file atomically (a reader never sees half of it); hashes only, 0644 so the
    container's user can read it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(content, handle)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)
