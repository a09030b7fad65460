"""REST routes of the model registry under ``/mlops/api/models``.

Thin: parse and validate the request, call ``mlops.registry``, write JSON. Every response
carries a ``Server-Timing: app;dur=<ms>`` header (used by ``benchmarks/registry.py``).
"""

from __future__ import annotations

import asyncio
import base64
import functools
import time
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..errors import InvalidInput
from ..refs import ModelRef, check_alias, check_name, check_version
from ..serialization import FILE_SUFFIX
from .base import MLOpsHandler, string_field

PREFIX = r"/mlops/api/models"
SEGMENT = r"([^/]+)"
REGISTER_FIELDS = {
    "run_id",
    "artifact",
    "sample_artifact",
    "target",
    "metrics",
    "params",
    "tags",
    "description",
    "trust",
}


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{field!r} must be true or false, got {value!r}")
    return value


def version_ref(name: str, segment: str) -> ModelRef:
    """A version path segment: ``3`` or ``@production``."""
    check_name(name)
    if segment.startswith("@"):
        return ModelRef(name, alias=check_alias(segment[1:]))
    if not segment.isdigit():
        raise InvalidInput(
            f"invalid version {segment!r}: expected a positive integer or @alias in the URL"
        )
    return ModelRef(name, version=check_version(segment))


class ModelsBaseHandler(MLOpsHandler):
    async def prepare(self) -> None:
        self._started = time.perf_counter()
        await super().prepare()

    def _timing(self) -> None:
        started = getattr(self, "_started", None)
        if started is not None:
            self.set_header("Server-Timing", f"app;dur={(time.perf_counter() - started) * 1e3:.2f}")

    def write_json(self, data: Any, status: int = 200) -> None:
        self._timing()
        super().write_json(data, status)

    @property
    def registry(self):
        return self.mlops.registry

    def bool_argument(self, name: str) -> bool | None:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return None
        if raw.lower() in ("true", "1", "yes"):
            return True
        if raw.lower() in ("false", "0", "no"):
            return False
        raise InvalidInput(f"query argument {name!r} must be true or false, got {raw!r}")


class ModelListHandler(ModelsBaseHandler):
    @web.authenticated
    @authorized
    def get(self) -> None:
        """``?q=&tag=key[=value]&alias=&offset=&limit=``"""
        offset, limit = self.page_arguments()
        self.write_json(
            self.registry.list_models(
                q=self.get_query_argument("q", None) or None,
                tag=self.get_query_argument("tag", None) or None,
                alias=self.get_query_argument("alias", None) or None,
                offset=offset,
                limit=limit,
            )
        )


class ModelHandler(ModelsBaseHandler):
    @web.authenticated
    @authorized
    def get(self, name: str) -> None:
        self.write_json(self.registry.get_model(name))

    @web.authenticated
    @authorized
    def patch(self, name: str) -> None:
        """``{"description"?: str, "tags"?: {key: value}}``"""
        body = self.json_body()
        unknown = set(body) - {"description", "tags"}
        if unknown:
            raise InvalidInput(f"unknown field(s): {', '.join(sorted(unknown))}")
        self.write_json(
            self.registry.update_model(
                name,
                description=string_field(body, "description"),
                tags=body.get("tags"),
                user=self.username,
            )
        )


class VersionListHandler(ModelsBaseHandler):
    @web.authenticated
    @authorized
    def get(self, name: str) -> None:
        """``?offset=&limit=&archived=true|false&order=desc|asc``"""
        offset, limit = self.page_arguments()
        self.write_json(
            self.registry.list_versions(
                name,
                offset=offset,
                limit=limit,
                archived=self.bool_argument("archived"),
                order=self.get_query_argument("order", "desc"),
            )
        )

    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        """Register a run's model artifact as the next version (201)."""
        check_name(name)
        body = self.json_body()
        unknown = set(body) - REGISTER_FIELDS
        if unknown:
            raise InvalidInput(
                f"unknown field(s): {', '.join(sorted(unknown))}; "
                f"expected {', '.join(sorted(REGISTER_FIELDS))}"
            )
        register = functools.partial(
            self.registry.register_run_artifact,
            name,
            string_field(body, "run_id", required=True),
            string_field(body, "artifact", required=True),
            sample_artifact=string_field(body, "sample_artifact"),
            target=string_field(body, "target"),
            metrics=body.get("metrics"),
            params=body.get("params"),
            tags=body.get("tags"),
            description=string_field(body, "description") or "",
            user=self.username,
            trust=_bool(body.get("trust", False), "trust"),
        )
        # Reading, checking and profiling a model file is CPU work: keep the server responsive.
        version = await asyncio.get_running_loop().run_in_executor(None, register)
        self.write_json(version, status=201)


class VersionHandler(ModelsBaseHandler):
    @web.authenticated
    @authorized
    def get(self, name: str, version: str) -> None:
        self.write_json(self.registry.resolve(version_ref(name, version)))


class LineageHandler(ModelsBaseHandler):
    @web.authenticated
    @authorized
    def get(self, name: str, version: str) -> None:
        self.write_json(self.registry.lineage(version_ref(name, version)))


