"""``/mlops/api/deployments`` and the one-click ``/mlops/api/deploy/…`` routes.

Thin: parse, call ``mlops.deployments`` / the deploy jobs, write JSON. Starting, stopping and
building block for seconds (or minutes for an image build), so those calls run in a thread and
the server keeps answering.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import InvalidInput
from .base import MLOpsHandler, in_thread, string_field

ID = r"(?P<deployment_id>[A-Za-z0-9_\-]{1,64})"
JOB_ID = r"(?P<job_id>[A-Za-z0-9_\-]{1,64})"
MAX_LOG_LINES = 5000


class DeploymentsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        offset, limit = self.page_arguments()
        # Stats ask each running deployment for its /metrics: off the event loop.
        page = await in_thread(
            self.mlops.deployments.list,
            status=self.get_query_argument("status", None) or None,
            model=self.get_query_argument("model", None) or None,
            target=self.get_query_argument("target", None) or None,
            offset=offset,
            limit=limit,
            stats=self.get_query_argument("stats", "1") not in ("0", "false", "no"),
        )
        self.write_json(page)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        unknown = sorted(set(body) - {"model", "target", "name", "config"})
        if unknown:
            raise InvalidInput(f"unknown field(s) {', '.join(unknown)}")
        model = string_field(body, "model", required=True)
        target = string_field(body, "target")
        name = string_field(body, "name")
        deployments = self.mlops.deployments
        # Validate before the thread: bad input answers at once, and never leaves a record.
        deployments.validate_config(body.get("config"))
        deployment = await in_thread(
            deployments.create,
            model,
            target,
            name=name,
            config=body.get("config"),
            user=self.username,
        )
        self.write_json(deployment, status=201)


class DeploymentHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, deployment_id: str) -> None:
        self.write_json(await in_thread(self.mlops.deployments.get, deployment_id))

    @web.authenticated
    @authorized
    async def delete(self, deployment_id: str) -> None:
        result = await in_thread(self.mlops.deployments.delete, deployment_id, user=self.username)
        self.write_json(result)


class DeploymentActionHandler(MLOpsHandler):
    """``POST …/{id}/stop`` and ``POST …/{id}/restart``."""

    @web.authenticated
    @authorized
    async def post(self, deployment_id: str, action: str) -> None:
        service = self.mlops.deployments
        func = service.stop if action == "stop" else service.restart
        self.write_json(await in_thread(func, deployment_id, user=self.username))


class DeploymentLogsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    async def get(self, deployment_id: str) -> None:
        tail = self.int_argument("tail", 200, minimum=1, maximum=MAX_LOG_LINES)
        self.write_json(await in_thread(self.mlops.deployments.logs, deployment_id, tail=tail))


class DeploymentCanaryHandler(MLOpsHandler):
    """``PUT …/{id}/canary`` with ``{"version": N, "percent": P}`` or ``{"version": N,
    "shadow": true}``; ``{}`` or percent 0 removes the challenger."""

    @web.authenticated
    @authorized
    async def put(self, deployment_id: str) -> None:
        body = self.json_body()
        unknown = sorted(set(body) - {"version", "percent", "shadow"})
        if unknown:
            raise InvalidInput(f"unknown field(s) {', '.join(unknown)}")
        result = await in_thread(
            self.mlops.deployments.set_canary, deployment_id, body or None, user=self.username
        )
        self.write_json(result)


class DeployNotebookHandler(MLOpsHandler):
    """``POST /mlops/api/deploy/notebook {"path", "parameters"}`` → a job (202);
    ``GET …?path=`` → whether a click deploys an existing version or runs the notebook first."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        path = self.get_query_argument("path", None)
        if not path:
            raise InvalidInput("query argument 'path' is required")
        self.write_json(self.mlops.deploy_jobs.plan(path))

    @web.authenticated
    @authorized
    def post(self) -> None:
        body = self.json_body()
        unknown = sorted(set(body) - {"path", "parameters", "target"})
        if unknown:
            raise InvalidInput(f"unknown field(s) {', '.join(unknown)}")
        path = string_field(body, "path", required=True)
        parameters = body.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise InvalidInput("'parameters' must be a JSON object")
        job = self.mlops.deploy_jobs.submit(
            path, parameters, target=string_field(body, "target"), user=self.username
        )
        self.write_json(job, status=202)


class DeployJobsHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        offset, limit = self.page_arguments()
        self.write_json(self.mlops.deploy_jobs.list(offset=offset, limit=limit))


class DeployJobHandler(MLOpsHandler):
    @web.authenticated
    @authorized
    def get(self, job_id: str) -> None:
        self.write_json(self.mlops.deploy_jobs.get(job_id))


routes = [
    (r"/mlops/api/deployments/?", DeploymentsHandler),
    (rf"/mlops/api/deployments/{ID}/?", DeploymentHandler),
    (rf"/mlops/api/deployments/{ID}/(?P<action>stop|restart)/?", DeploymentActionHandler),
    (rf"/mlops/api/deployments/{ID}/logs/?", DeploymentLogsHandler),
    (rf"/mlops/api/deployments/{ID}/canary/?", DeploymentCanaryHandler),
    (r"/mlops/api/deploy/notebook/?", DeployNotebookHandler),
    (r"/mlops/api/deploy/jobs/?", DeployJobsHandler),
    (rf"/mlops/api/deploy/jobs/{JOB_ID}/?", DeployJobHandler),
]
