"""``/mlops/api/pipelines/runs``: run a ``*.pipeline.yaml``, follow it, cancel it, repair it."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..workflows.schemas import PipelineRun, PipelineRunCreate, PipelineRunPage, PipelineRunQuery
from .base import MLOpsHandler, in_thread
from .openapi import operation

PREFIX = r"/mlops/api/pipelines/runs"
ID = r"([0-9A-Za-z_-]+)"


class PipelineRunsHandler(MLOpsHandler):
    @operation("Pipeline runs, newest first", query=PipelineRunQuery, response=PipelineRunPage)
    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.query_as(PipelineRunQuery)
        page = await in_thread(
            self.mlops.pipelines.list,
            pipeline_path=query.pipeline_path,
            offset=query.offset,
            limit=query.limit,
        )
        self.write_json(page)

    @operation("Start a pipeline run", request=PipelineRunCreate, response=PipelineRun, status=201)
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body_as(PipelineRunCreate)
        run = await in_thread(
            self.mlops.pipelines.start, body.pipeline_path, body.parameters, user=self.username
        )
        self.write_json(run, status=201)


class PipelineRunHandler(MLOpsHandler):
    @operation("One pipeline run with its steps", response=PipelineRun, path_params=("run_id",))
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.write_json(await in_thread(self.mlops.pipelines.get, run_id))


class PipelineRunActionHandler(MLOpsHandler):
    @operation(
        "Cancel a pipeline run, or repair a failed one (re-run its failed steps and everything "
        "downstream, reusing the outputs of the steps that succeeded)",
        response=PipelineRun,
        errors=(400, 404, 409),
        path_params=("run_id", "action"),
    )
    @web.authenticated
    @authorized
    async def post(self, run_id: str, action: str) -> None:
        service = self.mlops.pipelines
        method = service.cancel if action == "cancel" else service.repair
        self.write_json(await in_thread(method, run_id, user=self.username))


routes = [
    (rf"{PREFIX}/?", PipelineRunsHandler),
    (rf"{PREFIX}/{ID}/(cancel|repair)", PipelineRunActionHandler),
    (rf"{PREFIX}/{ID}", PipelineRunHandler),
]
