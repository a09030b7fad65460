"""Model references: ``churn@production``, ``churn/3``, ``churn:3``, ``("churn", 3)``, ``churn``.

One parser so the REST API, the CLI, the magics, serving and drift all accept the same forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidInput

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,254}$")
ALIAS_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")
# Words that read like references rather than aliases.
RESERVED_ALIASES = frozenset({"latest"})


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference: exactly one of ``version``/``alias`` or neither (latest)."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        if self.version is not None:
            return f"{self.name}/{self.version}"
        return self.name


def check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InvalidInput(
            f"invalid model name {name!r}: use letters, digits, '_', '-' or '.', "
            "starting with a letter or digit (at most 255 characters)"
        )
    return name


def check_alias(alias: object) -> str:
    if not isinstance(alias, str) or not ALIAS_RE.match(alias):
        raise InvalidInput(
            f"invalid alias {alias!r}: use letters, digits, '_' or '-', starting with a letter "
            "(at most 64 characters)"
        )
    if alias in RESERVED_ALIASES:
        raise InvalidInput(f"{alias!r} is reserved and cannot be used as an alias")
    return alias


def check_version(version: object) -> int:
    if isinstance(version, bool):
        raise InvalidInput(f"invalid version {version!r}: expected a positive integer")
    if isinstance(version, str) and version.strip().isdigit():
        version = int(version)
    if not isinstance(version, int) or version < 1:
        raise InvalidInput(f"invalid version {version!r}: expected a positive integer")
    return version


def parse_ref(ref: str | tuple | ModelRef, version: int | str | None = None) -> ModelRef:
    """Parse any accepted form into a ``ModelRef``; a clear 400 for anything else."""
    if isinstance(ref, ModelRef):
        return ref
    if isinstance(ref, tuple):
        if len(ref) != 2:
            raise InvalidInput(f"a model reference tuple is (name, version), got {ref!r}")
        ref, version = ref
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInput("a model reference is required, e.g. 'churn@production' or 'churn/3'")
    text = ref.strip()
    if version is not None:
        return ModelRef(check_name(text), version=check_version(version))
    if "@" in text:
        name, alias = text.split("@", 1)
        return ModelRef(check_name(name), alias=check_alias(alias))
    for separator in ("/", ":"):
        if separator in text:
            name, number = text.split(separator, 1)
            if not number.isdigit():
                raise InvalidInput(
                    f"invalid model reference {ref!r}: the version after {separator!r} "
                    "must be a positive integer"
                )
            return ModelRef(check_name(name), version=check_version(number))
    return ModelRef(check_name(text))
