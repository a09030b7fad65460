"""schemathesis against ``/mlops/api/openapi.json`` of a real server, with the token: bounded
(two examples per operation, a deadline per request), 0 responses >= 500, 0 responses outside
the documented statuses or schemas, over the runs, notebooks, schedules and pipelines operations
(the runs/store half of the suite)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _runs_faults import JupyterServer

OPERATIONS = "/runs|/notebooks|/schedules|/pipelines"
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"


def test_the_runs_api_answers_no_5xx_and_only_what_it_documents(tmp_path):
    cli = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    if not Path(cli).exists():
        pytest.skip("schemathesis is not installed (the test extra installs it)")
    server = JupyterServer(tmp_path)
    report = tmp_path / "schemathesis.ndjson"
    try:
        result = subprocess.run(
            [
                cli,
                "run",
                f"http://127.0.0.1:{server.port}/mlops/api/openapi.json",
                "-H",
                f"Authorization: token {server.token}",
                "--include-path-regex",
                OPERATIONS,
                "--phases",
                "fuzzing",
                "--checks",
                CHECKS,
                "--max-examples",
                "2",
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
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout[-6000:]
    events = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    assert events, "schemathesis reported nothing"
    assert "generated" in result.stdout and "failed" not in result.stdout.split("SUMMARY")[-1]
