"""The registry's typed edges in a real Jupyter server: every malformed body or query string is
a 400 naming the field with nothing stored, and real responses validate against the response
models the OpenAPI document is generated from."""

from __future__ import annotations

import json

import pytest
from registry_utils import PROVENANCE, add_run, simple_model
from tornado.httpclient import HTTPClientError

from jupyterlab_mlops.registry import schemas
from jupyterlab_mlops.store import models as m


@pytest.fixture
def mlops(jp_serverapp):
    return jp_serverapp.web_app.settings["mlops"]


async def call(jp_fetch, *path, method="GET", body=None, params=None):
    kwargs = {"method": method, "params": params or {}}
    if body is not None:
        kwargs["body"] = body if isinstance(body, str) else json.dumps(body)
    elif method in ("POST", "PUT", "PATCH"):
        kwargs["body"] = "{}"
    response = await jp_fetch("mlops", "api", "models", *path, **kwargs)
    return response.code, json.loads(response.body)


async def refused(jp_fetch, *path, method="GET", body=None, params=None) -> dict:
    """The error of a request that must be a 400 (not a 500, not stored)."""
    with pytest.raises(HTTPClientError) as raised:
        await call(jp_fetch, *path, method=method, body=body, params=params)
    payload = json.loads(raised.value.response.body)
    assert raised.value.code == 400, payload
    assert payload["error"]["code"] == "invalid_input"
    return payload["error"]


def state(mlops) -> dict:
    """Everything a refused request must leave as it was."""
    with mlops.db.session() as session:
        return {
            "models": session.query(m.RegisteredModel).count(),
            "versions": session.query(m.ModelVersion).count(),
            "aliases": sorted((a.alias, a.version) for a in session.query(m.ModelAlias).all()),
            "audit": session.query(m.AuditEntry).count(),
            "gate": mlops.registry.get_gate("churn"),
            "description": mlops.registry.get_model("churn")["description"],
            "tags": mlops.registry.get_model("churn")["tags"],
            "archived": [v["archived"] for v in mlops.registry.list_versions("churn")["items"]],
        }


def seed(mlops) -> None:
    for seed_ in range(2):
        mlops.registry.register(
            simple_model(seed_), "churn", metrics={"auc": 0.8 + seed_ / 100}, user="alice"
        )
    mlops.registry.set_alias("churn", "production", 1, user="alice")
    mlops.registry.set_gate("churn", {"thresholds": {"auc": 0.5}}, user="alice")


# Refused while decoding: the message names the request body (no details.field then).
DEEP = "[" * 100_000 + "]" * 100_000

