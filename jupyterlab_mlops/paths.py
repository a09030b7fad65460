"""Confining user-supplied paths to the server root."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import Forbidden, InvalidInput, NotFound


def resolve_in_root(root: str | os.PathLike, path: str, *, must_exist: bool = True) -> Path:
    """Resolve ``path`` (relative to ``root``, or absolute) and refuse anything outside ``root``.

    Symlinks are resolved first, so a link that points outside the root is refused too.
    """
    if not isinstance(path, str) or not path.strip():
        raise InvalidInput("a path is required")
    if "\x00" in path:
        raise InvalidInput("the path contains a NUL byte")
    root_path = Path(root).resolve()
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = root_path / candidate
    resolved = candidate.resolve()
    if resolved != root_path and root_path not in resolved.parents:
        raise Forbidden(f"path {path!r} is outside the server root")
    if must_exist and not resolved.exists():
        raise NotFound(f"no such file: {path}")
    return resolved


def relative_to_root(root: str | os.PathLike, path: str | os.PathLike) -> str:
    """The API form of a path: POSIX, relative to the root."""
    return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
