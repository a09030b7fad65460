"""``GET /mlops/api/notifications?after=ID``: what every open lab shows as a notification."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..workflows.schemas import NotificationPage, NotificationQuery
from .base import MLOpsHandler, in_thread
from .openapi import operation


class NotificationsHandler(MLOpsHandler):
    @operation(
        "Lab notifications after an id (none without one: a new lab starts from now)",
        query=NotificationQuery,
        response=NotificationPage,
    )
    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.query_as(NotificationQuery)
        self.write_json(
            await in_thread(self.mlops.notifier.list, after=query.after, limit=query.limit)
        )


routes = [(r"/mlops/api/notifications/?", NotificationsHandler)]
