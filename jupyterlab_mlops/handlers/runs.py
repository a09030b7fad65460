"""REST routes of notebook runs: parameters, runs, cancel, reproduce, output, live, sweeps.

Thin: parse the request with its model (``runs/schemas.py``), call ``mlops.runs``, write JSON.
Work that can take a moment (provenance: hashing, git, package list; killing a process tree)
runs in a thread so the server's event loop never waits on it.
"""

from __future__ import annotations

import asyncio

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..runs.schemas import (
    LiveOutput,
    LiveQuery,
    NotebookParameters,
    NotebookQuery,
    OutputLocation,
    OutputQuery,
    PageQuery,
    RunDetail,
    RunListQuery,
    RunPage,
    SubmitRun,
    Sweep,
    SweepPage,
    SweepRequest,
)
from .base import MLOpsHandler
from .openapi import operation

PREFIX = r"/mlops/api"
RUN_ID = r"([0-9A-Za-z_-]+)"


class NotebookParametersHandler(MLOpsHandler):
    """``GET /notebooks/parameters?path=…``: what the run dialog builds its form from."""

    @operation(
        "A notebook's parameters and kernel",
        query=NotebookQuery,
        response=NotebookParameters,
    )
    @web.authenticated
    @authorized
    def get(self) -> None:
        query = self.query_as(NotebookQuery)
        self.write_json(self.mlops.runs.inspect(query.path))


class RunsHandler(MLOpsHandler):
    @operation("Runs, newest first", query=RunListQuery, response=RunPage, errors=(400,))
    @web.authenticated
    @authorized
    def get(self) -> None:
        query = self.query_as(RunListQuery)
        self.write_json(
            self.mlops.runs.list(
                query.offset,
                query.limit,
                notebook=query.notebook or None,
                status=query.status or None,
                group_id=query.group_id or None,
                kind=query.kind,
                tag=query.tag or None,
                schedule_id=query.schedule_id,
            )
        )

    @operation(
        "Run a notebook (queued; 400 names a bad parameter)",
        request=SubmitRun,
        response=RunDetail,
        status=201,
        errors=(400, 403, 404, 503),
    )
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body_as(SubmitRun)
        run = await asyncio.to_thread(
            self.mlops.runs.submit,
            body.notebook_path,
            body.parameters or {},
            kernel_name=body.kernel_name,
            timeout=body.timeout,
            tags=body.tags,
            input_files=body.input_files,
            user=self.username,
            memory=body.memory,
            cpus=body.cpus,
        )
        self.write_json(run, status=201)


class RunHandler(MLOpsHandler):
    @operation(
        "A run with everything recorded about it", response=RunDetail, path_params=("run_id",)
    )
    @web.authenticated
    @authorized
    def get(self, run_id: str) -> None:
        self.write_json(self.mlops.runs.get(run_id))


class CancelHandler(MLOpsHandler):
    @operation(
        "Cancel a queued run, or kill a running one",
        response=RunDetail,
        errors=(404, 409),
        path_params=("run_id",),
    )
    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        run = await asyncio.to_thread(self.mlops.runs.cancel, run_id, user=self.username)
        self.write_json(run)


class ReproduceHandler(MLOpsHandler):
    @operation(
        "Re-run a run's stored input notebook (compared with the original when done)",
        response=RunDetail,
        status=201,
        errors=(404, 409, 503),
        path_params=("run_id",),
    )
    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        run = await asyncio.to_thread(self.mlops.runs.reproduce, run_id, user=self.username)
        self.write_json(run, status=201)


class OutputHandler(MLOpsHandler):
    """``GET``: the output notebook (JSON). ``POST``: write it under the root to open it."""

    @operation(
        "The executed notebook",
        query=OutputQuery,
        content_type="application/x-ipynb+json",
        path_params=("run_id",),
    )
    @web.authenticated
    @authorized
    def get(self, run_id: str) -> None:
        query = self.query_as(OutputQuery)
        data = self.mlops.runs.output_notebook(run_id)
        if query.download:
            self.set_header("Content-Disposition", f'attachment; filename="{run_id}.ipynb"')
        self.finish(data, set_content_type="application/x-ipynb+json")

    @operation(
        "Write the executed notebook under the root (to open it in the lab)",
        response=OutputLocation,
        path_params=("run_id",),
    )
    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        path = await asyncio.to_thread(self.mlops.runs.materialize_output, run_id)
        self.write_json({"run_id": run_id, "output_notebook_path": path})


class LiveHandler(MLOpsHandler):
    @operation(
        "The cells of a run executed so far, with their outputs (poll with after=seq)",
        query=LiveQuery,
        response=LiveOutput,
        errors=(400, 404),
        path_params=("run_id",),
    )
    @web.authenticated
    @authorized
    def get(self, run_id: str) -> None:
        query = self.query_as(LiveQuery)
        self.write_json(self.mlops.runs.live(run_id, query.after))


class SweepsHandler(MLOpsHandler):
    @operation("Sweeps, newest first", query=PageQuery, response=SweepPage, errors=(400,))
    @web.authenticated
    @authorized
    def get(self) -> None:
        query = self.query_as(PageQuery)
        self.write_json(self.mlops.runs.list_sweeps(query.offset, query.limit))

    @operation(
        "Run a notebook once per combination of a parameter grid",
        request=SweepRequest,
        response=Sweep,
        status=201,
        errors=(400, 403, 404, 503),
    )
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body_as(SweepRequest)
        sweep = await asyncio.to_thread(
            self.mlops.runs.sweep,
            body.notebook_path,
            body.grid,
            metric=body.metric,
            mode=body.mode or "max",
            name=body.name or "",
            kernel_name=body.kernel_name,
            timeout=body.timeout,
            tags=body.tags,
            input_files=body.input_files,
            user=self.username,
        )
        self.write_json(sweep, status=201)


class SweepHandler(MLOpsHandler):
    @operation("A sweep with its runs and best run", response=Sweep, path_params=("group_id",))
    @web.authenticated
    @authorized
    def get(self, group_id: str) -> None:
        self.write_json(self.mlops.runs.get_sweep(group_id))


routes = [
    (rf"{PREFIX}/notebooks/parameters", NotebookParametersHandler),
    (rf"{PREFIX}/runs/sweeps", SweepsHandler),
    (rf"{PREFIX}/runs/sweeps/{RUN_ID}", SweepHandler),
    (rf"{PREFIX}/runs", RunsHandler),
    (rf"{PREFIX}/runs/{RUN_ID}", RunHandler),
    (rf"{PREFIX}/runs/{RUN_ID}/cancel", CancelHandler),
    (rf"{PREFIX}/runs/{RUN_ID}/reproduce", ReproduceHandler),
    (rf"{PREFIX}/runs/{RUN_ID}/output", OutputHandler),
    (rf"{PREFIX}/runs/{RUN_ID}/live", LiveHandler),
]
