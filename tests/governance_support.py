"""Three people on one server, for the governance tests.

:class:`TokenUsers` is jupyter-server test configuration (its ``IdentityProvider`` extension
point, as JupyterHub's or an OAuth provider would be): each test token names a user and their
groups. The server's own token still authenticates (as the account the server runs as).
"""

from __future__ import annotations

import json

from jupyter_server.auth.identity import IdentityProvider, User

ROLES = {"carol": "viewer", "bob": "editor", "group:ml-leads": "approver", "dana": "admin"}
PEOPLE = {
    "carol-token": ("carol", []),
    "bob-token": ("bob", ["data-science"]),
    "alice-token": ("alice", ["ml-leads"]),
}


class TokenUsers(IdentityProvider):
    """``Authorization: token <name>-token`` is that person; other tokens as jupyter-server."""

    def get_user(self, handler):
        person = PEOPLE.get(self.get_token(handler) or "")
        if person is None:
            return super().get_user(handler)
        name, groups = person
        handler._token_authenticated = True  # as jupyter-server marks token requests
        user = User(username=name, name=name, display_name=name.title())
        user.groups = groups  # as JupyterHub's identity gives them
        return user


def headers(person: str) -> dict[str, str]:
    return {"Authorization": f"token {person}-token"}


async def call(jp_fetch, person: str, *path, method="GET", body=None, params=None):
    """(status, JSON) of a request as ``person``, errors included."""
    from tornado.httpclient import HTTPClientError

    kwargs = {"method": method, "params": params or {}, "headers": headers(person)}
    if body is not None or method in ("POST", "PUT"):
        kwargs["body"] = json.dumps(body or {})
    try:
        response = await jp_fetch("mlops", "api", *path, **kwargs)
    except HTTPClientError as err:
        return err.code, json.loads(err.response.body)
    return response.code, json.loads(response.body)