# (path, method, raw or JSON body, field named in details.field, text in the message)
BODY_CASES = [
    (("churn", "aliases", "production"), "PUT", {"version": 1e30}, "version", "integer"),
    (("churn", "aliases", "production"), "PUT", {"version": "x"}, "version", "integer"),
    (("churn", "aliases", "production"), "PUT", '{"version": NaN}', "version", "finite"),
    (("churn", "aliases", "production"), "PUT", '{"version": Infinity}', "version", "finite"),
    (("churn", "aliases", "production"), "PUT", '{"version": 1e400}', "version", "finite"),
    (
        ("churn", "aliases", "production"),
        "PUT",
        '{"version": 99999999999999999999999}',
        "version",
        "64-bit",
    ),
    (("churn", "aliases", "production"), "PUT", {"version": True}, "version", "integer"),
    (("churn", "aliases", "production"), "PUT", {"version": 2.0}, "version", "integer"),
    (("churn", "aliases", "production"), "PUT", {"version": -2}, "version", "positive"),
    (("churn", "aliases", "production"), "PUT", {"version": 2, "reason": 7}, "reason", "string"),
    (("churn", "aliases", "production"), "PUT", {"version": 2, "force": 1}, "force", "true or"),
    (("churn", "aliases", "production"), "PUT", {"version": 2, "to": 3}, "to", "unknown field"),
    (("churn", "aliases", "production"), "PUT", DEEP, None, "request body nests deeper"),
    (("churn", "aliases", "production", "rollback"), "POST", {"why": "x"}, "why", "unknown"),
    (("churn", "versions", "2", "archive"), "POST", {"reason": ["x"]}, "reason", "string"),
    (("churn", "versions", "2", "archive"), "POST", DEEP, None, "request body nests deeper"),
    (
        ("churn", "gate"),
        "PUT",
        '{"gate": {"thresholds": {"auc": {">=": Infinity}}}}',
        "gate.thresholds.auc.>=",
        "finite",
    ),
    (
        ("churn", "gate"),
        "PUT",
        '{"gate": {"compare": {"metric": "auc", "min_delta": NaN}}}',
        "gate.compare.min_delta",
        "finite",
    ),
    (
        ("churn", "gate"),
        "PUT",
        {"gate": {"thresholds": {"auc": {">=": "high"}}}},
        "gate.thresholds.auc.>=",
        "number",
    ),
    (("churn", "gate"), "PUT", {"gate": {"limits": {}}}, "gate.limits", "unknown gate key"),
    (("churn", "gate"), "PUT", {"gate": {"aliases": ["9x"]}}, "aliases", "invalid alias"),
    (
        ("churn", "gate"),
        "PUT",
        {"gate": {"compare": {"metric": "auc", "mode": "best"}}},
        "gate.compare.mode",
        "mode",
    ),
    (("churn", "gate"), "PUT", {"gate": {}, "note": "x"}, "note", "unknown field"),
    (("churn", "gate"), "PUT", DEEP, None, "request body nests deeper"),
    (("churn",), "PATCH", {"description": 5}, "description", "string"),
    (("churn",), "PATCH", {"tags": {"bad key": "x"}}, "tags", "invalid tag key"),
    (("churn",), "PATCH", {"owner": "bob"}, "owner", "unknown field"),
    (
        ("churn", "versions"),
        "POST",
        {"run_id": "r", "artifact": "m.skops", "metrics": {"auc": "high"}},
        "metrics",
        "finite number",
    ),
    (
        ("churn", "versions"),
        "POST",
        '{"run_id": "r", "artifact": "m.skops", "metrics": {"auc": -Infinity}}',
        "metrics.auc",
        "finite",
    ),
    (
        ("churn", "versions"),
        "POST",
        {"run_id": "r", "artifact": "m.skops", "params": {"deep": json.loads("[" * 70 + "]" * 70)}},
        "params.deep",
        "nests deeper",
    ),
    (("churn", "versions"), "POST", {"run_id": "r"}, "artifact", "'artifact' is required"),
    (
        ("churn", "versions"),
        "POST",
        {"run_id": "r", "artifact": "m", "trust": "yes"},
        "trust",
        "true or false",
    ),
    (("churn", "versions"), "POST", DEEP, None, "request body nests deeper"),
]

HUGE = "99999999999999999999999"
QUERY_CASES = [
    ((), {"offset": HUGE}, "offset"),
    ((), {"limit": HUGE}, "limit"),
    ((), {"limit": "1e3"}, "limit"),
    ((), {"limit": "501"}, "limit"),
    ((), {"sort": "name"}, "sort"),
    (("churn", "versions"), {"offset": HUGE}, "offset"),
    (("churn", "versions"), {"order": "sideways"}, "order"),
    (("churn", "versions"), {"archived": "maybe"}, "archived"),
    (("churn", "audit"), {"offset": HUGE}, "offset"),
    (("churn", "audit"), {"limit": "-5"}, "limit"),
    (("churn", "audit"), {"user": "bob"}, "user"),
]


async def test_malformed_bodies_are_400s_naming_the_field_and_store_nothing(jp_fetch, mlops):
    seed(mlops)
    before = state(mlops)
    wrong = []
    for path, method, body, field, message in BODY_CASES:
        err = await refused(jp_fetch, *path, method=method, body=body)
        named = err.get("details", {}).get("field")
        # a value nested too deep is named by its full path (params.deep.0.0.…)
        if not (named == field or (named or "").startswith(f"{field}.0.0")):
            wrong.append((method, "/".join(path), str(body)[:80], err))
        elif message not in err["message"]:
            wrong.append((method, "/".join(path), str(body)[:80], err))
        assert state(mlops) == before, (method, path, body)
    assert wrong == []


