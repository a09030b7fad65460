"""The embedded default target: the serving app as a uvicorn subprocess on a free local port.

The process is started in its own session so it outlives a restart of the Jupyter server (a
deployment is meant to keep answering); its PID is stored, and on the next start the service
marks records whose process is gone as stopped. Output goes to
``<root>/.mlops/deployments/<id>/serving.log``.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from ...errors import Unavailable
from ..keys import policy_path
from .base import Deployer, Progress, free_port, no_progress, tail_file, wait_healthy

ADMIN_TOKEN_ENV = "MLOPS_SERVING_ADMIN_TOKEN"
TOKEN_FILE = "admin-token"
MODELS_FILE = "models.json"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0


def admin_token(deploy_dir: str | Path) -> str:
    """The deployment's admin token (for ``/admin/reload``), created once, readable by us only."""
    path = Path(deploy_dir) / TOKEN_FILE
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    return token


def write_models_file(deployment: dict[str, Any]) -> Path:
    """The hosted models of a multi-model deployment as ``--models-file`` takes them."""
    config = deployment.get("config") or {}
    entries = config.get("models") or []
    models = []
    for served, entry in zip(deployment["models"], entries, strict=True):
        canary, shadow = entry.get("canary") or {}, entry.get("shadow") or {}
        spec: dict[str, Any] = {
            "bundle": served["bundle_dir"],
            "ref": served["model_ref"],
            "prediction_log": served["prediction_log"],
            "challenger_bundle": served["challenger_bundle_dir"],
            "canary_percent": canary.get("percent", 0),
            "shadow": bool(shadow),
        }
        batching = entry.get("batching")
        if batching is False:
            spec["batching"] = {"enabled": False}
        elif batching:
            spec["batching"] = {"enabled": True, **batching}
        models.append(spec)
    path = Path(deployment["log_path"]).parent / MODELS_FILE
    path.write_text(
        json.dumps({"models": models, "max_loaded_models": config.get("max_loaded_models")})
    )
    return path


def serving_arguments(deployment: dict[str, Any]) -> list[str]:
    """Command-line options of ``python -m jupyterlab_mlops.serving`` from the record's config."""
    config = deployment.get("config") or {}
    args: list[str] = []
    challenger = deployment.get("challenger_bundle_dir")
    canary = config.get("canary") or {}
    shadow = config.get("shadow") or {}
    if challenger and canary:
        args += ["--challenger-bundle", challenger, "--canary-percent", str(canary["percent"])]
    elif challenger and shadow:
        args += ["--challenger-bundle", challenger, "--shadow"]
    batching = config.get("batching")
    if batching is False:
        args.append("--no-batching")
    elif batching:
        if batching.get("max_latency_ms") is not None:
            args += ["--max-latency-ms", str(batching["max_latency_ms"])]
        if batching.get("max_batch_rows") is not None:
            args += ["--max-batch-rows", str(batching["max_batch_rows"])]
    if config.get("workers"):
        args += ["--workers", str(int(config["workers"]))]
    if config.get("extra_columns"):
        args += ["--extra-columns", str(config["extra_columns"])]
    return args + input_arguments(config)


def input_arguments(config: dict[str, Any]) -> list[str]:
    """The input policies of the config as serving options (every target passes them)."""
    args: list[str] = []
    unknown = config.get("unknown_categories")
    if unknown is not None:
        args += [
            "--unknown-categories",
            unknown if isinstance(unknown, str) else json.dumps(unknown),
        ]
    if config.get("max_string_length"):
        args += ["--max-string-length", str(int(config["max_string_length"]))]
    return args


