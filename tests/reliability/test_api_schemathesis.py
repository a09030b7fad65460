"""schemathesis against ``/mlops/api/openapi.json`` of a real server, with the token, over every
operation: 0 responses >= 500, 0 responses outside the documented statuses or schemas, and no
request the server leaves unanswered (a query value past its ``maxLength`` is a 400 naming it,
never a URL tornado drops). Bounded and reproducible: a few examples per operation, seeded,
positive and negative data, a deadline per request."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

import pytest

EXAMPLES_PER_OPERATION = "3"
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"


async def test_the_whole_api_answers_no_5xx_and_only_what_it_documents(
    jp_fetch, jp_http_port, jp_base_url, jp_auth_header, tmp_path
):
    cli = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    if not Path(cli).exists():
        pytest.skip("schemathesis is not installed (the test extra installs it)")
    await jp_fetch("mlops", "api", "health")  # the server is up
    server = f"http://127.0.0.1:{jp_http_port}{jp_base_url.rstrip('/')}"
    report = tmp_path / "schemathesis.ndjson"
    # A child process, awaited: the server in this process keeps answering meanwhile.
    child = await asyncio.create_subprocess_exec(
        cli,
        "run",
        f"{server}/mlops/api/openapi.json",
        "--url",
        server,
        "-H",
        f"Authorization: {jp_auth_header['Authorization']}",
        "--phases",
        "fuzzing",
        "--checks",
        CHECKS,
        "--max-examples",
        EXAMPLES_PER_OPERATION,
        "--request-timeout",
        "20",
        "--seed",
        "1",
        "--workers",
        "1",
        "--suppress-health-check",
        "all",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(child.communicate(), timeout=120)
    text = output.decode(errors="replace")
    assert child.returncode == 0, text[-6000:]
    events = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    finished = [e["ScenarioFinished"] for e in events if "ScenarioFinished" in e]
    assert finished and all(e["status"] == "success" for e in finished), text[-6000:]
    # Every operation of the document was exercised but the document itself (schemathesis read
    # it to begin with).
    document = json.loads((await jp_fetch("mlops", "api", "openapi.json")).body)
    operations = {f"{m.upper()} {p}" for p, item in document["paths"].items() for m in item}
    assert {e["recorder"]["label"] for e in finished} == operations - {
        "GET /mlops/api/openapi.json"
    }
