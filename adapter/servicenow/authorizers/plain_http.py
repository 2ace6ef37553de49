"""The ``http`` authorizer: follows the authorize redirects with plain HTTP until the redirect URI.

Meant for an instance that approves at once (the emulator's ``--auto-login``): no user is involved. Redirects
are followed only within the instance's origin; a login or consent page means a person is needed, which
this authorizer cannot be, and fails with a clear error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx

from adapter.servicenow.authorizers.base import (
    NOT_COMPLETED,
    TIMED_OUT,
    AuthorizationAttempt,
    FixedRedirectAttempt,
    code_from_redirect,
    matches_redirect,
)
from adapter.servicenow.errors import AuthorizationError
from adapter.servicenow.http1 import network_failure

MAX_HOPS = 10


class HttpAuthorizer:
    """Follows redirects from the authorize URL through the instance's own pooled transport (the one the
    connection passes in: same trust store, proxy and bounds as every other call); ``transport`` given
    here replaces it (tests)."""

    def __init__(self, *, timeout: float = 30.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._timeout = timeout
        self._transport = transport

    @asynccontextmanager
    async def attempt(
        self, instance_redirect_uri: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> AsyncIterator[AuthorizationAttempt]:
        """An attempt on the instance redirect URI."""
        yield _HttpAttempt(instance_redirect_uri, self._timeout, self._transport or transport)


class _HttpAttempt(FixedRedirectAttempt):
    def __init__(self, redirect_uri: str, timeout: float, transport: httpx.AsyncBaseTransport | None) -> None:
        super().__init__(redirect_uri)
        self._timeout = timeout
        self._transport = transport

    async def complete(self, authorize_url: str, state: str) -> str:
        origin = _origin(authorize_url)
        url = authorize_url
        async with httpx.AsyncClient(
            transport=self._transport, timeout=self._timeout, follow_redirects=False, trust_env=False
        ) as client:
            for _ in range(MAX_HOPS):
                try:
                    response = await client.get(url)
                except httpx.TimeoutException:
                    raise AuthorizationError(TIMED_OUT) from None
                except httpx.HTTPError as error:
                    unfixable = network_failure(error)
                    message = f"{NOT_COMPLETED}: {unfixable}" if unfixable else NOT_COMPLETED
                    raise AuthorizationError(message, detail=type(error).__name__) from None
                location = response.headers.get("location")
                if not response.is_redirect or not location:
                    raise AuthorizationError(
                        NOT_COMPLETED,
                        status=response.status_code,
                        detail="the instance did not approve at once (it wants an interactive login); "
                        "use the openfin-window or browser authorizer",
                    )
                url = str(response.url.join(location))
                if matches_redirect(url, self.redirect_uri):
                    return code_from_redirect(url, state)
                if _origin(url) != origin:
                    raise AuthorizationError(NOT_COMPLETED, detail="redirected away from the instance")
        raise AuthorizationError(NOT_COMPLETED, detail="too many redirects")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
