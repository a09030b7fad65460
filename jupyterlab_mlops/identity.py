"""Who is acting: the one answer every record's ``user``/``by`` field and every role check use.

- REST calls act as jupyter-server's authenticated user (``handler.current_user``; under
  JupyterHub, the hub user). With a shared token jupyter-server invents an anonymous user per
  browser ("Anonymous Io"), which identifies nobody: the token belongs to the account the
  server runs as, so that account is used.
- Code in kernels, runs, the CLI and ``jupyter mlops scheduler`` acts as ``JUPYTERHUB_USER``
  when it is set (JupyterHub sets it for each user's server and its kernels), else the OS
  account.

Groups (for ``c.MLOps.roles = {"group:ml-leads": "approver"}``) come from the identity where it
carries them: jupyter-server's own ``User`` has none; JupyterHub's identity provider keeps the
hub's user model (``user.hub_user["groups"]``), and any identity provider may set a ``groups``
attribute. Processes outside the server (kernels, the CLI) know no groups.

An :class:`Identity` is a ``str`` (the username) that also carries its groups, so it goes
wherever a ``user: str`` went (records, audit entries, events) and the services can still check
group roles.
"""

from __future__ import annotations

import getpass
import os
from typing import Any


class Identity(str):
    """A username with the groups its identity provider gave it."""

    groups: tuple[str, ...]

    def __new__(cls, username: str, groups: Any = ()) -> Identity:
        identity = super().__new__(cls, username)
        identity.groups = tuple(sorted({str(g) for g in groups or ()}))
        return identity

    @property
    def username(self) -> str:
        return str.__str__(self)

    def __reduce__(self):
        return (Identity, (self.username, self.groups))


def os_account() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return os.environ.get("USER", "unknown")


def process_identity() -> Identity:
    """Who code outside a REST request acts as: ``JUPYTERHUB_USER``, else the OS account."""
    return Identity(os.environ.get("JUPYTERHUB_USER") or os_account())


def server_user_identity(user: Any) -> Identity:
    """The identity of jupyter-server's ``current_user`` (see the module docstring)."""
    name = getattr(user, "name", "") or ""
    username = getattr(user, "username", None)
    if not username or name.startswith("Anonymous "):
        return process_identity()
    groups = getattr(user, "groups", None)
    if groups is None:
        hub_user = getattr(user, "hub_user", None)
        groups = hub_user.get("groups") if isinstance(hub_user, dict) else None
    return Identity(username, groups or ())


def as_identity(user: Any) -> Identity:
    """``user`` as an ``Identity``: an empty user is the process's own identity (what services
    called without one, such as a workflow acting on its own, act as)."""
    if isinstance(user, Identity):
        return user
    if not user:
        return process_identity()
    return Identity(str(user))