async def test_malformed_query_strings_are_400s_naming_the_field(jp_fetch, mlops):
    seed(mlops)
    wrong = []
    for path, params, field in QUERY_CASES:
        err = await refused(jp_fetch, *path, params=params)
        if err.get("details", {}).get("field") != field or f"'{field}'" not in err["message"]:
            wrong.append(("/".join(path), params, err))
    assert wrong == []
    before = state(mlops)
    err = await refused(
        jp_fetch, "churn", "aliases", "production", method="DELETE", params={"why": "x"}
    )
    assert err["details"]["field"] == "why"
    assert state(mlops) == before


async def test_the_token_in_the_url_is_not_an_unknown_argument(jp_fetch, jp_serverapp, mlops):
    seed(mlops)
    token = jp_serverapp.identity_provider.token
    code, page = await call(jp_fetch, params={"token": token, "limit": "1"})
    assert code == 200 and page["limit"] == 1 and page["items"][0]["name"] == "churn"


async def test_real_responses_validate_against_the_response_models(jp_fetch, mlops):
    run_id = add_run(mlops, provenance=PROVENANCE, status="succeeded", parameters={"C": 0.5})
    mlops.registry.register(
        simple_model(), "churn", metrics={"auc": 0.8}, run_id=run_id, tags={"team": "risk"}
    )
    mlops.registry.register(simple_model(1), "churn", metrics={"auc": 0.85})

    _, gate = await call(
        jp_fetch,
        "churn",
        "gate",
        method="PUT",
        body={
            "gate": {
                "thresholds": {"auc": {">=": 0.7}},
                "compare": {"metric": "auc", "mode": "max"},
                "aliases": ["production"],
            },
            "reason": "policy",
        },
    )
    schemas.Gate.model_validate(gate)
    assert gate["gate"]["thresholds"] == {"auc": {">=": 0.7}}
    _, bare = await call(jp_fetch, "churn", "gate")
    assert schemas.Gate.model_validate(bare).gate.compare.metric == "auc"

    code, promotion = await call(
        jp_fetch, "churn", "aliases", "production", method="PUT", body={"version": 1}
    )
    parsed = schemas.Promotion.model_validate(promotion)
    assert (
        code == 200
        and parsed.gate.passed
        and [c.kind for c in parsed.gate.checks]
        == [
            "threshold",
            "compare",
        ]
    )
    _, promotion = await call(
        jp_fetch, "churn", "aliases", "production", method="PUT", body={"version": 2}
    )
    assert schemas.Promotion.model_validate(promotion).previous_version == 1

    _, page = await call(jp_fetch)
    assert schemas.ModelPage.model_validate(page).items[0].aliases == {"production": 2}
    _, model = await call(jp_fetch, "churn")
    schemas.Model.model_validate(model)
    _, patched = await call(
        jp_fetch, "churn", method="PATCH", body={"description": "churn model", "tags": {"a": 1}}
    )
    assert schemas.Model.model_validate(patched).tags == {"a": "1"}
    _, versions = await call(jp_fetch, "churn", "versions")
    assert [v.version for v in schemas.VersionPage.model_validate(versions).items] == [2, 1]
    for segment in ("1", "@production"):
        _, detail = await call(jp_fetch, "churn", "versions", segment)
        schemas.ModelVersionDetail.model_validate(detail)
    _, detail = await call(jp_fetch, "churn", "aliases", "production")
    assert schemas.ModelVersionDetail.model_validate(detail).signature.inputs[0].name == "f0"
    _, aliases = await call(jp_fetch, "churn", "aliases")
    schemas.AliasList.model_validate(aliases)

    _, lineage = await call(jp_fetch, "churn", "versions", "1", "lineage")
    parsed_lineage = schemas.Lineage.model_validate(lineage)
    assert parsed_lineage.run.id == run_id and parsed_lineage.git.commit == "0123456789abcdef"
    _, lineage = await call(jp_fetch, "churn", "versions", "2", "lineage")
    assert schemas.Lineage.model_validate(lineage).missing == ["run"]

    _, rolled = await call(
        jp_fetch, "churn", "aliases", "production", "rollback", method="POST", body={}
    )
    assert schemas.AliasMove.model_validate(rolled).version == 1
    _, deleted = await call(jp_fetch, "churn", "aliases", "production", method="DELETE")
    assert schemas.AliasMove.model_validate(deleted).version is None
    _, archived = await call(jp_fetch, "churn", "versions", "2", "archive", method="POST")
    assert schemas.ModelVersionDetail.model_validate(archived).archived is True
    _, audit = await call(jp_fetch, "churn", "audit", params={"limit": "100"})
    entries = schemas.AuditPage.model_validate(audit).items
    assert [e.action for e in entries] == [
        "archive",
        "delete_alias",
        "rollback",
        "set_alias",
        "set_alias",
        "set_gate",
        "register",
        "register",
    ]


