"""``/mlops/api/deployments`` and the one-click ``/mlops/api/deploy/…`` routes.

Thin: parse with the models of ``serving/schemas.py`` (a 400 naming the field, before anything
is stored), call ``mlops.deployments`` / ``mlops.deploy_jobs``, write JSON. Starting, stopping
and building block for seconds (or minutes for an image build), so those calls run in a thread
and the server keeps answering.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..serving.config import CanaryUpdate
from ..serving.schemas import (
    CreateDeployment,
    CreatedKey,
    CreateKey,
    DeletedDeployment,
    DeployJob,
    DeployJobPage,
    Deployment,
    DeploymentKey,
    DeploymentKeyList,
    DeploymentLogs,
    DeploymentPage,
    DeploymentsQuery,
    DeploymentWithStats,
    DeployNotebook,
    DeployPlan,
    LogsQuery,
    PageQuery,
    PlanQuery,
)
from .base import MLOpsHandler, in_thread
from .openapi import operation

ID = r"(?P<deployment_id>[A-Za-z0-9_\-]{1,64})"
JOB_ID = r"(?P<job_id>[A-Za-z0-9_\-]{1,64})"
KEY_ID = r"(?P<key_id>[A-Za-z0-9_\-]{1,64})"


class DeploymentsHandler(MLOpsHandler):
    @operation("List deployments (newest first)", query=DeploymentsQuery, response=DeploymentPage)
    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.query_as(DeploymentsQuery)
        # Stats ask each running deployment for its /metrics: off the event loop.
        page = await in_thread(self.mlops.deployments.list, **query.model_dump())
        self.write_json(page)

    @operation(
        "Deploy a model version (answers once it is healthy)",
        request=CreateDeployment,
        response=Deployment,
        status=201,
        errors=(400, 403, 404, 409, 503),
    )
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body_as(CreateDeployment)  # bad input answers at once and leaves no record
        deployment = await in_thread(
            self.mlops.deployments.create,
            body.model,
            body.target,
            name=body.name,
            config=body.config,
            user=self.username,
        )
        self.write_json(deployment, status=201)


class DeploymentHandler(MLOpsHandler):
    @operation("One deployment, with its stats", response=DeploymentWithStats)
    @web.authenticated
    @authorized
    async def get(self, deployment_id: str) -> None:
        self.write_json(await in_thread(self.mlops.deployments.get, deployment_id))

    @operation("Stop and delete a deployment (and its files)", response=DeletedDeployment)
    @web.authenticated
    @authorized
    async def delete(self, deployment_id: str) -> None:
        result = await in_thread(self.mlops.deployments.delete, deployment_id, user=self.username)
        self.write_json(result)


class DeploymentActionHandler(MLOpsHandler):
    """``POST …/{id}/stop`` and ``POST …/{id}/restart``."""

    @operation("Stop or restart a deployment", response=Deployment, errors=(400, 403, 404, 503))
    @web.authenticated
    @authorized
    async def post(self, deployment_id: str, action: str) -> None:
        service = self.mlops.deployments
        func = service.stop if action == "stop" else service.restart
        self.write_json(await in_thread(func, deployment_id, user=self.username))


class DeploymentLogsHandler(MLOpsHandler):
    @operation("The last lines of a deployment's log", query=LogsQuery, response=DeploymentLogs)
    @web.authenticated
    @authorized
    async def get(self, deployment_id: str) -> None:
        query = self.query_as(LogsQuery)
        result = await in_thread(self.mlops.deployments.logs, deployment_id, tail=query.tail)
        self.write_json(result)


class DeploymentCanaryHandler(MLOpsHandler):
    """``PUT …/{id}/canary`` with ``{"version": N, "percent": P}`` or ``{"version": N,
    "shadow": true}``; ``{}`` or percent 0 removes the challenger."""

    @operation(
        "Split traffic with a challenger version (or remove it)",
        request=CanaryUpdate,
        response=Deployment,
        errors=(400, 403, 404, 503),
    )
    @web.authenticated
    @authorized
    async def put(self, deployment_id: str) -> None:
        body = self.body_as(CanaryUpdate)  # a bad body never touches the live split
        result = await in_thread(
            self.mlops.deployments.set_canary, deployment_id, body, user=self.username
        )
        self.write_json(result)


class DeploymentKeysHandler(MLOpsHandler):
    """``GET …/{id}/keys`` (never the keys themselves), ``POST …/{id}/keys`` (a new key,
    shown once) and ``POST …/{id}/keys/rotate`` (a new key, every older one revoked)."""

    @operation("The API keys of a deployment (prefixes only)", response=DeploymentKeyList)
    @web.authenticated
    @authorized
    async def get(self, deployment_id: str) -> None:
        items = await in_thread(self.mlops.deployments.list_keys, deployment_id)
        self.write_json({"items": items})

    @operation(
        "Create an API key (answered once; the store keeps its sha256)",
        request=CreateKey,
        response=CreatedKey,
        status=201,
    )
    @web.authenticated
    @authorized
    async def post(self, deployment_id: str) -> None:
        body = self.body_as(CreateKey)
        created = await in_thread(
            self.mlops.deployments.create_key, deployment_id, name=body.name, user=self.username
        )
        self.write_json(created, status=201)


class DeploymentKeysRotateHandler(MLOpsHandler):
    @operation(
        "Rotate: a new API key, every older one revoked",
        request=CreateKey,
        response=CreatedKey,
        status=201,
    )
    @web.authenticated
    @authorized
    async def post(self, deployment_id: str) -> None:
        body = self.body_as(CreateKey)
        created = await in_thread(
            self.mlops.deployments.rotate_keys, deployment_id, name=body.name, user=self.username
        )
        self.write_json(created, status=201)


class DeploymentKeyHandler(MLOpsHandler):
    @operation("Revoke an API key (refused within a second)", response=DeploymentKey)
    @web.authenticated
    @authorized
    async def delete(self, deployment_id: str, key_id: str) -> None:
        revoked = await in_thread(
            self.mlops.deployments.revoke_key, deployment_id, key_id, user=self.username
        )
        self.write_json(revoked)


class DeployNotebookHandler(MLOpsHandler):
    """``POST /mlops/api/deploy/notebook {"path", "parameters", "target"}`` → a job (202);
    ``GET …?path=`` → whether a click deploys an existing version or runs the notebook first."""

    @operation(
        "What a one-click deploy of a notebook would do", query=PlanQuery, response=DeployPlan
    )
    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.query_as(PlanQuery)
        self.write_json(await in_thread(self.mlops.deploy_jobs.plan, query.path))

    @operation(
        "One-click deploy: run → register → serve → healthy",
        request=DeployNotebook,
        response=DeployJob,
        status=202,
    )
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body_as(DeployNotebook)
        job = await in_thread(
            self.mlops.deploy_jobs.submit,
            body.path,
            body.parameters or {},
            target=body.target,
            user=self.username,
        )
        self.write_json(job, status=202)


class DeployJobsHandler(MLOpsHandler):
    @operation("One-click deploys (newest first)", query=PageQuery, response=DeployJobPage)
    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.query_as(PageQuery)
        page = await in_thread(self.mlops.deploy_jobs.list, offset=query.offset, limit=query.limit)
        self.write_json(page)


class DeployJobHandler(MLOpsHandler):
    @operation("One one-click deploy and its steps", response=DeployJob)
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.write_json(await in_thread(self.mlops.deploy_jobs.get, job_id))


routes = [
    (r"/mlops/api/deployments/?", DeploymentsHandler),
    (rf"/mlops/api/deployments/{ID}/?", DeploymentHandler),
    (rf"/mlops/api/deployments/{ID}/(?P<action>stop|restart)/?", DeploymentActionHandler),
    (rf"/mlops/api/deployments/{ID}/logs/?", DeploymentLogsHandler),
    (rf"/mlops/api/deployments/{ID}/canary/?", DeploymentCanaryHandler),
    (rf"/mlops/api/deployments/{ID}/keys/?", DeploymentKeysHandler),
    (rf"/mlops/api/deployments/{ID}/keys/rotate/?", DeploymentKeysRotateHandler),
    (rf"/mlops/api/deployments/{ID}/keys/{KEY_ID}/?", DeploymentKeyHandler),
    (r"/mlops/api/deploy/notebook/?", DeployNotebookHandler),
    (r"/mlops/api/deploy/jobs/?", DeployJobsHandler),
    (rf"/mlops/api/deploy/jobs/{JOB_ID}/?", DeployJobHandler),
]
