"""schemathesis against a real serving process's own OpenAPI document (uvicorn started here,
API keys required, the key sent): no response ≥ 500 and every answer — status, content type,
body — as the document says; a process with one model and one with two (``--models-file``).
Bounded: a few examples per operation, no deadline."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from registry_utils import pipeline_model, training_frame
from serving_utils import Server, make_bundle

from jupyterlab_mlops.serving.keys import write_policy
from jupyterlab_mlops.serving.security import key_hash

KEY = "mlops_schemathesis-key"
EXAMPLES_PER_OPERATION = 12


@pytest.fixture(scope="module", params=["one model", "two models"])
def serving_schema(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    X, y = training_frame()
    model = pipeline_model(X, y)
    bundle = make_bundle(root / "bundle", model, X, name="churn", nullable=("city",))
    source = ["--bundle", str(bundle)]
    if request.param == "two models":  # one loaded at a time
        other = make_bundle(root / "other", model, X, name="upsell", nullable=("city",))
        hosted = {"models": [{"bundle": str(bundle)}, {"bundle": str(other)}]}
        (root / "models.json").write_text(json.dumps({**hosted, "max_loaded_models": 1}))
        source = ["--models-file", str(root / "models.json")]
    policy = root / "security.json"
    write_policy(policy, {"require_api_key": True, "api_key_sha256": [key_hash(KEY)]})
    env = {"MLOPS_SERVING_ADMIN_TOKEN": "an-admin-token-the-fuzzer-does-not-know"}
    with Server(
        None, root / "p.sqlite", *source, "--security-file", str(policy), env=env
    ) as server:
        yield schemathesis.openapi.from_url(f"{server.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("serving_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_serving_api_answers_as_documented(case):
    # The request schema of /predict cannot express the model's signature: valid-looking rows
    # may be refused (422), so "positive data accepted" is not a property of this API.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {KEY}"},
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
