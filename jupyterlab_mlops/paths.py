"""Confining user-supplied paths, and every write we make, to the server root.

Reading: :func:`resolve_in_root` resolves symlinks first, so a link pointing outside the root is
refused like any outside path. Writing: :func:`write_in_root` and :func:`make_dirs_in_root`
re-walk the resolved path one component at a time with ``O_NOFOLLOW`` from an open descriptor of
the root, so a directory swapped for a symlink between the check and the write (the race a
running notebook can win) makes the write fail with a 403 instead of landing outside the root.
Names that no file system takes (over 255 bytes, NUL bytes) and symlink loops are a 400.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterable
from pathlib import Path

from .errors import Forbidden, InvalidInput, NotFound, no_room

NAME_MAX = 255


def _check_text(path: str, field: str) -> None:
    if not isinstance(path, str) or not path.strip():
        raise InvalidInput(f"{field}: a path is required", details={"field": field})
    if "\x00" in path:
        raise InvalidInput(f"{field}: the path contains a NUL byte", details={"field": field})
    for part in Path(path).parts:
        if len(os.fsencode(part)) > NAME_MAX:
            raise InvalidInput(
                f"{field}: path component {part[:40]!r}… is longer than {NAME_MAX} bytes",
                details={"field": field},
            )


def resolve_in_root(
    root: str | os.PathLike,
    path: str,
    *,
    must_exist: bool = True,
    regular_file: bool = False,
    field: str = "path",
) -> Path:
    """Resolve ``path`` (relative to ``root``, or absolute) and refuse anything outside ``root``.

    Symlinks are resolved first, so a link that points outside the root is refused too.
    ``regular_file`` also refuses directories, FIFOs and devices. Every 400 names ``field``
    (the request field the path came from).
    """
    _check_text(path, field)
    root_path = Path(root).resolve()
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = root_path / candidate
    try:
        resolved = candidate.resolve()
        exists = resolved.exists()
    except RuntimeError:  # Python < 3.13 reports a symlink loop this way
        raise InvalidInput(
            f"{field}: {path!r} is a symlink loop", details={"field": field}
        ) from None
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise InvalidInput(
                f"{field}: {path!r} is a symlink loop", details={"field": field}
            ) from None
        raise InvalidInput(
            f"{field}: {path!r} cannot be used: {err.strerror}", details={"field": field}
        ) from None
    if resolved != root_path and root_path not in resolved.parents:
        raise Forbidden(f"path {path!r} is outside the server root")
    if must_exist and not exists:
        raise NotFound(f"no such file: {path}")
    if regular_file and exists and not stat.S_ISREG(resolved.stat().st_mode):
        raise InvalidInput(f"{field}: {path!r} is not a regular file", details={"field": field})
    return resolved


def relative_to_root(root: str | os.PathLike, path: str | os.PathLike) -> str:
    """The API form of a path: POSIX, relative to the root."""
    return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()


# -- writing --------------------------------------------------------------------------------------

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _open_dirs(root_path: Path, parts: tuple[str, ...], *, create: bool, shown: str) -> int:
    """An fd of ``root/parts…``, walked without following any symlink (created if asked)."""
    fd = os.open(root_path, _DIR_FLAGS)
    try:
        for part in parts:
            try:
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
                next_fd = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.fchmod(next_fd, 0o755)
            except OSError as err:
                if err.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                    raise Forbidden(
                        f"{shown!r}: {part!r} became a symlink or a file while writing; "
                        "refusing to write outside the server root"
                    ) from None
                raise
            os.close(fd)
            fd = next_fd
        return fd
    except BaseException:
        os.close(fd)
        raise


def locate_in_root(
    root: str | os.PathLike, path: str | os.PathLike, *, field: str = "path"
) -> tuple[Path, tuple[str, ...]]:
    """(the resolved root, the components of ``path`` below it): where a write is to go,
    checked now; :func:`write_at` checks again, component by component, while writing."""
    root_path = Path(root).resolve()
    shown = os.fspath(path)
    _check_text(shown, field)
    candidate = Path(os.path.normpath(root_path / shown))
    if candidate == root_path:
        return root_path, ()
    # The last component is not followed: a symlink there is replaced, never written through.
    parent = resolve_in_root(root_path, str(candidate.parent), must_exist=False, field=field)
    return root_path, (*parent.relative_to(root_path).parts, candidate.name)


def make_dirs_in_root(root: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Create ``path`` (and its parents) inside the root; refuse symlinks that leave it."""
    root_path, parts = locate_in_root(root, path)
    os.close(_open_dirs(root_path, parts, create=True, shown=os.fspath(path)))
    return root_path.joinpath(*parts)


