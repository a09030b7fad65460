"""REST routes of the model registry under ``/mlops/api/models``.

Thin: parse the path, the query string and the body with the registry's models
(``registry/schemas.py``), call ``mlops.registry``, write JSON. Every response carries a
``Server-Timing: app;dur=<ms>`` header (used by ``benchmarks/registry.py``). Work that reads
model files, or that moves an alias (deployments following it switch in the same call), runs
off the event loop.
"""

from __future__ import annotations

import base64
import time
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized
from pydantic import BaseModel
from tornado import web

from ..errors import InvalidInput
from ..refs import ModelRef, check_alias, check_name, check_version
from ..registry.schemas import (
    AliasList,
    AliasMove,
    ApprovalResponse,
    AuditPage,
    AuditQuery,
    DeleteAliasQuery,
    Gate,
    GateUpdateRequest,
    Lineage,
    Model,
    ModelListQuery,
    ModelPage,
    ModelUpdateRequest,
    ModelVersionDetail,
    Promotion,
    ReasonRequest,
    RegisterVersionRequest,
    SetAliasRequest,
    VersionListQuery,
    VersionPage,
)
from ..serialization import FILE_SUFFIX
from .base import MLOpsHandler, in_thread
from .openapi import operation

PREFIX = r"/mlops/api/models"
SEGMENT = r"([^/]+)"
M = TypeVar("M", bound=BaseModel)


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


class ModelListHandler(ModelsBaseHandler):
    @operation(
        "Registered models: search, tag and alias filters, paginated",
        query=ModelListQuery,
        response=ModelPage,
    )
    @web.authenticated
    @authorized
    def get(self) -> None:
        query = self.query_as(ModelListQuery)
        self.write_json(
            self.registry.list_models(
                q=query.q,
                tag=query.tag,
                alias=query.alias,
                offset=query.offset,
                limit=query.limit,
            )
        )


class ModelHandler(ModelsBaseHandler):
    @operation(
        "One model: latest version, counts, aliases, gate", response=Model, path_params=("name",)
    )
    @web.authenticated
    @authorized
    def get(self, name: str) -> None:
        self.write_json(self.registry.get_model(name))

    @operation(
        "Change a model's description or tags",
        request=ModelUpdateRequest,
        response=Model,
        path_params=("name",),
    )
    @web.authenticated
    @authorized
    def patch(self, name: str) -> None:
        body = self.body_as(ModelUpdateRequest)
        self.write_json(
            self.registry.update_model(
                name, description=body.description, tags=body.tags, user=self.username
            )
        )


class VersionListHandler(ModelsBaseHandler):
    @operation(
        "A model's versions (summaries), newest first by default",
        query=VersionListQuery,
        response=VersionPage,
        path_params=("name",),
    )
    @web.authenticated
    @authorized
    def get(self, name: str) -> None:
        query = self.query_as(VersionListQuery)
        self.write_json(
            self.registry.list_versions(
                name,
                offset=query.offset,
                limit=query.limit,
                archived=query.archived,
                order=query.order,
            )
        )

    @operation(
        "Register a run's model file as the next version",
        request=RegisterVersionRequest,
        response=ModelVersionDetail,
        status=201,
        errors=(400, 404, 422),
        path_params=("name",),
    )
    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        check_name(name)
        body = self.body_as(RegisterVersionRequest)
        # Reading, checking and profiling a model file is CPU work: keep the server responsive.
        version = await in_thread(
            self.registry.register_run_artifact,
            name,
            body.run_id,
            body.artifact,
            sample_artifact=body.sample_artifact,
            target=body.target,
            metrics=body.metrics,
            params=body.params,
            tags=body.tags,
            description=body.description,
            user=self.username,
            trust=body.trust,
        )
        self.write_json(version, status=201)


class VersionHandler(ModelsBaseHandler):
    @operation(
        "One version (by number or @alias) with signature, profile and environment",
        response=ModelVersionDetail,
        path_params=("name", "version"),
    )
    @web.authenticated
    @authorized
    def get(self, name: str, version: str) -> None:
        self.write_json(self.registry.resolve(version_ref(name, version)))


class LineageHandler(ModelsBaseHandler):
    @operation(
        "Lineage: version → run → notebook → parameters → inputs → git → environment",
        response=Lineage,
        path_params=("name", "version"),
    )
    @web.authenticated
    @authorized
    def get(self, name: str, version: str) -> None:
        self.write_json(self.registry.lineage(version_ref(name, version)))


class ArtifactHandler(ModelsBaseHandler):
    @operation(
        "The version's model file, verified by sha256, streamed",
        content_type="application/octet-stream",
        errors=(400, 404, 422),
        path_params=("name", "version"),
    )
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str) -> None:
        """The stored bytes, verified first, streamed, with their sha256 in the headers."""
        ref = version_ref(name, version)
        # Verifying the sha256 reads the whole file: off the event loop.
        info, chunks = await in_thread(self.registry.artifact_stream, ref)
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
        self.finish(set_content_type="application/octet-stream")


class MlflowExportHandler(ModelsBaseHandler):
    @operation(
        "The version as a zipped MLflow Model directory (MLmodel, model.pkl, requirements)",
        content_type="application/zip",
        errors=(400, 404, 422),
        path_params=("name", "version"),
    )
    @web.authenticated
    @authorized
    async def get(self, name: str, version: str) -> None:
        # Loading the model and zipping it read files: off the event loop.
        info, data = await in_thread(self.registry.export_mlflow_zip, version_ref(name, version))
        filename = f"{info['name']}-v{info['version']}-mlflow.zip"
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.set_header("Content-Length", str(len(data)))
        self._timing()
        self.write(data)
        self.finish(set_content_type="application/zip")  # APIHandler would say JSON


