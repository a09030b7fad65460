"""Reading the registry in pages: models (search, tag and alias filters), versions, the audit
log, and the versions a run registered.

Pages are cut in SQL (``OFFSET``/``LIMIT`` with a ``COUNT``), and version lists read plain
summary columns, so a model with 10 000 versions lists as fast as one with ten. Every function
works inside a session the caller opened.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, load_only

from ..errors import InvalidInput
from ..refs import check_alias
from ..store import audit
from ..store import models as m
from .records import (
    SUMMARY_COLUMNS,
    aliases_holding,
    aliases_of,
    find_model,
    find_model_id,
    model_dict,
    page,
    version_dict,
)
from .values import check_tag_filter


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _tag_condition(tag: str):
    """The model's tags or any of its versions' tags have ``key`` (``=value``)."""
    key, value = check_tag_filter(tag)

    def matches(column):
        extracted = column[key].as_string()
        return extracted.is_not(None) if value is None else extracted == value

    version_match = (
        select(m.ModelVersion.id)
        .where(m.ModelVersion.model_id == m.RegisteredModel.id, matches(m.ModelVersion.tags))
        .exists()
    )
    return or_(matches(m.RegisteredModel.tags), version_match)


def list_models(
    session: Session,
    *,
    q: str | None = None,
    tag: str | None = None,
    alias: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> dict[str, Any]:
    """Models (by name) matching the filters, with latest version, count and aliases.

    ``q``: substring of the name or description; ``tag``: ``key`` or ``key=value`` on the
    model's or any version's tags; ``alias``: models that have this alias set.
    """
    conditions = []
    if q:
        pattern = _like(q)
        conditions.append(
            or_(
                m.RegisteredModel.name.ilike(pattern, escape="\\"),
                m.RegisteredModel.description.ilike(pattern, escape="\\"),
            )
        )
    if tag:
        conditions.append(_tag_condition(tag))
    if alias:
        check_alias(alias)
        conditions.append(
            select(m.ModelAlias.alias)
            .where(m.ModelAlias.model_id == m.RegisteredModel.id, m.ModelAlias.alias == alias)
            .exists()
        )
    count = select(func.count()).select_from(m.RegisteredModel)
    rows_query = select(m.RegisteredModel).order_by(m.RegisteredModel.name)
    if conditions:
        where = and_(*conditions)
        count, rows_query = count.where(where), rows_query.where(where)
    total = session.scalar(count) or 0
    rows = session.scalars(rows_query.offset(offset).limit(limit)).all()
    return page(_with_extras(session, rows), total, offset, limit)


def get_model(session: Session, name: str) -> dict[str, Any]:
    return _with_extras(session, [find_model(session, name)])[0]


def _with_extras(session: Session, rows: list[m.RegisteredModel]) -> list[dict[str, Any]]:
    """Model dicts with version counts, latest active version summaries and aliases, in a
    fixed number of queries for the whole page."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    counts = dict(
        session.execute(
            select(m.ModelVersion.model_id, func.count())
            .where(m.ModelVersion.model_id.in_(ids))
            .group_by(m.ModelVersion.model_id)
        ).all()
    )
    aliases: dict[int, dict[str, int]] = {}
    for model_id, alias, version in session.execute(
        select(m.ModelAlias.model_id, m.ModelAlias.alias, m.ModelAlias.version).where(
            m.ModelAlias.model_id.in_(ids)
        )
    ):
        aliases.setdefault(model_id, {})[alias] = version
    newest = (
        select(
            m.ModelVersion.model_id.label("model_id"),
            func.max(m.ModelVersion.version).label("version"),
        )
        .where(m.ModelVersion.model_id.in_(ids), m.ModelVersion.archived.is_(False))
        .group_by(m.ModelVersion.model_id)
        .subquery()
    )
    latest_rows = session.execute(
        select(m.ModelVersion, m.RegisteredModel.name)
        .options(load_only(*SUMMARY_COLUMNS))
        .join(
            newest,
            and_(
                m.ModelVersion.model_id == newest.c.model_id,
                m.ModelVersion.version == newest.c.version,
            ),
        )
        .join(m.RegisteredModel, m.RegisteredModel.id == m.ModelVersion.model_id)
    ).all()
    latest = {}
    for row, name in latest_rows:
        held = [a for a, v in aliases.get(row.model_id, {}).items() if v == row.version]
        latest[row.model_id] = version_dict(name, row, held, full=False)
    return [
        model_dict(
            row,
            version_count=counts.get(row.id, 0),
            latest=latest.get(row.id),
            aliases=aliases.get(row.id, {}),
        )
        for row in rows
    ]


def list_versions(
    session: Session,
    name: str,
    *,
    offset: int = 0,
    limit: int = 50,
    archived: bool | None = None,
    order: str = "desc",
) -> dict[str, Any]:
    """A page of version summaries (no signature/profile: those are in the version itself)."""
    if order not in ("asc", "desc"):
        raise InvalidInput(f"order must be 'asc' or 'desc', got {order!r}")
    model_id = find_model_id(session, name)
    condition = m.ModelVersion.model_id == model_id
    if archived is not None:
        condition = and_(condition, m.ModelVersion.archived.is_(archived))
    total = session.scalar(select(func.count()).select_from(m.ModelVersion).where(condition))
    ordering = m.ModelVersion.version.desc() if order == "desc" else m.ModelVersion.version
    # Plain column rows (no ORM identity map, no profile/signature).
    rows = session.execute(
        select(*SUMMARY_COLUMNS).where(condition).order_by(ordering).offset(offset).limit(limit)
    ).all()
    by_version: dict[int, list[str]] = {}
    for alias, version in aliases_of(session, model_id).items():
        by_version.setdefault(version, []).append(alias)
    items = [version_dict(name, row, by_version.get(row.version, []), full=False) for row in rows]
    return page(items, total or 0, offset, limit)


def versions_by_run(
    session: Session, run_id: str, *, include_archived: bool = True, limit: int = 50
) -> list[dict[str, Any]]:
    """Versions a run registered, newest first (summaries)."""
    query = (
        select(m.ModelVersion)
        .join(m.ModelVersion.model)
        .where(m.ModelVersion.run_id == run_id)
        .order_by(m.ModelVersion.created_at.desc(), m.ModelVersion.version.desc())
        .limit(limit)
    )
    if not include_archived:
        query = query.where(m.ModelVersion.archived.is_(False))
    return [
        version_dict(
            row.model.name,
            row,
            aliases_holding(session, row.model_id, row.version),
            full=False,
        )
        for row in session.scalars(query).all()
    ]


def audit_page(
    session: Session,
    name: str,
    *,
    alias: str | None = None,
    action: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> dict[str, Any]:
    """The model's audit log, newest first."""
    find_model(session, name)
    items, total = audit.query(
        session,
        model_name=name,
        alias=check_alias(alias) if alias else None,
        action=action or None,
        offset=offset,
        limit=limit,
    )
    return page(items, total, offset, limit)
