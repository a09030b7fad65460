"""What a run needs to be reproduced, captured before it starts.

Everything here describes the environment the run was submitted from: the exact notebook bytes
(by sha256; the bytes themselves go to the artifact store), resolved parameters, the kernel, the
Python and its installed packages, the host, the git state of the notebook's repository and the
sha256 of every data file the run declares or is pointed at by a parameter.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import socket
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

from ..errors import InvalidInput
from ..paths import relative_to_root
from ..store.artifacts import sha256_file
from . import environments

GIT_TIMEOUT = 10


def kernel_info(kernel_name: str) -> dict[str, Any]:
    """Name, language and language version of an installed kernel (400 when unknown)."""
    manager = KernelSpecManager()
    try:
        spec = manager.get_kernel_spec(kernel_name)
    except NoSuchKernel:
        available = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        raise InvalidInput(
            f"kernel_name {kernel_name!r} is not an installed kernel (installed: {available})",
            code="unknown_kernel",
            details={"field": "kernel_name"},
        ) from None
    return {
        "name": kernel_name,
        "display_name": spec.display_name,
        "language": spec.language,
        "language_version": _language_version(tuple(spec.argv), spec.language),
        "interpreter": environments.kernel_interpreter(spec.argv, spec.language),
    }


@functools.lru_cache(maxsize=16)
def _language_version(argv: tuple[str, ...], language: str) -> str | None:
    if language.lower() != "python" or not argv:
        return None
    executable = argv[0]
    # jupyter_client runs "python"/"python3" kernels with the server's own interpreter.
    if executable in ("python", f"python{sys.version_info[0]}", sys.executable):
        return platform.python_version()
    try:
        out = subprocess.run(
            [executable, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def installed_packages() -> dict[str, str]:
    packages: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            packages[name.lower().replace("_", "-")] = dist.version
    return dict(sorted(packages.items()))


def kernel_environment(
    kernel: dict[str, Any], cache_dir: Path | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """``(python, packages)`` of the kernel's own interpreter (cached by its fingerprint)."""
    interpreter = kernel.get("interpreter")
    listing = environments.environment(interpreter, cache_dir) if interpreter else None
    if listing is None:
        return python_info(), installed_packages()
    return dict(listing["python"]), dict(listing["packages"])


def platform_info() -> dict[str, str]:
    return {
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "hostname": socket.gethostname(),
    }


def python_info() -> dict[str, str]:
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
    }


def _git(directory: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_info(directory: Path) -> dict[str, Any] | None:
    """Commit, branch and dirty flag of the repository containing ``directory`` (or None)."""
    root = _git(directory, "rev-parse", "--show-toplevel")
    if not root:
        return None
    commit = _git(directory, "rev-parse", "HEAD")  # None in a repository without commits
    branch = _git(directory, "rev-parse", "--abbrev-ref", "HEAD")
    status = _git(directory, "status", "--porcelain", "--untracked-files=no")
    return {
        "root": root,
        "commit": commit,
        "branch": None if branch in (None, "HEAD") else branch,
        "dirty": bool(status),
    }


def parameter_paths(root: Path, notebook_dir: Path, parameters: dict[str, Any]) -> dict[str, Path]:
    """Parameter values that name an existing file under the root (relative to the notebook)."""
    found: dict[str, Path] = {}
    root = root.resolve()
    for value in parameters.values():
        if not isinstance(value, str) or not value or len(value) > 4096 or "\x00" in value:
            continue
        candidates = [Path(value)] if Path(value).is_absolute() else [notebook_dir / value]
        for candidate in candidates:
            try:
                resolved = candidate.resolve()
            except (OSError, RuntimeError):
                continue
            if resolved.is_file() and (root == resolved or root in resolved.parents):
                found[relative_to_root(root, resolved)] = resolved
                break
    return found


def input_hashes(root: Path, files: dict[str, Path]) -> dict[str, str]:
    return {name: sha256_file(path) for name, path in sorted(files.items())}


def collect(
    *,
    root: Path,
    notebook_path: Path,
    notebook_sha256: str,
    parameters: dict[str, Any],
    kernel: dict[str, Any],
    input_files: dict[str, Path],
    user: str,
) -> dict[str, Any]:
    """The provenance record stored on the run (``Run.provenance``): ``python`` and
    ``packages`` are those of the kernel's interpreter (the server's for a kernel that is not
    Python, which cannot be listed)."""
    files = {**input_files, **parameter_paths(root, notebook_path.parent, parameters)}
    python, packages = kernel_environment(kernel, root / ".mlops" / "cache" / "environments")
    return {
        "notebook_path": relative_to_root(root, notebook_path),
        "notebook_sha256": notebook_sha256,
        "parameters": parameters,
        "kernel": kernel,
        "python": python,
        "packages": packages,
        "platform": platform_info(),
        "git": git_info(notebook_path.parent),
        "inputs": input_hashes(root, files),
        "declared_inputs": sorted(input_files),
        "user": user,
        "recorded_at": datetime.now(timezone.utc).isoformat(),
    }
