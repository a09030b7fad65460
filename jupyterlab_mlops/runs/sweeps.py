"""Sweeps: one run per combination of a parameter grid, recorded together as a run group.

Every value of the grid is checked against the notebook's declared parameters before anything
is stored; the group and all of its runs are then recorded in one transaction. A sweep's summary
(counts per state, the best run by its metric) is computed from its runs when read.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..errors import InvalidInput, NotFound
from ..paths import relative_to_root
from ..store.db import Database
from ..store.models import Run, RunGroup
from .records import group_to_dict
from .submission import PreparedSubmission, Submissions

MAX_SWEEP_RUNS = 256


def check_grid(grid: Any, mode: str, metric: Any) -> None:
    if not isinstance(grid, dict) or not grid:
        raise InvalidInput(
            "grid must be an object mapping parameter names to lists of values",
            details={"field": "grid"},
        )
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise InvalidInput(
                f"grid[{key!r}] must be a non-empty list of values",
                details={"field": f"grid.{key}"},
            )
    if mode not in ("max", "min"):
        raise InvalidInput(f"mode must be 'max' or 'min', got {mode!r}", details={"field": "mode"})
    if metric is not None and (not isinstance(metric, str) or not metric.strip()):
        raise InvalidInput("metric must be a non-empty string", details={"field": "metric"})
    size = math.prod(len(v) for v in grid.values())
    if size > MAX_SWEEP_RUNS:
        raise InvalidInput(
            f"the grid has {size} combinations; the limit is {MAX_SWEEP_RUNS}",
            details={"field": "grid"},
        )


class Sweeps:
    """Creating and reading run groups."""

    def __init__(self, db: Database, submissions: Submissions):
        self.db = db
        self.submissions = submissions

    def create(
        self,
        prepared: PreparedSubmission,
        grid: dict[str, list[Any]],
        *,
        metric: str | None,
        mode: str,
        name: str,
        user: str,
        executor: str,
        from_text: bool,
        before_recording: Callable[[], None] = lambda: None,
    ) -> tuple[str, list[str]]:
        """Record the group and its queued runs; ``(group id, run ids)``."""
        coerced = {
            key: [self.submissions.coerce(prepared, key, v, from_text) for v in values]
            for key, values in grid.items()
        }
        before_recording()
        base = self.submissions.base_provenance(prepared, user)
        names = list(grid)
        with self.db.session() as session:
            group = RunGroup(
                name=name or Path(prepared.path).stem,
                notebook_path=relative_to_root(self.submissions.root, prepared.path),
                grid=coerced,
                metric=metric,
                mode=mode,
                created_by=user,
            )
            session.add(group)
            session.flush()
            run_ids = []
            for combo in itertools.product(*(coerced[k] for k in names)):
                run = self.submissions.new_run(
                    prepared,
                    dict(zip(names, combo, strict=True)),
                    base,
                    executor=executor,
                    user=user,
                    trigger="sweep",
                    trigger_details={"group_id": group.id},
                    group_id=group.id,
                )
                session.add(run)
                session.flush()
                run_ids.append(run.id)
            return group.id, run_ids

    def get(self, group_id: str, *, detail: bool = True) -> dict[str, Any]:
        with self.db.session() as session:
            group = session.get(RunGroup, group_id)
            if group is None:
                raise NotFound(f"no such sweep: {group_id}")
            runs = session.scalars(
                select(Run)
                .where(Run.group_id == group_id)
                .options(selectinload(Run.metrics))
                .order_by(Run.created_at, Run.id)
            ).all()
            return group_to_dict(group, list(runs), detail=detail)

    def list(self, offset: int = 0, limit: int = 50) -> dict[str, Any]:
        with self.db.session() as session:
            total = session.scalar(select(func.count()).select_from(RunGroup)) or 0
            groups = session.scalars(
                select(RunGroup).order_by(RunGroup.created_at.desc()).offset(offset).limit(limit)
            ).all()
            ids = [g.id for g in groups]
        items = []
        for group_id in ids:
            summary = self.get(group_id, detail=False)
            summary.pop("runs")
            items.append(summary)
        return {"items": items, "total": total, "offset": offset, "limit": limit}
