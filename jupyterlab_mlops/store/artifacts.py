"""Content-addressed artifact store: bytes are stored under their sha256 and verified on read.

Local directory by default; any fsspec URL (``s3://bucket/prefix``, ``gs://…``, ``memory://``)
works the same way, with ``storage_options`` handed to fsspec (an S3-compatible endpoint,
credentials; s3fs also reads the standard ``AWS_*`` variables). Identical content is stored once.
On an object store a write is one PUT, which becomes visible only when complete, so no reader sees
half an artifact; on a disk it is a temporary file renamed into place.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import fsspec

from ..errors import IntegrityError, InvalidInput, NotFound, Unavailable, no_room

CHUNK = 1024 * 1024


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_digest(sha256: str) -> str:
    sha256 = sha256.lower()
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise InvalidInput(f"not a sha256 digest: {sha256!r}")
    return sha256


class ArtifactStore:
    def __init__(self, root: str, storage_options: dict | None = None):
        self.root = root.rstrip("/")
        self.storage_options = dict(storage_options or {})
        try:
            self.fs, self._base = fsspec.core.url_to_fs(self.root, **self.storage_options)
        except (ImportError, ValueError) as err:
            raise Unavailable(f"artifact root {self.root!r} cannot be opened: {err}") from None
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        self.is_local = "file" in protocols or "local" in protocols
        if self.is_local:
            self.fs.makedirs(self._base, exist_ok=True)
        else:
            self._check_reachable()

    def _check_reachable(self) -> None:
        """Fail at start-up, with the reason, when the bucket is missing or the credentials are
        wrong: not with a 500 on the first run that stores something."""
        bucket = self._base.split("/", 1)[0]
        try:
            self.fs.ls(bucket, detail=False)
        except FileNotFoundError:
            raise Unavailable(
                f"artifact root {self.root!r}: the bucket {bucket!r} does not exist; create it "
                "or fix c.MLOps.artifact_root"
            ) from None
        except PermissionError as err:
            raise Unavailable(
                f"artifact root {self.root!r}: access denied ({err}); check the credentials "
                "(AWS_* variables or c.MLOps.artifact_storage_options)"
            ) from None
        except Exception as err:  # the client's own connection errors (botocore, gcsfs, …)
            raise Unavailable(f"artifact root {self.root!r} cannot be reached: {err}") from None

    def _path(self, sha256: str) -> str:
        sha256 = _check_digest(sha256)
        return f"{self._base}/sha256/{sha256[:2]}/{sha256}"

    def exists(self, sha256: str) -> bool:
        return self.fs.exists(self._path(sha256))

    def put_bytes(self, data: bytes) -> str:
        with self._writing():
            return self._put_bytes(data)

    def put_file(self, path: str | os.PathLike) -> str:
        """Store a file; the hash is computed while copying, so large files are read once."""
        with self._writing():
            return self._put_file(path)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A full or read-only artifact root is a 507 naming it (the temporary file is gone)."""
        try:
            yield
        except OSError as err:
            mapped = no_room(err, f"to the artifact store {self.root!r}")
            if mapped is err:
                raise
            raise mapped from err

    def _put_bytes(self, data: bytes) -> str:
        sha256 = sha256_bytes(data)
        target = self._path(sha256)
        if not self.fs.exists(target):
            if not self.is_local:
                self.fs.pipe_file(target, data)
                return sha256
            self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            tmp = f"{target}.tmp-{os.getpid()}-{os.urandom(4).hex()}"
            try:
                with self.fs.open(tmp, "wb") as f:
                    f.write(data)
                self.fs.mv(tmp, target)
            finally:
                self._discard(tmp)
        return sha256

    def _discard(self, tmp: str) -> None:
        """Remove a temporary file left by a failed write (nothing half-written stays)."""
        try:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)
        except OSError:
            pass

    def _put_file(self, path: str | os.PathLike) -> str:
        path = Path(path)
        if not path.is_file():
            raise NotFound(f"file not found: {path}")
        if not self.is_local:
            # Hash first, then one upload under the final key (no rename on object stores).
            sha256 = sha256_file(path)
            target = self._path(sha256)
            if not self.fs.exists(target):
                self.fs.put_file(str(path), target)
            return sha256
        digest = hashlib.sha256()
        tmp_dir = f"{self._base}/tmp"
        self.fs.makedirs(tmp_dir, exist_ok=True)
        tmp = f"{tmp_dir}/{os.getpid()}-{os.urandom(6).hex()}"
        try:
            with open(path, "rb") as src, self.fs.open(tmp, "wb") as dst:
                for block in iter(lambda: src.read(CHUNK), b""):
                    digest.update(block)
                    dst.write(block)
            sha256 = digest.hexdigest()
            target = self._path(sha256)
            if not self.fs.exists(target):
                self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
                self.fs.mv(tmp, target)
        finally:
            self._discard(tmp)
        return sha256

    def open(self, sha256: str) -> BinaryIO:
        """Open for reading *without* verification: use for streaming downloads only."""
        path = self._path(sha256)
        if not self.fs.exists(path):
            raise NotFound(f"artifact {sha256} is not in the store")
        return self.fs.open(path, "rb")

    def iter_chunks(self, sha256: str) -> Iterator[bytes]:
        with self.open(sha256) as f:
            yield from iter(lambda: f.read(CHUNK), b"")

    def get_bytes(self, sha256: str) -> bytes:
        """Read and verify: the returned bytes always hash to ``sha256``."""
        with self.open(sha256) as f:
            data = f.read()
        actual = sha256_bytes(data)
        if actual != sha256.lower():
            raise IntegrityError(
                f"artifact {sha256} is corrupt: its content hashes to {actual}; refusing to use it"
            )
        return data

    def verify(self, sha256: str) -> None:
        digest = hashlib.sha256()
        for block in self.iter_chunks(sha256):
            digest.update(block)
        if digest.hexdigest() != sha256.lower():
            raise IntegrityError(
                f"artifact {sha256} is corrupt: its content hashes to {digest.hexdigest()}"
            )

    def get_file(self, sha256: str, destination: str | os.PathLike) -> Path:
        """Copy a verified artifact to ``destination`` (atomically: no partial file on error)."""
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=destination.parent, prefix=".mlops-")
        try:
            with os.fdopen(fd, "wb") as dst:
                for block in self.iter_chunks(sha256):
                    digest.update(block)
                    dst.write(block)
            if digest.hexdigest() != sha256.lower():
                raise IntegrityError(
                    f"artifact {sha256} is corrupt: its content hashes to {digest.hexdigest()}"
                )
            shutil.move(tmp, destination)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return destination

    def local_path(self, sha256: str) -> Path | None:
        """Where the artifact lives on this disk, when the store is local (else ``None``)."""
        if not self.is_local:
            return None
        return Path(self._path(sha256))

    def size(self, sha256: str) -> int:
        return int(self.fs.size(self._path(sha256)))
