"""Delivery of messages: signed webhooks with retries, e-mail, and an outbox that never blocks."""

from __future__ import annotations

import hashlib
import hmac
import threading

import pytest
from receivers import SmtpReceiver, WebhookReceiver

from jupyterlab_mlops import channels


@pytest.fixture
def receiver():
    with WebhookReceiver(fail_first=2) as server:
        yield server


def test_a_webhook_is_signed_and_retried_until_it_is_taken(receiver):
    result = channels.send_webhook(
        receiver.url,
        {"event": "alias_changed", "to_version": 2},
        secret="s3cret",
        event="alias_changed",
        backoff=0.01,
    )
    assert result == {"ok": True, "status": 200, "attempts": 3}
    assert len(receiver.received) == 3
    last = receiver.received[-1]
    expected = "sha256=" + hmac.new(b"s3cret", last["raw"], hashlib.sha256).hexdigest()
    assert last["headers"]["X-MLOps-Signature"] == expected
    assert last["headers"]["X-MLOps-Event"] == "alias_changed"
    assert last["body"] == {"event": "alias_changed", "to_version": 2}


def test_a_receiver_that_refuses_is_not_retried_and_nothing_raises():
    with WebhookReceiver(fail_first=10, status=400) as refusing:
        result = channels.send_webhook(refusing.url, {"x": 1}, backoff=0.01)
    assert result["ok"] is False and result["status"] == 400 and result["attempts"] == 1
    dead = channels.send_webhook("http://127.0.0.1:9/none", {"x": 1}, attempts=2, backoff=0.01)
    assert dead["ok"] is False and dead["attempts"] == 2 and "ConnectError" in dead["error"]


def test_the_outbox_delivers_in_the_background_in_order():
    outbox = channels.Outbox()
    release = threading.Event()
    order: list[int] = []
    outbox.submit("slow", lambda: (release.wait(30), order.append(1)))
    outbox.submit("broken", lambda: 1 / 0)
    outbox.submit("next", lambda: order.append(2))
    assert order == []  # submitting never waits for the receiver
    release.set()
    assert outbox.drain(30)
    assert order == [1, 2]
    assert [what for what, _ in outbox.delivered] == ["slow", "broken", "next", "drain"]
    outbox.close()


def test_email_goes_through_smtp():
    with SmtpReceiver() as smtp:
        settings = channels.SmtpSettings(host="127.0.0.1", port=smtp.port)
        result = channels.send_email(settings, ["ops@example.org"], "[mlops] run failed", "why")
    assert result == {"ok": True, "to": ["ops@example.org"]}
    assert smtp.messages[0]["to"] == ["ops@example.org"]
    assert "Subject: [mlops] run failed" in smtp.messages[0]["content"]


def test_slack_messages_have_text_for_every_receiver():
    message = channels.slack_message("Run failed", ["• train.ipynb: ValueError"], "run abc")
    assert message["text"].startswith("Run failed\n\n• train.ipynb")
    assert [block["type"] for block in message["blocks"]] == ["header", "section", "context"]
