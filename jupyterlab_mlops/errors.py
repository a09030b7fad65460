"""One error hierarchy for every layer.

Services raise these; handlers, the CLI and the magics turn them into a JSON error, an exit
code or a message. The HTTP status lives here, in one place, so no handler decides it.
"""

from __future__ import annotations

import errno


class MLOpsError(Exception):
    """Base class: a domain error with a stable machine-readable ``code``."""

    code = "mlops_error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(MLOpsError):
    """The caller sent something we cannot accept (bad parameter, bad payload, bad path)."""

    code = "invalid_input"
    status = 400


class NotFound(MLOpsError):
    code = "not_found"
    status = 404


class Forbidden(MLOpsError):
    """The request is understood but not allowed (e.g. a path outside the server root)."""

    code = "forbidden"
    status = 403


class Conflict(MLOpsError):
    """The request clashes with the current state (e.g. archiving a version in use)."""

    code = "conflict"
    status = 409


class GateFailed(Conflict):
    """A promotion was refused by the model's quality gate."""

    code = "gate_failed"


class IntegrityError(MLOpsError):
    """Stored bytes do not match their recorded sha256: refuse to use them."""

    code = "integrity_error"
    status = 422


class UntrustedArtifact(MLOpsError):
    """Loading would execute untrusted code (pickle, unknown skops types)."""

    code = "untrusted_artifact"
    status = 422


class PayloadTooLarge(MLOpsError):
    """A request body over ``c.MLOps.max_request_bytes``."""

    code = "payload_too_large"
    status = 413


class Unavailable(MLOpsError):
    """A backing engine (Docker, a Dask scheduler, a deployment) cannot be reached."""

    code = "unavailable"
    status = 503


class StoreUnavailable(Unavailable):
    """The metadata store cannot take the request now: busy (another process holds the write
    lock), read-only, or unreachable. Safe to retry after ``retry_after`` seconds."""

    code = "store_unavailable"

    def __init__(self, message: str, *, retry_after: int = 5, code: str | None = None):
        super().__init__(message, code=code, details={"retry_after": retry_after})
        self.retry_after = retry_after


class InsufficientStorage(MLOpsError):
    """The artifact store or the root has no room (or is read-only) for what we must write."""

    code = "insufficient_storage"
    status = 507


#: what a full, read-only or unwritable disk says: a 507, not a 500
NO_ROOM_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


def no_room(err: OSError, where: str) -> OSError | InsufficientStorage:
    """The :class:`InsufficientStorage` a failed write means, or ``err`` itself (a bug)."""
    if err.errno not in NO_ROOM_ERRNOS:
        return err
    return InsufficientStorage(f"cannot write {where}: {err.strerror}")
