"""The environment a run's kernel executes in: its Python and its installed packages.

A kernelspec may point at any interpreter (another virtualenv, a conda env), so the listing is
taken *inside the kernel's interpreter* (``python -c …``), not from the server's. Listing a few
hundred distributions costs a Python start-up, so it is cached by the environment's fingerprint:
the interpreter's path and the modification times of its ``site-packages`` directories
(installing or removing a package touches them). The cache lives in memory and, for processes
that start afresh each time (the CLI), in files under ``<root>/.mlops/cache/environments``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

#: seconds a kernel's interpreter may take to list its packages
LISTING_TIMEOUT = 60

#: run inside the kernel's interpreter: its Python, site-packages and distributions, as JSON
LISTING_SCRIPT = """
import importlib.metadata, json, platform, site, sys
packages = {}
for dist in importlib.metadata.distributions():
    name = dist.metadata["Name"]
    if name:
        packages[name.lower().replace("_", "-")] = dist.version
paths = [p for p in site.getsitepackages() + [site.getusersitepackages()] if p in sys.path]
print(json.dumps({
    "python": {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
    },
    "site_packages": paths,
    "packages": dict(sorted(packages.items())),
}))
"""

_memory: dict[str, dict[str, Any]] = {}
#: interpreter → its site-packages directories (learnt from its first listing)
_site_dirs: dict[str, list[str]] = {}
_lock = threading.Lock()


def kernel_interpreter(argv: list[str] | tuple[str, ...], language: str) -> str | None:
    """The Python a kernelspec starts (as jupyter_client resolves it), None for other languages."""
    if language.lower() != "python" or not argv:
        return None
    executable = argv[0]
    # jupyter_client starts "python"/"python3"/"python3.X" kernels with its own interpreter.
    major, minor = sys.version_info[:2]
    if executable in ("python", f"python{major}", f"python{major}.{minor}"):
        return sys.executable
    found = shutil.which(executable)
    # Not resolved further: a virtualenv's python is a symlink that must keep its own path.
    return os.path.abspath(found) if found else None


def fingerprint(interpreter: str, site_dirs: list[str]) -> str:
    """The interpreter's path and its site-packages' modification times, hashed."""
    parts = [os.path.abspath(interpreter)]
    for directory in site_dirs:
        try:
            parts.append(f"{directory}:{os.stat(directory).st_mtime_ns}")
        except OSError:
            parts.append(f"{directory}:missing")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def _list(interpreter: str) -> dict[str, Any] | None:
    try:
        out = subprocess.run(
            [interpreter, "-c", LISTING_SCRIPT],
            capture_output=True,
            text=True,
            timeout=LISTING_TIMEOUT,
            check=True,
        )
        return json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def _cache_file(cache_dir: Path | None, interpreter: str) -> Path | None:
    if cache_dir is None:
        return None
    name = hashlib.sha256(os.path.abspath(interpreter).encode()).hexdigest()[:32]
    return cache_dir / f"{name}.json"


def _read_cached(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_cached(path: Path | None, listing: dict[str, Any]) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(listing), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        pass  # a cache: the next run lists again


def environment(interpreter: str, cache_dir: Path | None = None) -> dict[str, Any] | None:
    """``{"python": {...}, "packages": {...}, "fingerprint": …}`` of a kernel's interpreter,
    from the cache when its site-packages are unchanged; None if it cannot be listed."""
    real = os.path.abspath(interpreter)
    cache_path = _cache_file(cache_dir, real)
    with _lock:
        site_dirs = _site_dirs.get(real)
        if site_dirs is not None:
            cached = _memory.get(fingerprint(real, site_dirs))
            if cached is not None:
                return cached
    stored = _read_cached(cache_path)
    if stored and stored.get("fingerprint") == fingerprint(real, stored.get("site_packages", [])):
        listing = stored
    else:
        listing = _list(interpreter)
        if listing is None:
            return None
        listing["fingerprint"] = fingerprint(real, listing["site_packages"])
        _write_cached(cache_path, listing)
    with _lock:
        _site_dirs[real] = listing["site_packages"]
        _memory[listing["fingerprint"]] = listing
    return listing
