"""What a drift alert says: its subject and text, and its Slack-compatible webhook body.

Delivery itself (webhooks retried with backoff, SMTP) is the core's
:mod:`jupyterlab_mlops.channels`, shared with run notifications and registry webhooks; failures
are returned, never raised: an unreachable channel must not lose the alert, which is stored
first and shown in the panel whatever happens here.
"""

from __future__ import annotations

from typing import Any

from ..channels import check_addresses, check_webhook_url, send_email, send_webhook

__all__ = [
    "alert_text",
    "check_addresses",
    "check_webhook_url",
    "send_email",
    "send_webhook",
    "slack_payload",
]


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
