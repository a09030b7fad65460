"""``/mlops/api/schedules``: cron schedules of notebooks — create, list, pause/resume, run now."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..workflows.schemas import (
    Schedule,
    ScheduleCreate,
    ScheduleFirePage,
    SchedulePage,
    ScheduleQuery,
    ScheduleUpdate,
    TriggeredFire,
)
from .base import MLOpsHandler, in_thread
from .openapi import operation

PREFIX = r"/mlops/api/schedules"
ID = r"([0-9A-Za-z_-]+)"


class SchedulesHandler(MLOpsHandler):
    @operation("Schedules, newest first", query=ScheduleQuery, response=SchedulePage)
    @web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.query_as(ScheduleQuery)
        page = await in_thread(
            self.mlops.schedules.list, offset=query.offset, limit=query.limit, active=query.active
        )
        self.write_json(page)

    @operation(
        "Create a schedule (its next fire time is in the answer)",
        request=ScheduleCreate,
        response=Schedule,
        status=201,
    )
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.body_as(ScheduleCreate)
        created = await in_thread(self.mlops.schedules.create, body, user=self.username)
        self.write_json(created, status=201)


class ScheduleHandler(MLOpsHandler):
    @operation("One schedule", response=Schedule, path_params=("schedule_id",))
    @web.authenticated
    @authorized
    async def get(self, schedule_id: str) -> None:
        self.write_json(await in_thread(self.mlops.schedules.get, schedule_id))

    @operation(
        "Change a schedule (pause/resume with active)",
        request=ScheduleUpdate,
        response=Schedule,
        path_params=("schedule_id",),
    )
    @web.authenticated
    @authorized
    async def patch(self, schedule_id: str) -> None:
        body = self.body_as(ScheduleUpdate)
        updated = await in_thread(
            self.mlops.schedules.update, schedule_id, body, user=self.username
        )
        self.write_json(updated)

    @operation("Delete a schedule", response=Schedule, path_params=("schedule_id",))
    @web.authenticated
    @authorized
    async def delete(self, schedule_id: str) -> None:
        self.write_json(
            await in_thread(self.mlops.schedules.delete, schedule_id, user=self.username)
        )


class ScheduleTriggerHandler(MLOpsHandler):
    @operation(
        "Run the schedule's notebook now",
        response=TriggeredFire,
        status=201,
        path_params=("schedule_id",),
    )
    @web.authenticated
    @authorized
    async def post(self, schedule_id: str) -> None:
        fired = await in_thread(self.mlops.schedules.trigger, schedule_id, user=self.username)
        self.write_json(fired, status=201)


class ScheduleFiresHandler(MLOpsHandler):
    @operation(
        "The schedule's fire times, newest first (its runs: GET /runs?schedule_id=)",
        query=ScheduleQuery,
        response=ScheduleFirePage,
        path_params=("schedule_id",),
    )
    @web.authenticated
    @authorized
    async def get(self, schedule_id: str) -> None:
        query = self.query_as(ScheduleQuery)
        page = await in_thread(
            self.mlops.schedules.fires, schedule_id, offset=query.offset, limit=query.limit
        )
        self.write_json(page)


routes = [
    (rf"{PREFIX}/?", SchedulesHandler),
    (rf"{PREFIX}/{ID}/trigger", ScheduleTriggerHandler),
    (rf"{PREFIX}/{ID}/fires", ScheduleFiresHandler),
    (rf"{PREFIX}/{ID}", ScheduleHandler),
]
