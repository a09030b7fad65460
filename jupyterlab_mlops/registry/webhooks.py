"""Registry webhooks (``c.MLOps.registry_webhooks``): the registry's events as signed JSON POSTs.

Each hook is ``{"url", "events": [...], "secret"}``; a matching event is posted as
``{"event", "delivered_at", **payload}`` through the core channels (HMAC-SHA256 in
``X-MLOps-Signature`` when a secret is set, the event name in ``X-MLOps-Event``, retried with
backoff) on the background :class:`~jupyterlab_mlops.channels.Outbox`, so a slow or dead
receiver never delays or fails a registration, a promotion or an approval.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from ..channels import Outbox, check_webhook_url, send_webhook
from ..events import (
    ALIAS_CHANGED,
    APPROVAL_DECIDED,
    APPROVAL_REQUESTED,
    VERSION_REGISTERED,
    Event,
    EventBus,
)
from ..schemas import Schema, parse
from ..store.models import utcnow

REGISTRY_EVENTS = (VERSION_REGISTERED, ALIAS_CHANGED, APPROVAL_REQUESTED, APPROVAL_DECIDED)


class RegistryWebhook(Schema):
    url: str
    events: list[str] = Field(default_factory=lambda: list(REGISTRY_EVENTS))
    secret: str = ""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_webhook_url(value)

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        unknown = [e for e in value if e not in REGISTRY_EVENTS]
        if unknown:
            raise ValueError(
                f"unknown registry event {unknown[0]!r} (events: {', '.join(REGISTRY_EVENTS)})"
            )
        return value


def parse_hooks(hooks: Any) -> list[RegistryWebhook]:
    """``c.MLOps.registry_webhooks`` checked: a bad entry is an error naming it, at start."""
    if not isinstance(hooks, list):
        raise TypeError("c.MLOps.registry_webhooks must be a list")
    return [parse(RegistryWebhook, hook) for hook in hooks]


def subscribe(events: EventBus, outbox: Outbox, hooks: list[RegistryWebhook]) -> None:
    """Deliver every registry event a hook asks for, off the publisher's path."""

    def deliver(event: Event) -> None:
        payload = {"event": event.name, "delivered_at": utcnow().isoformat(), **event.payload}
        for hook in hooks:
            if event.name in hook.events:
                outbox.submit(
                    f"registry webhook {event.name} to {hook.url}",
                    lambda hook=hook: send_webhook(
                        hook.url, payload, secret=hook.secret or None, event=event.name
                    ),
                )

    if hooks:
        for name in REGISTRY_EVENTS:
            events.subscribe(name, deliver)
