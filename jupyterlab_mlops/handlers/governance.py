"""Governance routes: who am I (``/me``), approvals of promotions to protected aliases, and the
whole audit log (``/audit``, for exports). The rules live in ``access.py`` and the registry."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..registry.schemas import (
    Approval,
    ApprovalDecisionRequest,
    ApprovalListQuery,
    ApprovalPage,
    AuditLogQuery,
    AuditPage,
)
from ..schemas import Schema
from .base import MLOpsHandler, in_thread
from .openapi import operation


class Me(Schema):
    username: str
    groups: list[str]
    role: str
    permissions: list[str]
    protected_aliases: list[str]


class MeHandler(MLOpsHandler):
    @operation("Who this request acts as: username, role and permissions", response=Me, errors=())
    @web.authenticated
    @authorized
    def get(self) -> None:
        self.write_json(self.mlops.access.me(self.username))


class ApprovalListHandler(MLOpsHandler):
    @operation(
        "Promotion requests to protected aliases, newest first",
        query=ApprovalListQuery,
        response=ApprovalPage,
    )
    @web.authenticated
    @authorized
    def get(self) -> None:
        query = self.query_as(ApprovalListQuery)
        self.write_json(
            self.mlops.registry.list_approvals(
                status=query.status, model=query.model, offset=query.offset, limit=query.limit
            )
        )


class ApprovalHandler(MLOpsHandler):
    @operation("One promotion request", response=Approval, path_params=("approval_id",))
    @web.authenticated
    @authorized
    def get(self, approval_id: str) -> None:
        self.write_json(self.mlops.registry.get_approval(approval_id))


class ApprovalDecisionHandler(MLOpsHandler):
    @operation(
        "Approve (the alias moves; override + reason past a failed gate; never one's own "
        "request) or reject (with a reason) a pending promotion",
        request=ApprovalDecisionRequest,
        response=Approval,
        errors=(400, 403, 404, 409),
        path_params=("approval_id",),
    )
    @web.authenticated
    @authorized
    async def post(self, approval_id: str, decision: str) -> None:
        body = self.body_as(ApprovalDecisionRequest)
        registry = self.mlops.registry
        if decision == "approve":
            # Moving the alias moves the deployments that follow it: off the event loop.
            result = await in_thread(
                registry.approve,
                approval_id,
                user=self.username,
                reason=body.reason,
                override=body.override,
            )
        else:
            result = await in_thread(
                registry.reject, approval_id, user=self.username, reason=body.reason
            )
        self.write_json(result)


class AuditLogHandler(MLOpsHandler):
    @operation(
        "Every model's audit log from `since` on, oldest first: alias moves, requests, "
        "approvals, with users and reasons",
        query=AuditLogQuery,
        response=AuditPage,
    )
    @web.authenticated
    @authorized
    def get(self) -> None:
        query = self.query_as(AuditLogQuery)
        self.write_json(
            self.mlops.registry.audit_log(
                since=query.since, model=query.model, offset=query.offset, limit=query.limit
            )
        )


PREFIX = r"/mlops/api"
routes = [
    (rf"{PREFIX}/me", MeHandler),
    (rf"{PREFIX}/approvals/?", ApprovalListHandler),
    (rf"{PREFIX}/approvals/([0-9a-f]+)/(approve|reject)", ApprovalDecisionHandler),
    (rf"{PREFIX}/approvals/([0-9a-f]+)", ApprovalHandler),
    (rf"{PREFIX}/audit", AuditLogHandler),
]
