"""REST routes of notebook runs: parameters, runs, cancel, reproduce, output, sweeps.

Thin: parse and check the request's shape, call ``mlops.runs``, write JSON. Work that can take
a moment (provenance: hashing, git, package list; killing a process tree) runs in a thread so
the server's event loop never waits on it.
"""

from __future__ import annotations

import asyncio

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import InvalidInput
from .base import MLOpsHandler, check_fields, string_field

PREFIX = r"/mlops/api"
RUN_ID = r"([0-9A-Za-z_-]+)"
SUBMIT_FIELDS = {"notebook_path", "parameters", "kernel_name", "timeout", "tags", "input_files"}
SWEEP_FIELDS = {
    "notebook_path",
    "grid",
    "metric",
    "mode",
    "name",
    "kernel_name",
    "timeout",
    "tags",
    "input_files",
}


class NotebookParametersHandler(MLOpsHandler):
    """``GET /notebooks/parameters?path=…``: what the run dialog builds its form from."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        path = self.get_query_argument("path", "")
        if not path:
            raise InvalidInput("query argument 'path' is required")
        self.write_json(self.mlops.runs.inspect(path))


class RunsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        offset, limit = self.page_arguments()
        self.write_json(
            self.mlops.runs.list(
                offset,
                limit,
                notebook=self.get_query_argument("notebook", None) or None,
                status=self.get_query_argument("status", None) or None,
                group_id=self.get_query_argument("group_id", None) or None,
                kind=self.get_query_argument("kind", None) or None,
                tag=self.get_query_argument("tag", None) or None,
            )
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        check_fields(body, SUBMIT_FIELDS)
        notebook_path = string_field(body, "notebook_path", required=True)
        run = await asyncio.to_thread(
            self.mlops.runs.submit,
            notebook_path,
            body.get("parameters") or {},
            kernel_name=string_field(body, "kernel_name"),
            timeout=body.get("timeout"),
            tags=body.get("tags"),
            input_files=body.get("input_files"),
            user=self.username,
        )
        self.write_json(run, status=201)


class RunHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    def get(self, run_id: str) -> None:
        self.write_json(self.mlops.runs.get(run_id))


class CancelHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        run = await asyncio.to_thread(self.mlops.runs.cancel, run_id, user=self.username)
        self.write_json(run)


class ReproduceHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        run = await asyncio.to_thread(self.mlops.runs.reproduce, run_id, user=self.username)
        self.write_json(run, status=201)


class OutputHandler(MLOpsHandler):
    """``GET``: the output notebook (JSON). ``POST``: write it under the root to open it."""

    @web.authenticated
    @authorized
    def get(self, run_id: str) -> None:
        data = self.mlops.runs.output_notebook(run_id)
        if self.get_query_argument("download", None):
            self.set_header("Content-Disposition", f'attachment; filename="{run_id}.ipynb"')
        self.finish(data, set_content_type="application/x-ipynb+json")

    @web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        path = await asyncio.to_thread(self.mlops.runs.materialize_output, run_id)
        self.write_json({"run_id": run_id, "output_notebook_path": path})


class SweepsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        offset, limit = self.page_arguments()
        self.write_json(self.mlops.runs.list_sweeps(offset, limit))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        check_fields(body, SWEEP_FIELDS)
        notebook_path = string_field(body, "notebook_path", required=True)
        sweep = await asyncio.to_thread(
            self.mlops.runs.sweep,
            notebook_path,
            body.get("grid"),
            metric=string_field(body, "metric"),
            mode=string_field(body, "mode") or "max",
            name=string_field(body, "name") or "",
            kernel_name=string_field(body, "kernel_name"),
            timeout=body.get("timeout"),
            tags=body.get("tags"),
            input_files=body.get("input_files"),
            user=self.username,
        )
        self.write_json(sweep, status=201)


class SweepHandler(MLOpsHandler):
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
]
