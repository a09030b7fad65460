"""Delivering messages to people and systems: webhooks, e-mail, with retries off the caller's path.

One implementation for everything that tells someone something: drift alerts, run / pipeline /
schedule notifications, registry webhooks. A webhook is a JSON POST (Slack-compatible bodies
for people, event bodies for systems), signed with HMAC-SHA256 in ``X-MLOps-Signature:
sha256=<hex>`` when a secret is configured, retried with exponential backoff on network errors
and 5xx answers. E-mail goes through ``smtplib``. Delivery never raises: it returns what
happened, and :class:`Outbox` runs deliveries in a background thread so a slow or dead receiver
never delays (or fails) the run, promotion or check that caused the message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import smtplib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlparse

from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from .errors import InvalidInput

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT = 10.0
SIGNATURE_HEADER = "X-MLOps-Signature"
EVENT_HEADER = "X-MLOps-Event"


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    sender: str = "mlops@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False
    ssl: bool = False


def check_webhook_url(url: Any) -> str:
    if not isinstance(url, str) or urlparse(url).scheme not in ("http", "https"):
        raise InvalidInput(f"webhook url must be an http(s) URL, got {url!r}")
    if not urlparse(url).netloc:
        raise InvalidInput(f"webhook url has no host: {url!r}")
    return url


def check_addresses(value: Any) -> list[str]:
    addresses = [value] if isinstance(value, str) else value
    if not isinstance(addresses, list) or not addresses:
        raise InvalidInput("email 'to' must be an address or a non-empty list of addresses")
    for address in addresses:
        if not isinstance(address, str) or "@" not in address or any(c in address for c in "\r\n"):
            raise InvalidInput(f"invalid e-mail address {address!r}")
    return addresses


def signature(secret: str, body: bytes) -> str:
    """What ``X-MLOps-Signature`` carries: ``sha256=`` + HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _Retryable(Exception):
    """A 5xx answer or a network error: worth another try."""


def send_webhook(
    url: str,
    payload: dict[str, Any],
    *,
    secret: str | None = None,
    event: str | None = None,
    attempts: int = 4,
    backoff: float = 0.5,
) -> dict[str, Any]:
    """POST ``payload`` as JSON; ``{"ok", "status"?, "error"?, "attempts"}``, never raises."""
    import httpx

    body = json.dumps(payload, default=str, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    if event:
        headers[EVENT_HEADER] = event
    tries = 0
    last: dict[str, Any] = {}

    def attempt() -> dict[str, Any]:
        nonlocal tries, last
        tries += 1
        try:
            response = httpx.post(url, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT)
        except httpx.HTTPError as err:
            last = {"ok": False, "error": f"{type(err).__name__}: {err}"}
            raise _Retryable from err
        last = {"ok": 200 <= response.status_code < 300, "status": response.status_code}
        if not last["ok"]:
            last["error"] = response.text[:500]
            if response.status_code >= 500 or response.status_code == 429:
                raise _Retryable
        return last

    try:
        for retrying_attempt in Retrying(
            stop=stop_after_attempt(max(1, attempts)),
            wait=wait_exponential(multiplier=backoff, max=30),
            retry=retry_if_exception_type(_Retryable),
            reraise=False,
        ):
            with retrying_attempt:
                attempt()
    except RetryError:
        pass
    return {**last, "attempts": tries}


def send_email(settings: SmtpSettings, to: list[str], subject: str, body: str) -> dict[str, Any]:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.sender
    message["To"] = ", ".join(to)
    message.set_content(body)
    client_class = smtplib.SMTP_SSL if settings.ssl else smtplib.SMTP
    try:
        with client_class(settings.host, int(settings.port), timeout=20) as client:
            if settings.starttls and not settings.ssl:
                client.starttls()
            if settings.username:
                client.login(settings.username, settings.password or "")
            refused = client.send_message(message)
    except (OSError, smtplib.SMTPException) as err:
        return {"ok": False, "error": f"{type(err).__name__}: {err}"}
    if refused:
        return {"ok": False, "error": f"refused recipients: {sorted(refused)}"}
    return {"ok": True, "to": to}


def slack_message(title: str, lines: list[str], footer: str = "") -> dict[str, Any]:
    """A Slack-compatible body (``text`` for every receiver, ``blocks`` for Slack)."""
    text = "\n".join([title, "", *lines, *(["", footer] if footer else [])])
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
    ]
    if lines:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}}
        )
    if footer:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer[:300]}]})
    return {"text": text, "blocks": blocks}


class Outbox:
    """Runs deliveries in one background thread, in order; ``drain`` waits for them (tests)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, Callable[[], Any]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.delivered: list[tuple[str, Any]] = []

    def submit(self, what: str, deliver: Callable[[], Any]) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="mlops-outbox", daemon=True)
                self._thread.start()
        self._queue.put((what, deliver))

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                what, deliver = item
                try:
                    result = deliver()
                except Exception:  # a delivery bug must not stop the next deliveries
                    log.exception("delivering %s failed", what)
                    result = {"ok": False, "error": "internal error"}
                if isinstance(result, dict) and not result.get("ok", True):
                    log.warning("could not deliver %s: %s", what, result.get("error"))
                self.delivered = [*self.delivered[-99:], (what, result)]
            finally:
                self._queue.task_done()

    def drain(self, timeout: float = 60.0) -> bool:
        """Wait until everything submitted so far was attempted; whether it was in time."""
        done = threading.Event()
        self.submit("drain", done.set)
        return done.wait(timeout)

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(10)