def write_in_root(
    root: str | os.PathLike, path: str | os.PathLike, data: bytes, *, mode: int = 0o644
) -> Path:
    """Write ``data`` to ``path`` inside the root, atomically (temporary file + rename).

    The directories are walked with ``O_NOFOLLOW`` from the root's descriptor and the file is
    created with ``O_EXCL | O_NOFOLLOW`` next to its final name, so no symlink — one planted
    before the call or swapped in during it — can send the bytes outside the root. An existing
    file (or symlink) at ``path`` is replaced, never written through.
    """
    root_path, parts = locate_in_root(root, path)
    return write_at(root_path, parts, data, mode=mode, shown=os.fspath(path))


def write_at(
    root_path: Path,
    parts: tuple[str, ...],
    data: bytes | Iterable[bytes],
    *,
    mode: int = 0o644,
    shown: str = "",
) -> Path:
    """Write to ``root_path/parts…`` (from :func:`locate_in_root`) without following symlinks.

    ``data`` is bytes or an iterable of chunks (a large artifact streamed); if the iterable
    raises, nothing is left behind. The file gets exactly ``mode`` (the umask aside)."""
    shown = shown or "/".join(parts)
    if not parts:
        raise InvalidInput("cannot write to the server root itself", details={"field": "path"})
    try:
        return _write_at(root_path, parts, data, mode=mode, shown=shown)
    except OSError as err:
        mapped = no_room(err, shown)
        if mapped is err:
            raise
        raise mapped from err


def _write_at(
    root_path: Path, parts: tuple[str, ...], data: bytes | Iterable[bytes], *, mode: int, shown: str
) -> Path:
    directory = _open_dirs(root_path, parts[:-1], create=True, shown=shown)
    name = parts[-1]
    temporary = f".{name[:200]}.{secrets.token_hex(4)}.tmp"
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(temporary, flags, mode, dir_fd=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), mode)
                for chunk in [data] if isinstance(data, bytes | bytearray) else data:
                    handle.write(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.rename(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
        except BaseException:
            try:
                os.unlink(temporary, dir_fd=directory)
            except FileNotFoundError:
                pass
            raise
        return root_path.joinpath(*parts)
    finally:
        os.close(directory)


class ConfinedDir:
    """Writes below ``root/sub…`` that no symlink sends elsewhere: a tree written file by file
    (a serving bundle, a docker build context) where a link planted in it — or swapped in for
    one of its directories while it is written — is a 403 before any byte lands outside."""

    def __init__(self, root: str | os.PathLike, path: str | os.PathLike):
        self.root, self.parts = locate_in_root(root, path)
        self.shown = os.fspath(path)
        self.path = self.root.joinpath(*self.parts)

    def write(self, relative: str | os.PathLike, data: bytes | Iterable[bytes]) -> Path:
        """Write ``data`` to ``relative`` (POSIX, below this directory) atomically."""
        parts = Path(relative).parts
        if not parts or any(part in ("..", "/") for part in parts):
            raise InvalidInput(f"{relative!r} is not below {self.shown}")
        return write_at(self.root, (*self.parts, *parts), data, shown=f"{self.shown}/{relative}")

    def make_dirs(self, relative: str | os.PathLike = "") -> Path:
        parts = (*self.parts, *Path(relative).parts)
        os.close(_open_dirs(self.root, parts, create=True, shown=self.shown))
        return self.root.joinpath(*parts)
