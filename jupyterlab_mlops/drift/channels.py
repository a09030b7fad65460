"""Alert delivery: a Slack-compatible webhook and SMTP e-mail.

The webhook body is what Slack's incoming webhooks accept (``{"text": …, "blocks": […]}``) and
what most chat tools and generic receivers read (Mattermost, Teams workflows, a plain HTTP
endpoint). E-mail goes through ``smtplib`` to the configured server (``c.MLOps.smtp_*``).
Delivery failures are returned, never raised: an unreachable channel must not lose the alert,
which is stored first and shown in the panel whatever happens here.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlparse

from ..errors import InvalidInput

WEBHOOK_TIMEOUT = 10.0


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


def alert_text(context: dict[str, Any], alerts: list[dict]) -> tuple[str, str]:
    """(subject, plain-text body) shared by both channels."""
    where = context.get("deployment_name") or context.get("deployment_id") or "a deployment"
    model = context.get("model_name")
    version = context.get("model_version")
    subject = f"[mlops] drift alert on {where}" + (f" ({model} v{version})" if model else "")
    lines = [f"- [{a['severity']}] {a['rule']}: {a['message']}" for a in alerts]
    footer = (
        f"monitor {context.get('monitor_id')} · window of {context.get('n_rows', 0)} predictions"
        f" · drift share {context.get('drift_share', 0):.0%}"
    )
    return subject, "\n".join([subject, "", *lines, "", footer])


def slack_payload(context: dict[str, Any], alerts: list[dict]) -> dict[str, Any]:
    subject, text = alert_text(context, alerts)
    bullet = "\n".join(f"• *{a['rule']}* ({a['severity']}): {a['message']}" for a in alerts)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": subject[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": bullet[:3000]}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"monitor `{context.get('monitor_id')}` · deployment "
                    f"`{context.get('deployment_name')}` · drift share "
                    f"{context.get('drift_share', 0):.0%} over {context.get('n_rows', 0)} rows",
                }
            ],
        },
    ]
    return {"text": text, "blocks": blocks}


def send_webhook(url: str, payload: dict[str, Any]) -> dict[str, Any]:
    import httpx

    try:
        response = httpx.post(url, json=payload, timeout=WEBHOOK_TIMEOUT)
    except httpx.HTTPError as err:
        return {"ok": False, "error": f"{type(err).__name__}: {err}"}
    ok = 200 <= response.status_code < 300
    result: dict[str, Any] = {"ok": ok, "status": response.status_code}
    if not ok:
        result["error"] = response.text[:500]
    return result


def send_email(settings: dict[str, Any], to: list[str], subject: str, body: str) -> dict[str, Any]:
    """Send through ``settings``: host, port, sender, username, password, starttls, ssl."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings["sender"]
    message["To"] = ", ".join(to)
    message.set_content(body)
    client_class = smtplib.SMTP_SSL if settings.get("ssl") else smtplib.SMTP
    try:
        with client_class(settings["host"], int(settings["port"]), timeout=20) as client:
            if settings.get("starttls") and not settings.get("ssl"):
                client.starttls()
            if settings.get("username"):
                client.login(settings["username"], settings.get("password") or "")
            refused = client.send_message(message)
    except (OSError, smtplib.SMTPException) as err:
        return {"ok": False, "error": f"{type(err).__name__}: {err}"}
    if refused:
        return {"ok": False, "error": f"refused recipients: {sorted(refused)}"}
    return {"ok": True, "to": to}