class ArtifactHandler(ModelsBaseHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str) -> None:
        """The stored bytes, verified first, streamed, with their sha256 in the headers."""
        ref = version_ref(name, version)
        # Verifying the sha256 reads the whole file: off the event loop.
        info, chunks = await asyncio.get_running_loop().run_in_executor(
            None, self.registry.artifact_stream, ref
        )
        sha256 = info["artifact_sha256"]
        filename = f"{info['name']}-v{info['version']}.{FILE_SUFFIX[info['serialization']]}"
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.set_header("Content-Length", str(info["artifact_size"]))
        self.set_header("X-MLOps-Sha256", sha256)
        self.set_header("Digest", "sha-256=" + base64.b64encode(bytes.fromhex(sha256)).decode())
        self.set_header("ETag", f'"{sha256}"')
        self._timing()
        for chunk in chunks:
            self.write(chunk)
            await self.flush()
        self.finish()


class ArchiveHandler(ModelsBaseHandler):
    @web.authenticated
    @authorized
    def post(self, name: str, version: str, action: str) -> None:
        """``{"reason"?: str}`` — archive is refused (409) while an alias/deployment uses it."""
        body = self.json_body()
        reason = string_field(body, "reason") or ""
        ref = version_ref(name, version)
        if ref.version is None:
            raise InvalidInput("archive/unarchive take a version number, not an alias")
        method = self.registry.archive if action == "archive" else self.registry.unarchive
        self.write_json(method(name, ref.version, user=self.username, reason=reason))


class AliasListHandler(ModelsBaseHandler):
    @web.authenticated
    @authorized
    def get(self, name: str) -> None:
        self.write_json({"items": self.registry.list_aliases(name)})


class AliasHandler(ModelsBaseHandler):
    @web.authenticated
    @authorized
    def get(self, name: str, alias: str) -> None:
        self.write_json(self.registry.resolve(ModelRef(check_name(name), alias=check_alias(alias))))

    @web.authenticated
    @authorized
    def put(self, name: str, alias: str) -> None:
        """``{"version": int, "reason"?: str, "force"?: bool}`` — a gated promotion."""
        body = self.json_body()
        unknown = set(body) - {"version", "reason", "force"}
        if unknown:
            raise InvalidInput(f"unknown field(s): {', '.join(sorted(unknown))}")
        if "version" not in body:
            raise InvalidInput("'version' is required")
        if isinstance(body["version"], str):
            raise InvalidInput(f"'version' must be an integer, got {body['version']!r}")
        self.write_json(
            self.registry.set_alias(
                name,
                alias,
                check_version(body["version"]),
                user=self.username,
                reason=string_field(body, "reason") or "",
                force=_bool(body.get("force", False), "force"),
            )
        )

    @web.authenticated
    @authorized
    def delete(self, name: str, alias: str) -> None:
        reason = self.get_query_argument("reason", "")
        self.write_json(self.registry.delete_alias(name, alias, user=self.username, reason=reason))


class RollbackHandler(ModelsBaseHandler):
    @web.authenticated
    @authorized
    def post(self, name: str, alias: str) -> None:
        """``{"reason"?: str}`` — move the alias back to its previous version."""
        body = self.json_body()
        reason = string_field(body, "reason") or ""
        self.write_json(self.registry.rollback(name, alias, user=self.username, reason=reason))


class GateHandler(ModelsBaseHandler):
    @web.authenticated
    @authorized
    def get(self, name: str) -> None:
        self.write_json({"gate": self.registry.get_gate(name)})

    @web.authenticated
    @authorized
    def put(self, name: str) -> None:
        """``{"gate": {...}, "reason"?: str}`` (or the gate object itself)."""
        body = self.json_body()
        gate = body["gate"] if "gate" in body else body
        reason = (string_field(body, "reason") or "") if "gate" in body else ""
        self.write_json(
            {"gate": self.registry.set_gate(name, gate, user=self.username, reason=reason)}
        )


class AuditHandler(ModelsBaseHandler):
    @web.authenticated
    @authorized
    def get(self, name: str) -> None:
        """``?alias=&action=&offset=&limit=`` — newest first."""
        offset, limit = self.page_arguments()
        self.write_json(
            self.registry.audit(
                name,
                alias=self.get_query_argument("alias", None) or None,
                action=self.get_query_argument("action", None) or None,
                offset=offset,
                limit=limit,
            )
        )


routes = [
    (rf"{PREFIX}/?", ModelListHandler),
    (rf"{PREFIX}/{SEGMENT}/versions/?", VersionListHandler),
    (rf"{PREFIX}/{SEGMENT}/versions/{SEGMENT}/lineage", LineageHandler),
    (rf"{PREFIX}/{SEGMENT}/versions/{SEGMENT}/artifact", ArtifactHandler),
    (rf"{PREFIX}/{SEGMENT}/versions/{SEGMENT}/(archive|unarchive)", ArchiveHandler),
    (rf"{PREFIX}/{SEGMENT}/versions/{SEGMENT}", VersionHandler),
    (rf"{PREFIX}/{SEGMENT}/aliases/?", AliasListHandler),
    (rf"{PREFIX}/{SEGMENT}/aliases/{SEGMENT}/rollback", RollbackHandler),
    (rf"{PREFIX}/{SEGMENT}/aliases/{SEGMENT}", AliasHandler),
    (rf"{PREFIX}/{SEGMENT}/gate", GateHandler),
    (rf"{PREFIX}/{SEGMENT}/audit", AuditHandler),
    (rf"{PREFIX}/{SEGMENT}/?", ModelHandler),
]
