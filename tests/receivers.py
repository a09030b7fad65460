"""Real receivers for what the product sends out: a webhook endpoint and an SMTP server.

Both listen on 127.0.0.1 for the duration of a ``with`` block and keep what they receive, so
tests assert on the bodies, headers and signatures that really crossed the wire.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookReceiver:
    """An HTTP server recording every POST; it answers ``status`` to the first ``fail_first``
    requests (to exercise retries) and 200 after that."""

    def __init__(self, *, fail_first: int = 0, status: int = 503, path: str = "/hooks/drift"):
        received: list[dict] = []
        self.received = received
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                received.append(
                    {
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "headers": dict(self.headers),
                        "raw": raw,
                        "body": body,
                    }
                )
                failing = len(received) <= receiver.fail_first
                self.send_response(receiver.status if failing else 200)
                self.end_headers()
                self.wfile.write(b"busy" if failing else b"ok")

            def log_message(self, *args):
                pass

        self.fail_first, self.status = fail_first, status
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """A real SMTP server (aiosmtpd) that keeps the messages it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        messages: list[dict] = []
        self.messages = messages

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                messages.append(
                    {
                        "from": envelope.mail_from,
                        "to": list(envelope.rcpt_tos),
                        "content": envelope.content.decode("utf-8", "replace"),
                    }
                )
                return "250 Message accepted for delivery"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
