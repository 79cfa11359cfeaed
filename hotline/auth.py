"""Who is calling the API, and may they?

Tokens map to a role (and, for the ``department`` role, a department code).
The built-in tokens are generated into the secrets file (one per role);
further tokens are issued by the work-order store.  Every API route declares
the roles it admits with :func:`require_roles`; there is no route without one.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer


@dataclass(frozen=True)
class Principal:
    subject: str  # who: a user name, or "builtin:<role>"
    role: str
    department: str | None = None


TokenResolver = Callable[[str], "Principal | None"]


def builtin_resolver(api_tokens: dict[str, str]) -> TokenResolver:
    """Resolve the per-role tokens generated into secrets.json."""
    pairs = list(api_tokens.items())

    def resolve(token: str) -> Principal | None:
        for role, expected in pairs:
            if hmac.compare_digest(token.encode(), expected.encode()):
                return Principal(subject=f"builtin:{role}", role=role)
        return None

    return resolve


_bearer = HTTPBearer(auto_error=False)


def current_principal(request: Request, cred: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Principal:
    """The bearer token's principal.  Without a token, ``app.state.principal_without_token(request)``
    when the app sets one (the people's pages: a session cookie, :mod:`web.session`), else 401.
    A hook on the app, not ``app.dependency_overrides``: with any override set, FastAPI rebuilds
    every route's dependency tree on every request (0.3 ms of CPU each, measured)."""
    if cred is None or not cred.credentials:
        without: Callable[[Request], Principal] | None = getattr(request.app.state, "principal_without_token", None)
        if without is not None:
            return without(request)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    resolvers: Iterable[TokenResolver] = getattr(request.app.state, "token_resolvers", ())
    for resolve in resolvers:
        principal = resolve(cred.credentials)
        if principal is not None:
            request.state.principal = principal
            return principal
    raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown token", headers={"WWW-Authenticate": "Bearer"})


def require_roles(*roles: str) -> Callable[..., Principal]:
    """FastAPI dependency: the caller must hold one of ``roles``."""
    allowed = frozenset(roles)

    def check(principal: Principal = Depends(current_principal)) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {principal.role!r} may not do this")
        return principal

    return check
