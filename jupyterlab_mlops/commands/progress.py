"""Progress of long operations, drawn by ``tqdm.auto``: a bar on stderr in a terminal, a widget
in a notebook's kernel (tqdm picks the form; stdout stays clean for ``--json``).

:func:`run_cells` follows a run over its notebook's cells (fed the run records that
``RunService.wait`` reports); :func:`pipeline_steps` a pipeline run over its steps (fed the
pipeline-run views the wait loop reads); :func:`status_line` shows the latest line of a step-by-step
operation (deploy, restart, image build) with the time elapsed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from .defaults import STATUS_WIDTH


def _tqdm(**options: Any):
    from tqdm.auto import tqdm

    return tqdm(leave=True, dynamic_ncols=True, **options)


class RunCells:
    """A bar of cells done out of the notebook's cells; the description is the run's state."""

    def __init__(self, run_id: str):
        self.bar = _tqdm(total=None, unit="cell", desc=f"{run_id} queued")

    def __call__(self, run: dict[str, Any]) -> None:
        bar, progress = self.bar, run["progress"]
        if progress["cells_total"] and bar.total != progress["cells_total"]:
            bar.total = progress["cells_total"]
            bar.refresh()
        if progress["cells_done"] > bar.n:
            bar.update(progress["cells_done"] - bar.n)
        bar.set_description(f"{run['id']} {run['status']}", refresh=False)
        if progress["current_cell"] is not None and run["status"] == "running":
            bar.set_postfix_str(f"cell {progress['current_cell']}", refresh=False)
        else:
            bar.set_postfix_str("", refresh=False)
        bar.refresh()


@contextlib.contextmanager
def run_cells(run_id: str) -> Iterator[RunCells]:
    progress = RunCells(run_id)
    try:
        yield progress
    finally:
        progress.bar.close()


class PipelineSteps:
    """A bar of steps done out of the pipeline's steps; the postfix names the running ones."""

    DONE = ("succeeded", "failed", "skipped", "cancelled")

    def __init__(self, pipeline_run: dict[str, Any]):
        self.bar = _tqdm(
            total=len(pipeline_run["steps"]), unit="step", desc=f"{pipeline_run['id']} pending"
        )

    def __call__(self, pipeline_run: dict[str, Any]) -> None:
        bar, steps = self.bar, pipeline_run["steps"]
        done = sum(1 for step in steps if step["status"] in self.DONE)
        if bar.total != len(steps):
            bar.total = len(steps)
        if done != bar.n:
            bar.n = done
        bar.set_description(f"{pipeline_run['id']} {pipeline_run['status']}", refresh=False)
        running = [step["name"] for step in steps if step["status"] == "running"]
        bar.set_postfix_str(("running " + ", ".join(running)) if running else "", refresh=False)
        bar.refresh()


@contextlib.contextmanager
def pipeline_steps(pipeline_run: dict[str, Any]) -> Iterator[PipelineSteps]:
    progress = PipelineSteps(pipeline_run)
    try:
        yield progress
    finally:
        progress.bar.close()


@contextlib.contextmanager
def status_line(description: str) -> Iterator[Callable[[str], None]]:
    """A callable taking progress lines: the newest is shown after ``description``."""
    bar = _tqdm(total=None, desc=description, bar_format="{desc}{postfix} [{elapsed}]")

    def update(line: str) -> None:
        line = " ".join(str(line).split())
        if len(line) > STATUS_WIDTH:
            line = "…" + line[-STATUS_WIDTH:]
        bar.set_postfix_str(line)

    try:
        yield update
    finally:
        bar.close()
