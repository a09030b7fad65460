"""The registry's rows as JSON dicts, and the row look-ups every registry operation starts from.

One place decides what a model, a version and an alias look like to callers (REST, CLI, magics,
the notebook API, other domains), and how a reference (``churn``, ``churn/3``,
``churn@production``) becomes rows: a missing model, version or alias is a ``NotFound`` naming
it. Everything here works inside a session the caller opened.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..refs import ModelRef, check_name
from ..store import models as m

# The columns of a version summary: everything but signature, profile, trusted types and
# environment, which can be large (a page of 10 000 versions stays a few ms of SQL).
SUMMARY_COLUMNS = (
    m.ModelVersion.id,
    m.ModelVersion.model_id,
    m.ModelVersion.version,
    m.ModelVersion.artifact_sha256,
    m.ModelVersion.artifact_size,
    m.ModelVersion.serialization,
    m.ModelVersion.flavour,
    m.ModelVersion.model_class,
    m.ModelVersion.metrics,
    m.ModelVersion.params,
    m.ModelVersion.tags,
    m.ModelVersion.description,
    m.ModelVersion.run_id,
    m.ModelVersion.archived,
    m.ModelVersion.created_by,
    m.ModelVersion.created_at,
)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def page(items: list, total: int, offset: int, limit: int) -> dict[str, Any]:
    return {"items": items, "total": total, "offset": offset, "limit": limit}


# -- dicts ------------------------------------------------------------------------------------


def version_dict(name: str, row: Any, aliases: list[str], *, full: bool = True) -> dict[str, Any]:
    """One version as JSON; ``full`` adds signature, profile, trusted types, environment.

    ``row`` is a ``ModelVersion`` or a row of :data:`SUMMARY_COLUMNS` (then ``full=False``).
    """
    data = {
        "name": name,
        "version": row.version,
        "artifact_sha256": row.artifact_sha256,
        "artifact_size": row.artifact_size,
        "serialization": row.serialization,
        "flavour": row.flavour,
        "model_class": row.model_class,
        "metrics": dict(row.metrics or {}),
        "params": dict(row.params or {}),
        "tags": dict(row.tags or {}),
        "description": row.description,
        "run_id": row.run_id,
        "archived": bool(row.archived),
        "aliases": sorted(aliases),
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
    }
    if full:
        data.update(
            trusted_types=list(row.trusted_types or []),
            signature=dict(row.signature or {}),
            profile=dict(row.profile or {}),
            environment=dict(row.environment or {}),
        )
    return data


def model_dict(
    row: m.RegisteredModel,
    *,
    version_count: int,
    latest: dict[str, Any] | None,
    aliases: dict[str, int],
) -> dict[str, Any]:
    return {
        "name": row.name,
        "description": row.description,
        "tags": dict(row.tags or {}),
        "gate": dict(row.gate or {}),
        "last_version": row.last_version,
        "version_count": version_count,
        "latest_version": latest["version"] if latest else None,
        "latest": latest,
        "aliases": dict(sorted(aliases.items())),
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def alias_dict(row: m.ModelAlias) -> dict[str, Any]:
    return {"alias": row.alias, "version": row.version, "updated_at": iso(row.updated_at)}


# -- look-ups ---------------------------------------------------------------------------------


def find_model(session: Session, name: str) -> m.RegisteredModel:
    row = session.scalars(
        select(m.RegisteredModel).where(m.RegisteredModel.name == check_name(name))
    ).first()
    if row is None:
        raise NotFound(f"model {name!r} not found")
    return row


def find_model_id(session: Session, name: str) -> int:
    """The model's id without loading the row (for queries over many versions)."""
    model_id = session.scalar(
        select(m.RegisteredModel.id).where(m.RegisteredModel.name == check_name(name))
    )
    if model_id is None:
        raise NotFound(f"model {name!r} not found")
    return model_id


def find_version(session: Session, model: m.RegisteredModel, version: int) -> m.ModelVersion:
    row = session.scalars(
        select(m.ModelVersion).where(
            m.ModelVersion.model_id == model.id, m.ModelVersion.version == version
        )
    ).first()
    if row is None:
        raise NotFound(f"version {version} of model {model.name!r} not found")
    return row


def aliases_of(session: Session, model_id: int) -> dict[str, int]:
    """Every alias of the model: ``{alias: version}``."""
    rows = session.execute(
        select(m.ModelAlias.alias, m.ModelAlias.version).where(m.ModelAlias.model_id == model_id)
    )
    return {alias: version for alias, version in rows}


def aliases_holding(session: Session, model_id: int, version: int) -> list[str]:
    """The aliases pointing at ``version``, sorted."""
    return sorted(a for a, v in aliases_of(session, model_id).items() if v == version)


def resolve_rows(session: Session, ref: ModelRef) -> tuple[m.RegisteredModel, m.ModelVersion]:
    """The rows a reference points at; the name alone means the newest non-archived version."""
    model = find_model(session, ref.name)
    if ref.alias is not None:
        alias = session.get(m.ModelAlias, (model.id, ref.alias))
        if alias is None:
            raise NotFound(f"alias {ref.alias!r} of model {ref.name!r} not found")
        return model, find_version(session, model, alias.version)
    if ref.version is not None:
        return model, find_version(session, model, ref.version)
    row = session.scalars(
        select(m.ModelVersion)
        .where(m.ModelVersion.model_id == model.id, m.ModelVersion.archived.is_(False))
        .order_by(m.ModelVersion.version.desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(f"model {ref.name!r} has no active (non-archived) version")
    return model, row
