"""Request and response models of the workflows' REST routes (schedules, deploy, pipelines)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from ..schemas import FiniteFloat, NonNegativeInt, PositiveInt, Schema

Overlap = Literal["skip", "queue"]
CatchUp = Literal["none", "latest"]
Outcome = Literal["succeeded", "failed", "timed_out", "cancelled"]


class Notify(Schema):
    """Who hears about which outcomes of the runs a schedule starts."""

    on: list[Outcome] = Field(default_factory=lambda: ["failed", "timed_out"])
    webhook: str | None = Field(None, max_length=2048, description="Slack-compatible URL")
    email: list[str] = Field(default_factory=list, max_length=50)
    lab: bool = Field(True, description="A notification in every open lab on this store")


class ScheduleCreate(Schema):
    notebook_path: str | None = Field(None, min_length=1, max_length=1024)
    pipeline_path: str | None = Field(None, min_length=1, max_length=1024)
    parameters: dict[str, Any] = Field(default_factory=dict)
    cron: str = Field(min_length=1, max_length=255, description="5-field cron expression")
    timezone: str | None = Field(None, max_length=64, description="IANA name; default UTC")
    kernel_name: str | None = Field(None, min_length=1, max_length=255)
    timeout: FiniteFloat | None = Field(None, gt=0, le=7 * 24 * 3600)
    overlap: Overlap = "skip"
    catch_up: CatchUp = "none"
    active: bool = True
    end_at: datetime | None = Field(None, strict=False)
    name: str | None = Field(None, min_length=1, max_length=255)
    notify: Notify | None = None


class ScheduleUpdate(Schema):
    """PATCH: only the fields given change."""

    parameters: dict[str, Any] | None = None
    cron: str | None = Field(None, min_length=1, max_length=255)
    timezone: str | None = Field(None, max_length=64)
    kernel_name: str | None = Field(None, min_length=1, max_length=255)
    timeout: FiniteFloat | None = Field(None, gt=0, le=7 * 24 * 3600)
    overlap: Overlap | None = None
    catch_up: CatchUp | None = None
    active: bool | None = None
    end_at: datetime | None = Field(None, strict=False)
    name: str | None = Field(None, min_length=1, max_length=255)
    notify: Notify | None = None


class ScheduleFire(Schema):
    fire_time: str
    status: Literal["claimed", "submitted", "skipped", "failed"]
    reason: str | None
    run_id: str | None
    pipeline_run_id: str | None
    manual: bool


class Schedule(Schema):
    id: str
    name: str
    target_kind: Literal["notebook", "pipeline"]
    target_path: str
    parameters: dict[str, Any]
    kernel_name: str | None
    timeout: float | None
    cron: str
    timezone: str
    description: str = Field(description="The schedule in words")
    overlap: Overlap
    catch_up: CatchUp
    active: bool
    end_at: str | None
    notify: dict[str, Any]
    next_fire_at: str | None = Field(description="ISO 8601 with offset, in the schedule's zone")
    last_fire_at: str | None
    last_fire: ScheduleFire | None
    last_status: str | None = Field(description="Status of the last run it started")
    created_by: str
    created_at: str
    updated_at: str


class SchedulePage(Schema):
    items: list[Schedule]
    total: int
    offset: int
    limit: int


class ScheduleQuery(Schema):
    model_config = ConfigDict(strict=False, extra="forbid")

    offset: NonNegativeInt = 0
    limit: PositiveInt = Field(50, le=500)
    active: bool | None = None


class ScheduleFirePage(Schema):
    items: list[ScheduleFire]
    total: int
    offset: int
    limit: int


class TriggeredFire(ScheduleFire):
    schedule_id: str


# -- pipelines ----------------------------------------------------------------------------------


class PipelineRunCreate(Schema):
    pipeline_path: str = Field(min_length=1, max_length=1024)
    parameters: dict[str, Any] = Field(default_factory=dict)


class PipelineStep(Schema):
    name: str
    notebook: str
    depends_on: list[str]
    status: Literal["pending", "running", "succeeded", "failed", "skipped", "cancelled"]
    run_id: str | None
    attempt: int = Field(description="Attempt of the pipeline run this step belongs to")
    tries: int = Field(description="Runs of this step in this attempt (retries included)")
    reused: bool = Field(description="Succeeded in an earlier attempt; its outputs were reused")
    outputs: dict[str, Any]
    error: str | None
    started_at: str | None
    finished_at: str | None
    previous_runs: list[str]


class PipelineRun(Schema):
    id: str
    pipeline_path: str
    name: str
    status: Literal["pending", "running", "succeeded", "failed", "cancelled"]
    attempt: int
    parameters: dict[str, Any]
    trigger: str
    schedule_id: str | None
    error: str | None
    created_by: str
    created_at: str | None
    updated_at: str | None
    finished_at: str | None
    steps: list[PipelineStep]


class PipelineRunPage(Schema):
    items: list[PipelineRun]
    total: int
    offset: int
    limit: int


class PipelineRunQuery(Schema):
    model_config = ConfigDict(strict=False, extra="forbid")

    offset: NonNegativeInt = 0
    limit: PositiveInt = Field(50, le=500)
    pipeline_path: str | None = Field(None, max_length=1024)


# -- lab notifications --------------------------------------------------------------------------


class LabNotification(Schema):
    id: int
    kind: str
    level: Literal["info", "success", "error"]
    title: str
    message: str
    link: dict[str, Any]
    created_at: str | None


class NotificationPage(Schema):
    items: list[LabNotification]
    last_id: int = Field(description="Poll with after=last_id for the next ones")


class NotificationQuery(Schema):
    model_config = ConfigDict(strict=False, extra="forbid")

    after: NonNegativeInt | None = None
    limit: PositiveInt = Field(50, le=500)
