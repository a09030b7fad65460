"""What every deployment target implements, so the service never branches on the target.

A deployer turns a deployment record (a plain dict from ``DeploymentService``) into something
that answers HTTP — a process, a container, or manifests for a cluster — and reports back the
fields to store (url, port, pid, container id, image, …). The service owns the record and its
status; deployers own the mechanics. What a deployer needs beyond the record (the bundle writer,
the image settings) comes in a :class:`DeployerContext`, never the composition root.
"""

from __future__ import annotations

import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from ...errors import Unavailable

if TYPE_CHECKING:
    from ..bundle import BundleWriter

DEFAULT_BASE_IMAGE = "python:3.11-slim"

# A progress callback receives one human-readable line per step.
Progress = Callable[[str], None]


def no_progress(_line: str) -> None:
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_healthy(
    url: str,
    *,
    timeout: float = 60.0,
    alive: Callable[[], bool] | None = None,
    describe: Callable[[], str] | None = None,
) -> dict:
    """Poll ``GET {url}/health`` until it answers 200 (bounded), and return its JSON."""
    deadline = time.monotonic() + timeout
    last_error = ""
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if alive is not None and not alive():
                detail = describe() if describe else ""
                raise Unavailable(f"the serving process exited during start-up. {detail}".strip())
            try:
                response = client.get(f"{url}/health")
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError:
                        return {}
                last_error = f"HTTP {response.status_code}"
            except httpx.HTTPError as err:
                last_error = str(err) or type(err).__name__
            time.sleep(0.2)
    detail = describe() if describe else ""
    raise Unavailable(
        f"{url}/health did not answer within {timeout:.0f}s ({last_error}). {detail}".strip()
    )


def tail_file(path: str | Path | None, lines: int = 200) -> str:
    """The last ``lines`` lines of a text file ('' when it does not exist)."""
    if not path:
        return ""
    file = Path(path)
    if not file.is_file():
        return ""
    with file.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        block = 64 * 1024
        data = b""
        position = size
        while position > 0 and data.count(b"\n") <= lines:
            read = min(block, position)
            position -= read
            handle.seek(position)
            data = handle.read(read) + data
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class DeployerContext:
    """What the deployers need from outside the record: bundles and image build settings."""

    bundles: BundleWriter
    docker_base_image: str = DEFAULT_BASE_IMAGE
    docker_extra_ca_bundle: str = ""
    docker_prefetch_wheels: bool = False
    # Build contexts under it are written with no symlink leading out (paths.ConfinedDir).
    deployments_dir: Path | None = None


class Deployer(ABC):
    """One deployment target (``local``, ``docker``, ``kubernetes``)."""

    target: str = ""

    def __init__(self, context: DeployerContext):
        self.context = context

    @abstractmethod
    def start(self, deployment: dict[str, Any], progress: Progress = no_progress) -> dict[str, Any]:
        """Make the deployment answer; return the record fields to update (url, status, …)."""

    @abstractmethod
    def stop(self, deployment: dict[str, Any]) -> None:
        """Stop serving (idempotent: stopping a stopped deployment is fine)."""

    @abstractmethod
    def is_alive(self, deployment: dict[str, Any]) -> bool:
        """Whether the process/container behind the record still exists."""

    def kill(self, deployment: dict[str, Any]) -> None:
        """End a hung process at once (default: a normal stop)."""
        self.stop(deployment)

    def failure(self, deployment: dict[str, Any]) -> str | None:
        """Why the deployment no longer serves (``None``: its process/container is alive)."""
        return None if self.is_alive(deployment) else "the serving process is gone"

    @abstractmethod
    def logs(self, deployment: dict[str, Any], tail: int = 200) -> str:
        """The last ``tail`` lines of the serving log."""

    def restart(
        self, deployment: dict[str, Any], progress: Progress = no_progress
    ) -> dict[str, Any]:
        """Stop, then start again with the same record."""
        self.stop(deployment)
        return self.start(deployment, progress)

    def remove(self, deployment: dict[str, Any]) -> None:
        """Free what ``start`` created beyond the process (containers); default: nothing."""
        return None

    def reload(self, deployment: dict[str, Any], bundle_dir: str) -> dict[str, Any]:
        """Hot-swap the served model without dropping requests (default: restart)."""
        self.stop(deployment)
        return self.start({**deployment, "bundle_dir": bundle_dir})
