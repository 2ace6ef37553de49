"""The authorizer interface and the pure reading of the redirect that ends an authorization.

An authorizer is how the user consents: it shows (or fetches) the authorize URL and returns the
authorization code carried by the redirect. Because some authorizers choose their own redirect URI (a
loopback listener), an authorization happens inside ``attempt()``, which yields the redirect URI to put in
the authorize URL and then completes with the code. Errors use the official package's messages.
"""

from __future__ import annotations

import hmac
from contextlib import AbstractAsyncContextManager
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import httpx

from adapter.servicenow.errors import AuthorizationError

DEFAULT_TIMEOUT = 300.0

STATE_MISMATCH = "State mismatch"
CODE_MISSING = "Authorization code missing"
AUTHORIZATION_ERROR = "Authorization error"
TIMED_OUT = "Authorization timed out"
NOT_COMPLETED = "Failed to complete authorization code flow"


class AuthorizationAttempt(Protocol):
    """One consent round: ``redirect_uri`` goes into the authorize URL; ``complete`` returns the code."""

    @property
    def redirect_uri(self) -> str:
        """The redirect URI this attempt listens for."""
        ...

    async def complete(self, authorize_url: str, state: str) -> str:
        """Show or follow ``authorize_url`` and return the code; ``AuthorizationError`` otherwise."""
        ...


class Authorizer(Protocol):
    """How the user consents, chosen by setting: ``openfin-window``, ``browser`` or ``http``."""

    def attempt(
        self, instance_redirect_uri: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> AbstractAsyncContextManager[AuthorizationAttempt]:
        """Prepare one attempt; ``instance_redirect_uri`` is ``<origin>/oauth_redirect.do``.

        ``transport`` is the instance's pooled transport (trust store, proxy, bounds), for an authorizer
        that itself talks HTTP to the instance."""
        ...


class FixedRedirectAttempt:
    """Base for authorizers that use the instance's own redirect URI."""

    def __init__(self, redirect_uri: str) -> None:
        self._redirect_uri = redirect_uri

    @property
    def redirect_uri(self) -> str:
        """The instance redirect URI."""
        return self._redirect_uri


def matches_redirect(url: str, redirect_uri: str) -> bool:
    """The official rule, a case-insensitive prefix test, tightened to end at the path's end."""
    lowered, prefix = url.lower(), redirect_uri.lower()
    return lowered.startswith(prefix) and lowered[len(prefix) : len(prefix) + 1] in ("", "?", "#")


def code_from_redirect(url: str, expected_state: str) -> str:
    """The code carried by a redirect URL, checked in the official order: error, state, code."""
    params = parse_qs(urlsplit(url).query, keep_blank_values=True)
    if "error" in params:
        detail = {key: params[key][0] for key in ("error", "error_description") if key in params}
        raise AuthorizationError(AUTHORIZATION_ERROR, detail=detail)
    state = params.get("state", [""])[0]
    if not hmac.compare_digest(state.encode(), expected_state.encode()):
        raise AuthorizationError(STATE_MISMATCH)
    code = params.get("code", [""])[0]
    if not code:
        raise AuthorizationError(CODE_MISSING)
    return code