async def test_a_registered_run_artifact_validates_against_its_model(jp_fetch, mlops):
    import skops.io as sio

    run_id = add_run(mlops, provenance=PROVENANCE, status="succeeded", parameters={"C": 0.5})
    data = sio.dumps(simple_model())
    with mlops.db.session() as session:
        sha = mlops.artifacts.put_bytes(data)
        session.add(m.RunArtifact(run_id=run_id, name="model.skops", sha256=sha, size=len(data)))
    code, version = await call(
        jp_fetch,
        "churn",
        "versions",
        method="POST",
        body={"run_id": run_id, "artifact": "model.skops", "metrics": {"auc": 1}},
    )
    assert code == 201
    parsed = schemas.ModelVersionDetail.model_validate(version)
    assert parsed.metrics == {"auc": 1.0} and parsed.params == {"C": 0.5}


async def test_the_openapi_document_describes_every_registry_route(jp_fetch):
    response = await jp_fetch("mlops", "api", "openapi.json")
    document = json.loads(response.body)
    paths = {p: ops for p, ops in document["paths"].items() if p.startswith("/mlops/api/models")}
    assert {(p, method) for p, ops in paths.items() for method in ops} == {
        ("/mlops/api/models", "get"),
        ("/mlops/api/models/{name}", "get"),
        ("/mlops/api/models/{name}", "patch"),
        ("/mlops/api/models/{name}/versions", "get"),
        ("/mlops/api/models/{name}/versions", "post"),
        ("/mlops/api/models/{name}/versions/{version}", "get"),
        ("/mlops/api/models/{name}/versions/{version}/lineage", "get"),
        ("/mlops/api/models/{name}/versions/{version}/artifact", "get"),
        ("/mlops/api/models/{name}/versions/{version}/mlflow", "get"),
        ("/mlops/api/models/{name}/versions/{version}/archive", "post"),
        ("/mlops/api/models/{name}/versions/{version}/unarchive", "post"),
        ("/mlops/api/models/{name}/aliases", "get"),
        ("/mlops/api/models/{name}/aliases/{alias}", "get"),
        ("/mlops/api/models/{name}/aliases/{alias}", "put"),
        ("/mlops/api/models/{name}/aliases/{alias}", "delete"),
        ("/mlops/api/models/{name}/aliases/{alias}/rollback", "post"),
        ("/mlops/api/models/{name}/gate", "get"),
        ("/mlops/api/models/{name}/gate", "put"),
        ("/mlops/api/models/{name}/audit", "get"),
    }
    put_alias = paths["/mlops/api/models/{name}/aliases/{alias}"]["put"]
    assert put_alias["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/SetAliasRequest"
    }
    assert put_alias["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Promotion"
    }
    assert "409" in put_alias["responses"]
    listing = paths["/mlops/api/models"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"q", "tag", "alias", "offset", "limit"}
    request = document["components"]["schemas"]["SetAliasRequest"]
    assert request["required"] == ["version"]
    assert request["properties"]["version"]["type"] == "integer"
    assert request["additionalProperties"] is False
    created = paths["/mlops/api/models/{name}/versions"]["post"]["responses"]
    assert created["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ModelVersionDetail"
    }
