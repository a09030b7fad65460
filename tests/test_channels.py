"""Delivery of messages: signed webhooks with retries, e-mail, and an outbox that never blocks."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jupyterlab_mlops import channels


class Receiver:
    """A real HTTP server on loopback that records what it is sent (failing first if asked)."""

    def __init__(self, fail_first: int = 0, status: int = 503):
        self.requests: list[dict] = []
        self.fail_first = fail_first
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                failing = len(receiver.requests) <= receiver.fail_first
                self.send_response(receiver.status if failing else 200)
                self.end_headers()
                self.wfile.write(b"busy" if failing else b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    server = Receiver(fail_first=2)
    yield server
    server.close()


def test_a_webhook_is_signed_and_retried_until_it_is_taken(receiver):
    result = channels.send_webhook(
        receiver.url,
        {"event": "alias_changed", "to_version": 2},
        secret="s3cret",
        event="alias_changed",
        backoff=0.01,
    )
    assert result == {"ok": True, "status": 200, "attempts": 3}
    assert len(receiver.requests) == 3
    last = receiver.requests[-1]
    expected = "sha256=" + hmac.new(b"s3cret", last["body"], hashlib.sha256).hexdigest()
    assert last["headers"]["X-MLOps-Signature"] == expected
    assert last["headers"]["X-MLOps-Event"] == "alias_changed"
    assert json.loads(last["body"]) == {"event": "alias_changed", "to_version": 2}


def test_a_receiver_that_refuses_is_not_retried_and_nothing_raises():
    refusing = Receiver(fail_first=10, status=400)
    try:
        result = channels.send_webhook(refusing.url, {"x": 1}, backoff=0.01)
    finally:
        refusing.close()
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
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            received.append(envelope)
            return "250 OK"

    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = channels.SmtpSettings(host="127.0.0.1", port=port)
        result = channels.send_email(settings, ["ops@example.org"], "[mlops] run failed", "details")
    finally:
        controller.stop()
    assert result == {"ok": True, "to": ["ops@example.org"]}
    assert received[0].rcpt_tos == ["ops@example.org"]
    assert b"Subject: [mlops] run failed" in received[0].content


def test_slack_messages_have_text_for_every_receiver():
    message = channels.slack_message("Run failed", ["• train.ipynb: ValueError"], "run abc")
    assert message["text"].startswith("Run failed\n\n• train.ipynb")
    assert [block["type"] for block in message["blocks"]] == ["header", "section", "context"]