class ArchiveHandler(ModelsBaseHandler):
    @operation(
        "Archive (refused while an alias or a deployment uses it) or unarchive a version",
        request=ReasonRequest,
        response=ModelVersionDetail,
        errors=(400, 404, 409),
        path_params=("name", "version"),
    )
    @web.authenticated
    @authorized
    def post(self, name: str, version: str, action: str) -> None:
        body = self.body_as(ReasonRequest)
        ref = version_ref(name, version)
        if ref.version is None:
            raise InvalidInput("archive/unarchive take a version number, not an alias")
        method = self.registry.archive if action == "archive" else self.registry.unarchive
        self.write_json(method(name, ref.version, user=self.username, reason=body.reason))


class AliasListHandler(ModelsBaseHandler):
    @operation("A model's aliases", response=AliasList, path_params=("name",))
    @web.authenticated
    @authorized
    def get(self, name: str) -> None:
        self.write_json({"items": self.registry.list_aliases(name)})


class AliasHandler(ModelsBaseHandler):
    @operation(
        "The version an alias points at",
        response=ModelVersionDetail,
        path_params=("name", "alias"),
    )
    @web.authenticated
    @authorized
    def get(self, name: str, alias: str) -> None:
        self.write_json(self.registry.resolve(ModelRef(check_name(name), alias=check_alias(alias))))

    @operation(
        "Point an alias at a version, through the quality gate (409 gate_failed if refused); "
        "an editor's promotion to a protected alias is a pending approval request (202)",
        request=SetAliasRequest,
        response=Promotion,
        also={202: ApprovalResponse},
        errors=(400, 403, 404, 409),
        path_params=("name", "alias"),
    )
    @web.authenticated
    @authorized
    async def put(self, name: str, alias: str) -> None:
        body = self.body_as(SetAliasRequest)
        result = await in_thread(
            self.registry.set_alias,
            name,
            alias,
            body.version,
            user=self.username,
            reason=body.reason,
            force=body.force,
        )
        self.write_json(result, status=202 if "approval" in result else 200)

    @operation(
        "Remove an alias",
        query=DeleteAliasQuery,
        response=AliasMove,
        path_params=("name", "alias"),
    )
    @web.authenticated
    @authorized
    async def delete(self, name: str, alias: str) -> None:
        query = self.query_as(DeleteAliasQuery)
        result = await in_thread(
            self.registry.delete_alias, name, alias, user=self.username, reason=query.reason
        )
        self.write_json(result)


class RollbackHandler(ModelsBaseHandler):
    @operation(
        "Move an alias back to the version it pointed at before its last change",
        request=ReasonRequest,
        response=AliasMove,
        errors=(400, 404, 409),
        path_params=("name", "alias"),
    )
    @web.authenticated
    @authorized
    async def post(self, name: str, alias: str) -> None:
        body = self.body_as(ReasonRequest)
        result = await in_thread(
            self.registry.rollback, name, alias, user=self.username, reason=body.reason
        )
        self.write_json(result)


class GateHandler(ModelsBaseHandler):
    @operation("A model's quality gate", response=Gate, path_params=("name",))
    @web.authenticated
    @authorized
    def get(self, name: str) -> None:
        self.write_json({"gate": self.registry.get_gate(name)})

    @operation(
        "Replace a model's quality gate ({} removes it)",
        request=GateUpdateRequest,
        response=Gate,
        path_params=("name",),
    )
    @web.authenticated
    @authorized
    def put(self, name: str) -> None:
        body = self.body_as(GateUpdateRequest)
        self.write_json(
            {
                "gate": self.registry.set_gate(
                    name, body.gate, user=self.username, reason=body.reason
                )
            }
        )


class AuditHandler(ModelsBaseHandler):
    @operation(
        "A model's audit log, newest first",
        query=AuditQuery,
        response=AuditPage,
        path_params=("name",),
    )
    @web.authenticated
    @authorized
    def get(self, name: str) -> None:
        query = self.query_as(AuditQuery)
        self.write_json(
            self.registry.audit(
                name,
                alias=query.alias,
                action=query.action,
                offset=query.offset,
                limit=query.limit,
            )
        )


routes = [
    (rf"{PREFIX}/?", ModelListHandler),
    (rf"{PREFIX}/{SEGMENT}/versions/?", VersionListHandler),
    (rf"{PREFIX}/{SEGMENT}/versions/{SEGMENT}/lineage", LineageHandler),
    (rf"{PREFIX}/{SEGMENT}/versions/{SEGMENT}/artifact", ArtifactHandler),
    (rf"{PREFIX}/{SEGMENT}/versions/{SEGMENT}/mlflow", MlflowExportHandler),
    (rf"{PREFIX}/{SEGMENT}/versions/{SEGMENT}/(archive|unarchive)", ArchiveHandler),
    (rf"{PREFIX}/{SEGMENT}/versions/{SEGMENT}", VersionHandler),
    (rf"{PREFIX}/{SEGMENT}/aliases/?", AliasListHandler),
    (rf"{PREFIX}/{SEGMENT}/aliases/{SEGMENT}/rollback", RollbackHandler),
    (rf"{PREFIX}/{SEGMENT}/aliases/{SEGMENT}", AliasHandler),
    (rf"{PREFIX}/{SEGMENT}/gate", GateHandler),
    (rf"{PREFIX}/{SEGMENT}/audit", AuditHandler),
    (rf"{PREFIX}/{SEGMENT}/?", ModelHandler),
]
