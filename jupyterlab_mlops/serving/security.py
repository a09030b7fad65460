"""Who may drive a serving process: Host, Origin, Content-Type and API-key checks (ASGI).

A web page the user visits must not be able to plant predictions or labels (they feed the drift
monitors and the retrain gate), nor read ``/metadata`` through DNS rebinding. So every request
passes :class:`SecurityMiddleware` before any route:

- ``Host`` — an IP literal is always fine (rebinding needs a name); a name must be the bound
  host, a loopback name or one of ``allowed_hosts`` (``*``: any) → otherwise **421**;
- ``Origin`` — a browser's cross-origin request is refused (**403**) unless the origin is in
  ``allowed_origins`` (``*``: any) or is the server itself; allowed ones get CORS headers, and
  their pre-flight ``OPTIONS`` is answered here;
- ``Content-Type`` — ``POST /predict``, ``/feedback`` and ``/admin/reload`` take
  ``application/json`` only (**415**): a form or ``text/plain`` body is what a page can send
  without a pre-flight; ``/invocations`` also ``text/csv``, OIP ``…/infer`` also
  ``application/octet-stream`` or none (what ``tritonclient`` sends) when there is no ``Origin``;
- API keys — when the policy requires them, ``/predict``, ``/feedback``, ``/metadata``,
  ``/invocations`` (and the same under ``/models/{name}/``) and ``/v2/models/…`` (not its
  ``/ready`` probes) need ``Authorization: Bearer <key>`` whose sha256 is one of the policy's
  hashes (**401**).
  ``/health``, ``/v2/health/…`` and ``/metrics`` (probes, counters) stay open; ``/admin/reload``
  has its own token. Refusals on ``/v2/…`` and ``/invocations`` are in those protocols' shapes.

The policy comes from a JSON file written by the deployer (``--security-file``):
``{"allowed_hosts": [...], "allowed_origins": [...], "require_api_key": bool,
"api_key_sha256": [...]}``; it is re-read when its modification time changes (at most once a
second), so revoking a key takes effect without a restart. The plain keys never reach the file.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .jsonio import dumps

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})
JSON_ONLY = frozenset({"/predict", "/feedback", "/admin/reload"})
KEY_PROTECTED = frozenset({"/predict", "/feedback", "/metadata", "/invocations"})
CSV_OR_JSON = frozenset({"application/json", "text/csv"})
# OIP: JSON, or JSON + binary tensors; a client such as tritonclient sends no Content-Type, which
# is accepted only without an Origin (no browser page sends a body without one cross-origin)
TENSOR_TYPES = frozenset({"application/json", "application/octet-stream", ""})
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "authorization, content-type"
RELOAD_EVERY = 1.0


def key_hash(key: str) -> str:
    """What the store and the policy file hold for an API key (hex sha256)."""
    return hashlib.sha256(key.encode()).hexdigest()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def host_name(header: str) -> str:
    """The host part of a ``Host`` header (port and IPv6 brackets removed), lower-cased."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


@dataclass(frozen=True)
class Policy:
    """What one serving process accepts."""

    bind_host: str = "127.0.0.1"
    allowed_hosts: frozenset[str] = frozenset()
    allowed_origins: frozenset[str] = frozenset()
    require_api_key: bool = False
    key_hashes: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_dict(cls, data: dict[str, Any], bind_host: str) -> Policy:
        def strings(name: str) -> Iterable[str]:
            values = data.get(name) or []
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValueError(f"{name} must be a list of strings")
            return values

        return cls(
            bind_host=bind_host,
            allowed_hosts=frozenset(h.lower() for h in strings("allowed_hosts")),
            allowed_origins=frozenset(o.rstrip("/").lower() for o in strings("allowed_origins")),
            require_api_key=bool(data.get("require_api_key", False)),
            key_hashes=frozenset(h.lower() for h in strings("api_key_sha256")),
        )

    def host_allowed(self, header: str) -> bool:
        if "*" in self.allowed_hosts:
            return True
        name = host_name(header)
        if not name:
            return False
        if _is_ip(name) or name in LOOPBACK_NAMES or name in self.allowed_hosts:
            return True
        return name == self.bind_host.lower() and self.bind_host not in WILDCARD_BINDS

    def origin_allowed(self, origin: str, host: str) -> bool:
        origin = origin.rstrip("/").lower()
        if "*" in self.allowed_origins or origin in self.allowed_origins:
            return True
        # the server's own pages (same origin) are not cross-origin
        return bool(host) and urlsplit(origin).netloc == host.lower()

    def key_allowed(self, authorization: str) -> bool:
        if not self.require_api_key:
            return True
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        return key_hash(token.strip()) in self.key_hashes


