"""Safe model serialisation: skops with an explicit allow-list, pickle only on explicit trust.

Saving records the types skops does not trust by default (``get_untrusted_types``) after checking
each against our allow-list of scikit-learn/NumPy/SciPy types; loading trusts exactly those
recorded types and refuses anything else, so a tampered or foreign file cannot run code.
Integrity (sha256) is checked by the artifact store before these functions see the bytes.
"""

from __future__ import annotations

import io
import json
import pickle
import zipfile
from typing import Any

from .errors import InvalidInput, UntrustedArtifact

SKOPS = "skops"
PICKLE = "pickle"
JOBLIB = "joblib"
SERIALIZATIONS = (SKOPS, PICKLE, JOBLIB)
FILE_SUFFIX = {SKOPS: "skops", PICKLE: "pkl", JOBLIB: "joblib"}

# Types outside skops' default trust that we accept: scikit-learn's own classes (trees,
# hist-gradient-boosting predictors, losses, ...) and NumPy/SciPy data containers.
SAFE_TYPE_PREFIXES = (
    "sklearn.",
    "numpy.",
    "scipy.sparse.",
    "scipy.special.",
    "scipy.stats.",
)
# Anything whose dotted name mentions these is refused even under a safe prefix: file access,
# code loading or test helpers have no business inside a fitted model.
UNSAFE_NAME_PARTS = (
    "load",
    "save",
    "fromfile",
    "tofile",
    "memmap",
    "ctypeslib",
    "testing",
    "f2py",
    "distutils",
    "exec",
    "eval",
    "system",
    "popen",
    "subprocess",
    "_pickle",
)


def is_safe_type(name: str) -> bool:
    """Whether a fully qualified type/function name is on the allow-list."""
    if not name.startswith(SAFE_TYPE_PREFIXES):
        return False
    lowered = name.lower()
    return not any(part in lowered for part in UNSAFE_NAME_PARTS)


def _untrusted_types(data: bytes) -> list[str]:
    import skops.io as sio

    try:
        return sorted(sio.get_untrusted_types(data=data))
    except Exception as err:  # not a zip, no schema.json, unknown protocol
        raise InvalidInput(f"not a readable skops file: {err}") from None


def dump(model: Any, *, trust_pickle: bool = False) -> tuple[bytes, str, list[str]]:
    """Serialise ``model`` → ``(bytes, serialization, trusted_types)``.

    scikit-learn estimators go through skops; anything skops cannot save, or that needs types
    outside the allow-list, is refused unless ``trust_pickle`` (then it is pickled, and loading
    it will require ``trust=True`` too).
    """
    from sklearn.base import BaseEstimator

    reason = "it is not a scikit-learn estimator"
    if isinstance(model, BaseEstimator):
        import skops.io as sio

        try:
            data = sio.dumps(model)
        except Exception as err:
            reason = f"skops cannot save it ({type(err).__name__}: {err})"
        else:
            untrusted = _untrusted_types(data)
            unsafe = [name for name in untrusted if not is_safe_type(name)]
            if not unsafe:
                return data, SKOPS, untrusted
            reason = f"it contains types outside the allow-list: {', '.join(unsafe)}"
    if not trust_pickle:
        raise UntrustedArtifact(
            f"cannot save {type(model).__module__}.{type(model).__qualname__} safely: {reason}. "
            "Pass trust_pickle=True to store it as a pickle (loading it will need trust=True)."
        )
    return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL), PICKLE, []


def check_loadable(
    data: bytes, serialization: str, trusted_types: list[str], *, trust: bool = False
) -> list[str]:
    """Refuse (``UntrustedArtifact``) what ``load`` would refuse; return the types to trust."""
    if serialization not in SERIALIZATIONS:
        raise InvalidInput(f"unknown serialization {serialization!r}")
    if serialization != SKOPS:
        if not trust:
            raise UntrustedArtifact(
                f"refusing to load a {serialization} artifact: unpickling can run arbitrary code. "
                "Pass trust=True only if you trust where it came from."
            )
        return []
    untrusted = _untrusted_types(data)
    if trust:
        return untrusted
    recorded = set(trusted_types or [])
    unexpected = [name for name in untrusted if name not in recorded]
    disallowed = [name for name in untrusted if not is_safe_type(name)]
    if unexpected or disallowed:
        problems = []
        if unexpected:
            problems.append(f"types not recorded at save time: {', '.join(unexpected)}")
        if disallowed:
            problems.append(f"types outside the allow-list: {', '.join(disallowed)}")
        raise UntrustedArtifact(
            "refusing to load the skops artifact: " + "; ".join(problems) + ". "
            "Pass trust=True only if you trust where it came from."
        )
    return untrusted


def load(data: bytes, serialization: str, trusted_types: list[str], *, trust: bool = False) -> Any:
    """Deserialise bytes (already sha256-verified by the caller)."""
    to_trust = check_loadable(data, serialization, trusted_types, trust=trust)
    if serialization == SKOPS:
        import skops.io as sio

        return sio.loads(data, trusted=to_trust)
    if serialization == JOBLIB:
        import joblib

        return joblib.load(io.BytesIO(data))
    return pickle.loads(data)  # noqa: S301 - only reached with trust=True


def detect(data: bytes, filename: str = "") -> str:
    """The serialization of a file produced elsewhere (a run's artifact)."""
    lowered = filename.lower()
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "schema.json" in archive.namelist():
                    return SKOPS
        except zipfile.BadZipFile:
            pass
    if lowered.endswith(".joblib"):
        return JOBLIB
    if lowered.endswith((".pkl", ".pickle")) or data[:1] == b"\x80":
        return PICKLE
    raise InvalidInput(
        f"{filename or 'the artifact'} is not a model file this registry understands "
        "(expected a .skops file, or a .pkl/.pickle/.joblib file with trust)"
    )


def skops_class_name(data: bytes) -> str:
    """The top-level class recorded in a skops file, read without loading it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError) as err:
        raise InvalidInput(f"not a readable skops file: {err}") from None
    return f"{schema.get('__module__', '')}.{schema.get('__class__', '')}".strip(".")
