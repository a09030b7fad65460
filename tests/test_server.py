"""The server extension in a real Jupyter server: health, authentication, JSON errors."""

import json
import warnings

import pytest
from tornado.httpclient import HTTPClientError

from jupyterlab_mlops import __version__
from jupyterlab_mlops.handlers import all_routes
from jupyterlab_mlops.store import Database


async def test_health_reports_version_store_and_counts(jp_fetch, jp_root_dir):
    response = await jp_fetch("mlops", "api", "health")
    assert response.code == 200
    body = json.loads(response.body)
    assert body["version"] == __version__
    assert body["store"]["kind"] == "sqlite"
    assert body["store"]["url"] == f"sqlite:///{jp_root_dir / '.mlops' / 'mlops.db'}"
    assert body["store"]["revision"] == Database.head_revision()
    assert body["artifact_root"] == str(jp_root_dir / ".mlops" / "artifacts")
    assert body["counts"] == {
        "runs": 0,
        "models": 0,
        "model_versions": 0,
        "deployments": 0,
        "monitors": 0,
        "alerts": 0,
    }
    assert (jp_root_dir / ".mlops" / "mlops.db").is_file()
    # The server runs the periodic jobs itself (c.MLOps.run_scheduler, on by default).
    scheduler = body["scheduler"]
    assert scheduler["running"] is True
    jobs = {job["name"]: job for job in scheduler["jobs"]}
    assert {"runs.queue", "workflows.schedules", "drift.monitors"} <= set(jobs)
    assert jobs["workflows.schedules"]["interval_seconds"] == 5.0
    assert jobs["workflows.schedules"]["failures"] == 0


async def test_health_without_token_is_forbidden(jp_fetch):
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("mlops", "api", "health", headers={"Authorization": ""})
    assert error.value.code == 403


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_unknown_route_is_a_json_404(jp_fetch, method):
    kwargs = {"body": "{}"} if method == "POST" else {}
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("mlops", "api", "no-such-thing", method=method, **kwargs)
    assert error.value.code == 404
    body = json.loads(error.value.response.body)
    assert body == {
        "error": {"code": "not_found", "message": "no such API route: /mlops/api/no-such-thing"}
    }


async def test_unknown_route_without_token_is_forbidden_not_404(jp_fetch):
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("mlops", "api", "no-such-thing", headers={"Authorization": ""})
    assert error.value.code == 403


def test_every_route_method_is_authenticated():
    """jupyter-server warns (JupyterServerAuthWarning) about undecorated methods; so do we."""
    from jupyter_server.serverapp import _has_tornado_web_authenticated
    from tornado import web

    unauthenticated = []
    for pattern, handler, *_ in all_routes():
        for method_name in handler.SUPPORTED_METHODS:
            method = getattr(handler, method_name.lower())
            if method == web.RequestHandler._unimplemented_method:
                continue
            if hasattr(method, "__allow_unauthenticated"):
                continue
            if not _has_tornado_web_authenticated(method):
                unauthenticated.append(f"{method_name} {pattern}")
    assert unauthenticated == []


async def test_server_start_emits_no_auth_warning(jp_serverapp):
    """With allow_unauthenticated_access=False, adding our handlers must not warn."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        jp_serverapp.web_app.add_handlers(".*$", all_routes())
    auth_warnings = [w for w in caught if "JupyterServerAuthWarning" in type(w.message).__name__]
    assert auth_warnings == []


async def test_the_openapi_document_is_served_to_authenticated_users_only(jp_fetch):
    response = await jp_fetch("mlops", "api", "openapi.json")
    document = json.loads(response.body)
    assert document["openapi"].startswith("3.")
    assert document["info"]["version"] == __version__
    health = document["paths"]["/mlops/api/health"]["get"]
    assert health["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Health"
    }
    assert "ErrorResponse" in document["components"]["schemas"]
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("mlops", "api", "openapi.json", headers={"Authorization": ""})
    assert error.value.code == 403


def test_every_route_is_described_in_the_openapi_document():
    """A route cannot be added without its models: the document is built from the handlers."""
    from tornado import web

    from jupyterlab_mlops.handlers.base import NotFoundHandler
    from jupyterlab_mlops.handlers.openapi import build_openapi

    undescribed = []
    for pattern, handler, *_ in all_routes():
        if handler is NotFoundHandler:
            continue
        for method_name in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            method = getattr(handler, method_name.lower())
            if method == web.RequestHandler._unimplemented_method:
                continue
            if getattr(method, "__openapi__", None) is None:
                undescribed.append(f"{method_name} {pattern}")
    assert undescribed == []
    document = build_openapi()
    for path, operations in document["paths"].items():
        assert path.startswith("/mlops/api/") and "(" not in path, path
        for method, operation in operations.items():
            assert "401" in operation["responses"], (method, path)
            success = [code for code in operation["responses"] if code.startswith("2")]
            # One success, or several each documented (a promotion: 200 moved, 202 pending).
            assert success, (method, path)
            if len(success) > 1:
                assert all("content" in operation["responses"][c] for c in success), path


async def test_an_oversized_body_is_a_413_and_nothing_is_stored(jp_fetch, jp_root_dir):
    from jupyterlab_mlops.app import MLOps

    big = json.dumps({"notebook_path": "x.ipynb", "parameters": {"blob": "x" * (3 * 2**20)}})
    with pytest.raises(HTTPClientError) as error:
        await jp_fetch("mlops", "api", "runs", method="POST", body=big)
    assert error.value.code == 413
    body = json.loads(error.value.response.body)["error"]
    assert body["code"] == "payload_too_large"
    assert body["details"]["limit"] == MLOps.max_request_bytes.default_value
    response = await jp_fetch("mlops", "api", "health")
    assert json.loads(response.body)["counts"]["runs"] == 0
