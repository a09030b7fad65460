"""A small in-process event bus: domains publish what happened, others react.

Domains never call their peers to say "something changed": they publish an event and the
composition root subscribes whoever cares (serving follows an alias, workflows advance, the
notification channels deliver). Handlers run synchronously in the publisher's thread, after the
publisher's transaction has committed; a failing handler is logged and never fails the publisher.
Processes outside the server (workers, the CLI) have their own bus with nobody subscribed, so
what must reach the server goes through the store and is picked up by polling.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

# Every event the code publishes, with the payload keys it carries.
RUN_FINISHED = "run_finished"  # run_id, status, notebook_path, trigger
VERSION_REGISTERED = "version_registered"  # model, version, run_id, user
ALIAS_CHANGED = "alias_changed"  # model, alias, from_version, to_version, user
# approval_id, model, alias, version, from_version, gate_passed, user
APPROVAL_REQUESTED = "approval_requested"
# approval_id, status (approved, rejected), model, alias, version, reason, user
APPROVAL_DECIDED = "approval_decided"
ALERT_RAISED = "alert_raised"  # alert_id, monitor_id, deployment_id, rule
DEPLOYMENT_FAILED = "deployment_failed"  # deployment_id, reason
DEPLOYMENT_CREATED = "deployment_created"  # deployment_id, model, version, target, monitor, user
DEPLOYMENT_STOPPED = "deployment_stopped"  # deployment_id, user
DEPLOYMENT_RESTARTED = "deployment_restarted"  # deployment_id, user
DEPLOYMENT_SWITCHED = "deployment_switched"  # deployment_id, model, from_version, to_version
PIPELINE_FINISHED = "pipeline_finished"  # pipeline_run_id, status, pipeline_path

EVENTS = (
    RUN_FINISHED,
    VERSION_REGISTERED,
    ALIAS_CHANGED,
    APPROVAL_REQUESTED,
    APPROVAL_DECIDED,
    ALERT_RAISED,
    DEPLOYMENT_FAILED,
    DEPLOYMENT_CREATED,
    DEPLOYMENT_STOPPED,
    DEPLOYMENT_RESTARTED,
    DEPLOYMENT_SWITCHED,
    PIPELINE_FINISHED,
)

Handler = Callable[["Event"], None]


@dataclass(frozen=True)
class Event:
    name: str
    payload: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.payload[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.payload.get(key, default)


class EventBus:
    """Subscribe handlers to event names; ``publish`` calls each of them in turn."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._lock = threading.Lock()

    def subscribe(self, name: str, handler: Handler) -> Callable[[], None]:
        """Call ``handler(event)`` on every ``name`` event; returns an unsubscribe function."""
        if name not in EVENTS:
            raise ValueError(f"unknown event {name!r} (known: {', '.join(EVENTS)})")
        with self._lock:
            self._handlers[name].append(handler)

        def unsubscribe() -> None:
            with self._lock:
                if handler in self._handlers[name]:
                    self._handlers[name].remove(handler)

        return unsubscribe

    def publish(self, name: str, **payload: Any) -> Event:
        if name not in EVENTS:
            raise ValueError(f"unknown event {name!r} (known: {', '.join(EVENTS)})")
        event = Event(name, payload)
        with self._lock:
            handlers = list(self._handlers[name])
        for handler in handlers:
            try:
                handler(event)
            except Exception:  # a subscriber's fault is never the publisher's
                log.exception("handler %r of event %s failed", handler, name)
        return event