class PolicySource:
    """The current :class:`Policy`: fixed, or read from a file and re-read when it changes."""

    def __init__(self, path: str | os.PathLike | None, bind_host: str):
        self.path = Path(path) if path else None
        self.bind_host = bind_host
        self._mtime: int | None = None
        self._checked = 0.0
        self.policy = Policy(bind_host=bind_host)
        if self.path is not None:
            self._load(self.path.stat().st_mtime_ns)  # a missing/bad file stops the start-up

    def _load(self, mtime: int) -> None:
        assert self.path is not None
        data = json.loads(self.path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{self.path}: the security policy must be a JSON object")
        self.policy = Policy.from_dict(data, self.bind_host)
        self._mtime = mtime

    def current(self) -> Policy:
        if self.path is None:
            return self.policy
        now = time.monotonic()
        if now - self._checked >= RELOAD_EVERY:
            self._checked = now
            try:
                mtime = self.path.stat().st_mtime_ns
                if mtime != self._mtime:
                    self._load(mtime)
            except (OSError, ValueError):
                # a file being rewritten or removed: keys required, none valid (fail closed)
                self.policy = Policy(
                    bind_host=self.bind_host,
                    allowed_hosts=self.policy.allowed_hosts,
                    allowed_origins=self.policy.allowed_origins,
                    require_api_key=True,
                )
                self._mtime = None
        return self.policy


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers") or ():
        if key == name:
            return value.decode("latin-1")
    return ""


def _is_oip(path: str) -> bool:
    return path == "/v2" or path.startswith("/v2/")


def _oip_key_protected(path: str) -> bool:
    """Model metadata and inference; not the probes (health, ready) nor server metadata."""
    return path.startswith("/v2/models/") and not path.endswith("/ready")


def _unscoped(path: str) -> str:
    """``/models/{name}/predict`` → ``/predict``: a hosted model's routes get the checks of the
    process-wide ones."""
    if path.startswith("/models/"):
        parts = path.split("/", 3)
        if len(parts) == 4 and parts[2]:
            return "/" + parts[3]
    return path


def _media_types(path: str) -> frozenset[str] | None:
    path = _unscoped(path)
    if path in JSON_ONLY:
        return frozenset({"application/json"})
    if path == "/invocations":
        return CSV_OR_JSON
    if _is_oip(path) and path.endswith("/infer"):
        return TENSOR_TYPES
    return None


def error_body(path: str, code: str, message: str) -> bytes:
    """An error in the shape of the path's protocol: OIP's ``{"error": "..."}``, MLflow's
    ``{"error_code", "message"}``, else ours."""
    if _is_oip(path):
        return dumps({"error": message})
    if _unscoped(path) in ("/invocations", "/ping"):
        return dumps({"error_code": code.upper(), "message": message})
    return dumps({"error": {"code": code, "message": message}})


async def _refuse(
    send: Send, status: int, code: str, message: str, extra=(), path: str = ""
) -> None:
    body = error_body(path, code, message)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class SecurityMiddleware:
    """The checks above, before any route; a pure ASGI wrapper (a few µs per request)."""

    def __init__(self, app: ASGIApp, source: PolicySource):
        self.app = app
        self.source = source

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        policy = self.source.current()
        host = _header(scope, b"host")
        if not policy.host_allowed(host):
            await _refuse(
                send,
                421,
                "misdirected_request",
                f"this server does not answer for Host {host!r}; add it to allowed_hosts",
                path=path,
            )
            return
        origin = _header(scope, b"origin")
        cors: list[tuple[bytes, bytes]] = []
        if origin:
            if not policy.origin_allowed(origin, host):
                await _refuse(
                    send,
                    403,
                    "origin_not_allowed",
                    f"requests from origin {origin!r} are refused; add it to allowed_origins",
                    path=path,
                )
                return
            cors = [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"vary", b"Origin"),
            ]
            if scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method"):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 204,
                        "headers": [
                            *cors,
                            (b"access-control-allow-methods", CORS_METHODS.encode()),
                            (b"access-control-allow-headers", CORS_HEADERS.encode()),
                            (b"access-control-max-age", b"600"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
        accepted = _media_types(path) if scope["method"] == "POST" else None
        if accepted is not None:
            media = _header(scope, b"content-type").split(";", 1)[0].strip().lower()
            if media not in accepted or (not media and origin):
                shown = " or ".join(sorted(m for m in accepted if m))
                await _refuse(
                    send,
                    415,
                    "unsupported_media_type",
                    f"{path} takes Content-Type: {shown}, got {media or 'none'!r}",
                    cors,
                    path,
                )
                return
        protected = _unscoped(path) in KEY_PROTECTED or _oip_key_protected(path)
        if protected and not policy.key_allowed(_header(scope, b"authorization")):
            await _refuse(
                send,
                401,
                "unauthorized",
                "missing or unknown API key: send Authorization: Bearer <key>",
                [(b"www-authenticate", b'Bearer realm="mlops-serving"'), *cors],
                path,
            )
            return
        if not cors:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *cors]
            await send(message)

        await self.app(scope, receive, send_with_cors)
