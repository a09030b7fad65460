"""Roles and what they permit, checked by the services (so REST, the CLI, the magics and
notebook code all obey the same rules).

``c.MLOps.roles`` maps usernames and ``group:<name>`` to a role; a user with none has
``c.MLOps.default_role`` (``admin`` by default, so a single user's lab behaves as if there were
no roles). A user in several groups gets the strongest of their roles; a role given to the
username itself wins over the groups'.

- ``viewer``: read everything;
- ``editor``: run, schedule, register, deploy, set aliases that are not protected, monitor;
- ``approver``: an editor who also approves or rejects promotions to protected aliases (and
  moves them directly);
- ``admin``: also deletes models, versions and deployments, and changes quality gates.

A refusal is :class:`~jupyterlab_mlops.errors.Forbidden` (403; CLI exit code 2) raised before
anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import Forbidden, InvalidInput
from .identity import Identity, as_identity

ROLES = ("viewer", "editor", "approver", "admin")

# permission -> what the refusal says the user may not do
PERMISSIONS = {
    "read": "read the registry",
    "run": "run notebooks",
    "schedule": "schedule notebooks",
    "register": "register models",
    "deploy": "deploy models",
    "set_alias": "set aliases",
    "monitor": "manage monitors",
    "approve": "approve promotions to protected aliases",
    "delete": "delete models, versions or deployments",
    "manage_gates": "change quality gates",
}

_EDITOR = ("read", "run", "schedule", "register", "deploy", "set_alias", "monitor")
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "viewer": ("read",),
    "editor": _EDITOR,
    "approver": (*_EDITOR, "approve"),
    "admin": (*_EDITOR, "approve", "delete", "manage_gates"),
}
GROUP_PREFIX = "group:"


def check_role(role: Any, where: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"{where}: unknown role {role!r} (roles: {', '.join(ROLES)})")
    return role


@dataclass(frozen=True)
class Access:
    """The configured roles; the default allows everything (one user's lab)."""

    roles: Mapping[str, str] = field(default_factory=dict)
    default_role: str = "admin"
    protected_aliases: tuple[str, ...] = ("production",)

    def __post_init__(self) -> None:
        for who, role in self.roles.items():
            check_role(role, f"c.MLOps.roles[{who!r}]")
        check_role(self.default_role, "c.MLOps.default_role")

    def role_of(self, user: Any) -> str:
        identity = as_identity(user)
        if identity.username in self.roles:
            return self.roles[identity.username]
        group_roles = [
            self.roles[f"{GROUP_PREFIX}{g}"]
            for g in identity.groups
            if f"{GROUP_PREFIX}{g}" in self.roles
        ]
        if group_roles:
            return max(group_roles, key=ROLES.index)
        return self.default_role

    def permissions(self, user: Any) -> list[str]:
        return list(ROLE_PERMISSIONS[self.role_of(user)])

    def allows(self, user: Any, permission: str) -> bool:
        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
        return permission in ROLE_PERMISSIONS[self.role_of(user)]

    def require(self, user: Any, permission: str, what: str | None = None) -> Identity:
        """The acting identity, or ``Forbidden`` naming who, their role and what they may not do."""
        identity = as_identity(user)
        if not self.allows(identity, permission):
            raise Forbidden(
                f"{identity.username} ({self.role_of(identity)}) may not "
                f"{what or PERMISSIONS[permission]}"
            )
        return identity

    def is_protected(self, alias: str | None) -> bool:
        return alias is not None and alias in self.protected_aliases

    def me(self, user: Any) -> dict[str, Any]:
        identity = as_identity(user)
        return {
            "username": identity.username,
            "groups": list(identity.groups),
            "role": self.role_of(identity),
            "permissions": self.permissions(identity),
            "protected_aliases": list(self.protected_aliases),
        }


ALLOW_ALL = Access()