class LocalDeployer(Deployer):
    target = "local"

    def __init__(self, context):
        super().__init__(context)
        # Popen objects of processes this interpreter started, so exited ones are reaped.
        self._children: dict[int, subprocess.Popen] = {}
        self._exit_codes: dict[int, int] = {}  # of reaped children, for the failure reason

    def start(self, deployment: dict[str, Any], progress: Progress = no_progress) -> dict[str, Any]:
        log_path = Path(deployment["log_path"])
        log_path.parent.mkdir(parents=True, exist_ok=True)
        if deployment.get("models"):
            source = ["--models-file", str(write_models_file(deployment))]
        else:
            source = ["--bundle", str(deployment["bundle_dir"])]
        host = "127.0.0.1"
        port = free_port(host)
        command = [
            sys.executable,
            "-m",
            "jupyterlab_mlops.serving",
            *source,
            "--host",
            host,
            "--port",
            str(port),
            "--prediction-log",
            str(deployment["prediction_log"]),
            *serving_arguments(deployment),
        ]
        security = policy_path(deployment)
        if security.is_file():
            command += ["--security-file", str(security)]
        progress(f"starting the serving process on {host}:{port}")
        with log_path.open("ab") as log:
            log.write(
                f"\n=== start {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}: "
                f"{' '.join(command)}\n".encode()
            )
            log.flush()
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=str(log_path.parent),
                env={
                    **os.environ,
                    "PYTHONUNBUFFERED": "1",
                    ADMIN_TOKEN_ENV: admin_token(log_path.parent),
                },
                start_new_session=True,
            )
        self._children[process.pid] = process
        url = f"http://{host}:{port}"
        try:
            wait_healthy(
                url,
                timeout=START_TIMEOUT,
                alive=lambda: process.poll() is None,
                describe=lambda: "Last log lines:\n" + tail_file(log_path, 15),
            )
        except Unavailable:
            self._terminate(process.pid)
            raise
        progress(f"healthy at {url}")
        return {"url": url, "port": port, "pid": process.pid, "host": host}

    def _matches(self, pid: int, deployment: dict[str, Any]) -> bool:
        """The PID is alive and still one of ours (PIDs get reused)."""
        child = self._children.get(pid)
        if child is not None and child.poll() is not None:
            self._exit_codes[pid] = self._children.pop(pid).returncode
            return False
        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                return False
            cmdline = proc.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False
        return "jupyterlab_mlops.serving" in cmdline and str(deployment["prediction_log"]) in (
            cmdline
        )

    def is_alive(self, deployment: dict[str, Any]) -> bool:
        pid = deployment.get("pid")
        return bool(pid) and self._matches(int(pid), deployment)

    def failure(self, deployment: dict[str, Any]) -> str | None:
        pid = deployment.get("pid")
        if self.is_alive(deployment):
            return None
        code = self._exit_codes.get(int(pid)) if pid else None
        how = ""
        if code is not None:
            how = f" (killed by signal {-code})" if code < 0 else f" (exit status {code})"
        return f"the serving process (pid {pid}) exited unexpectedly{how}"

    def _terminate(self, pid: int) -> None:
        """SIGTERM the process group (uvicorn workers too), SIGKILL after a bounded wait."""
        try:
            os.killpg(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_TIMEOUT
        child = self._children.get(pid)
        while time.monotonic() < deadline:
            if child is not None:
                if child.poll() is not None:
                    break
            elif not psutil.pid_exists(pid) or _is_zombie(pid):
                break
            time.sleep(0.05)
        else:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if child is not None:
                child.wait(timeout=5)
        self._children.pop(pid, None)

    def stop(self, deployment: dict[str, Any]) -> None:
        pid = deployment.get("pid")
        if pid and self._matches(int(pid), deployment):
            self._terminate(int(pid))

    def kill(self, deployment: dict[str, Any]) -> None:
        """SIGKILL the process group: a hung process does not handle SIGTERM."""
        pid = deployment.get("pid")
        if pid and self._matches(int(pid), deployment):
            try:
                os.killpg(int(pid), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._terminate(int(pid))  # reaps it (already dead: returns at once)

    def logs(self, deployment: dict[str, Any], tail: int = 200) -> str:
        return tail_file(deployment.get("log_path"), tail)

    def reload_model(
        self, deployment: dict[str, Any], name: str, bundle_dir: str
    ) -> dict[str, Any]:
        """Swap one hosted model of a multi-model process in place (its split kept); the
        models file is rewritten so a restart serves the same."""
        write_models_file(deployment)
        return self.admin_reload(deployment, {"bundle": str(bundle_dir), "model": name})

    def reload(self, deployment: dict[str, Any], bundle_dir: str) -> dict[str, Any]:
        """Ask the running process to swap its model(s) in place: no request is dropped."""
        config = deployment.get("config") or {}
        challenger = deployment.get("challenger_bundle_dir")
        body: dict[str, Any] = {
            "bundle": str(bundle_dir),
            "challenger_bundle": challenger,
            "canary_percent": (config.get("canary") or {}).get("percent", 0) if challenger else 0,
            "shadow": bool(challenger and config.get("shadow")),
        }
        return self.admin_reload(deployment, body)

    def admin_reload(self, deployment: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        url = deployment.get("url")
        if not url or not self.is_alive(deployment):
            raise Unavailable(f"deployment {deployment['id']} is not running")
        token = admin_token(Path(deployment["log_path"]).parent)
        try:
            response = httpx.post(
                f"{url}/admin/reload",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
                timeout=120.0,
                trust_env=False,
            )
        except httpx.HTTPError as err:
            raise Unavailable(f"could not reach {url} to reload the model: {err}") from None
        if response.status_code >= 400:
            raise Unavailable(
                f"the serving process refused the reload (HTTP {response.status_code}): "
                f"{response.text[:500]}"
            )
        return {}


def _is_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
