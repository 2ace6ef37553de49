"""OAuth 2.0 authorization code + PKCE (S256) for a public client, on authlib's httpx client.

Two token-endpoint modes:

* ``standard`` (default): the instance's own ``/oauth_token.do`` and ``/oauth_revoke_token.do``; needs only
  an app registry entry, no Store app and no CORS rule (we are not a browser).
* ``scripted``: the ``x_opfi_openfin/v1/integration`` scripted API the official package uses, for parity.

The authorize URL carries the parameters in the official package's order, with ``scope`` always present
and ``authFlowParams`` applied last. Unlike the official package we URL-encode form values, keep a rotated
refresh token, and refuse ``authFlowParams`` that would replace a protocol parameter (client_id,
redirect_uri, response_type, state, code_challenge, code_challenge_method): overriding those can only
break or weaken the flow. Every token is registered with the log redactor the moment it arrives.
"""

from __future__ import annotations

import secrets
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import authlib.deprecate
import httpx
import structlog

with warnings.catch_warnings():
    # authlib 1.9 prefers the "httpx2" fork and warns when it falls back to httpx, which is what we use.
    # Its deprecate module installs an "always" filter on import, so it is imported first, then overridden.
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from adapter.logging import register_secret
from adapter.servicenow.errors import (
    ApiRequestError,
    AuthorizationError,
    AuthTokenExpiredError,
    ParameterError,
)
from adapter.servicenow.http1 import network_failure

log = structlog.get_logger(__name__)

TokenEndpointMode = Literal["standard", "scripted"]
RETRIEVE_FAILED = "Failed to retrieve tokens"

SCRIPTED_API = "/api/x_opfi_openfin/v1/integration"
# Reference fields as plain sys_ids, the shape of the scripted API's user_info the official package reads.
STANDARD_USER_ENDPOINT = (
    "/api/now/table/sys_user?sysparm_query=sys_id=javascript:gs.getUserID()&sysparm_limit=1"
    "&sysparm_exclude_reference_link=true"
)
PROTECTED_AUTHORIZE_PARAMS = frozenset(
    {"client_id", "redirect_uri", "response_type", "state", "code_challenge", "code_challenge_method"}
)
_OFFICIAL_ORDER = (
    "client_id",
    "redirect_uri",
    "response_type",
    "state",
    "code_challenge",
    "code_challenge_method",
    "scope",
)


@dataclass(frozen=True, slots=True)
class OAuthEndpoints:
    """Where the flow goes on one instance: absolute authorize/token/revoke URLs, the instance redirect URI,
    and the endpoint (a path) that answers with the signed-in user."""

    authorize: str
    token: str
    revoke: str
    instance_redirect_uri: str
    user_endpoint: str

    @classmethod
    def for_instance(cls, origin: str, mode: TokenEndpointMode = "standard") -> OAuthEndpoints:
        """The fixed endpoints of ``origin`` (no discovery, as in the official package)."""
        if mode == "scripted":
            return cls(
                authorize=f"{origin}/oauth_auth.do",
                token=f"{origin}{SCRIPTED_API}/request_tokens",
                revoke=f"{origin}{SCRIPTED_API}/revoke_token",
                instance_redirect_uri=f"{origin}/oauth_redirect.do",
                user_endpoint=f"{SCRIPTED_API}/user_info",
            )
        return cls(
            authorize=f"{origin}/oauth_auth.do",
            token=f"{origin}/oauth_token.do",
            revoke=f"{origin}/oauth_revoke_token.do",
            instance_redirect_uri=f"{origin}/oauth_redirect.do",
            user_endpoint=STANDARD_USER_ENDPOINT,
        )


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """One authorize attempt: the URL to show the user and what is needed to finish it."""

    url: str
    state: str
    redirect_uri: str
    code_verifier: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class TokenSet:
    """Tokens held in memory; ``expires_at`` is on the connection's clock and ``lifetime`` is ``expires_in``
    (both None when the instance gave no ``expires_in``). ``repr`` never shows a token."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: float | None
    lifetime: float | None = None
    scope: str | None = None


def new_code_verifier() -> str:
    """128 lowercase hex characters, the official package's verifier format (RFC 7636 allows 43-128)."""
    return secrets.token_hex(64)


def new_state() -> str:
    """A random state value (the official package uses a random UUID; any unguessable value works)."""
    return secrets.token_urlsafe(24)


def normalise_auth_flow_params(params: Mapping[str, object] | None) -> dict[str, str]:
    """``authFlowParams`` as strings, refusing protocol keys and control characters."""
    out: dict[str, str] = {}
    for key, value in (params or {}).items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise ParameterError("Invalid authFlowParams: expected an object of strings")
        if key in PROTECTED_AUTHORIZE_PARAMS:
            raise ParameterError(
                f"Invalid authFlowParams: {key} is set by the adapter and cannot be overridden"
            )
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in key + value):
            raise ParameterError(f"Invalid authFlowParams: control characters in {key}")
        out[key] = value
    return out


class _TokenEndpointRefused(Exception):
    """A non-2xx answer of the token endpoint (internal; mapped to the official errors)."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"token endpoint answered {status}")
        self.status = status
        self.body = body


def _refuse_non_2xx(response: httpx.Response) -> httpx.Response:
    if not response.is_success:
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        raise _TokenEndpointRefused(response.status_code, body)
    return response


def _oauth_detail(body: Any) -> Any:
    """The OAuth error fields of a refusal, never anything else the body may hold."""
    if isinstance(body, dict):
        picked = {k: body[k] for k in ("error", "error_description") if k in body}
        return picked or None
    return None


class OAuthSession:
    """The OAuth client of one (instance, client id): builds authorize URLs and runs the grants.

    ``transport`` is the instance's pooled transport; ``clock`` turns ``expires_in`` into ``expires_at``.
    """

    def __init__(
        self,
        *,
        client_id: str,
        endpoints: OAuthEndpoints,
        transport: httpx.AsyncBaseTransport,
        timeout: httpx.Timeout,
        clock: Callable[[], float],
    ) -> None:
        self.client_id = client_id
        self.endpoints = endpoints
        self._clock = clock
        self._client = AsyncOAuth2Client(
            client_id=client_id,
            token_endpoint_auth_method="none",  # noqa: S106 - a public client has no secret
            revocation_endpoint_auth_method="none",
            code_challenge_method="S256",
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
        )
        self._client.register_compliance_hook("access_token_response", _refuse_non_2xx)
        self._client.register_compliance_hook("refresh_token_response", _refuse_non_2xx)

    def authorization_request(
        self,
        *,
        scope: Sequence[str],
        auth_flow_params: Mapping[str, object] | None,
        redirect_uri: str,
    ) -> AuthorizationRequest:
        """A fresh state and verifier, and the authorize URL built as the official package builds it."""
        extra = normalise_auth_flow_params(auth_flow_params)
        verifier = new_code_verifier()
        register_secret(verifier)
        url, state = self._client.create_authorization_url(
            self.endpoints.authorize,
            state=new_state(),
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            scope=" ".join(scope),
        )
        parts = urlsplit(url)
        given = dict(parse_qsl(parts.query, keep_blank_values=True))
        given.setdefault("scope", " ".join(scope))
        ordered = {key: given[key] for key in _OFFICIAL_ORDER}
        ordered.update(extra)
        query = urlencode(list(ordered.items()))
        return AuthorizationRequest(
            url=urlunsplit((parts.scheme, parts.netloc, parts.path, query, "")),
            state=state,
            redirect_uri=redirect_uri,
            code_verifier=verifier,
        )

    async def exchange_code(self, code: str, request: AuthorizationRequest) -> TokenSet:
        """The authorization_code grant with the PKCE verifier; ``AuthorizationError`` when refused."""
        register_secret(code)
        try:
            token = await self._client.fetch_token(
                self.endpoints.token,
                grant_type="authorization_code",
                code=code,
                code_verifier=request.code_verifier,
                redirect_uri=request.redirect_uri,
            )
            return self._token_set(token, previous_refresh=None)
        except _TokenEndpointRefused as refused:
            raise AuthorizationError(
                RETRIEVE_FAILED, status=refused.status, detail=_oauth_detail(refused.body)
            ) from None
        except Exception as error:  # I/O, authlib's OAuthError, malformed bodies
            unfixable = network_failure(error)
            message = f"{RETRIEVE_FAILED}: {unfixable}" if unfixable else RETRIEVE_FAILED
            raise AuthorizationError(message, detail=type(error).__name__) from None

    async def refresh(self, refresh_token: str) -> TokenSet:
        """The refresh_token grant; a rotated refresh token is kept.

        A refusal (4xx) is ``AuthTokenExpiredError``; a transient failure (5xx, I/O) is ``ApiRequestError``
        and leaves the tokens usable.
        """
        try:
            token = await self._client.refresh_token(self.endpoints.token, refresh_token=refresh_token)
            return self._token_set(token, previous_refresh=refresh_token)
        except _TokenEndpointRefused as refused:
            if refused.status >= 500:
                raise ApiRequestError(
                    "Failed to refresh access token",
                    status=refused.status,
                    detail=_oauth_detail(refused.body),
                ) from None
            # data as the official error.data (the token endpoint's answer), its OAuth error fields only.
            refusal = _oauth_detail(refused.body)
            raise AuthTokenExpiredError(
                "Failed to refresh access token", detail=refusal, data=refusal
            ) from None
        except httpx.HTTPError as error:
            unfixable = network_failure(error)
            raise ApiRequestError(unfixable or str(error) or type(error).__name__) from None
        except Exception as error:  # authlib's OAuthError (a 2xx carrying "error") and malformed bodies
            raise AuthTokenExpiredError(
                "Failed to refresh access token", detail=type(error).__name__
            ) from None

    async def revoke(self, token: str, token_type_hint: Literal["access_token", "refresh_token"]) -> bool:
        """Revoke one token; True when the instance answered 2xx. Never raises."""
        try:
            response = await self._client.revoke_token(
                self.endpoints.revoke,
                token=token,
                token_type_hint=token_type_hint,
                headers={"Accept": "application/json"},
            )
        except Exception as error:  # revocation is best effort: report, never raise
            log.warning("oauth.revoke_failed", hint=token_type_hint, error=type(error).__name__)
            return False
        if not response.is_success:
            log.warning("oauth.revoke_refused", hint=token_type_hint, status=response.status_code)
        return bool(response.is_success)

    def _token_set(self, token: Mapping[str, Any], previous_refresh: str | None) -> TokenSet:
        access = token.get("access_token")
        if not isinstance(access, str) or not access:
            raise ValueError("no access_token in the token response")
        register_secret(access)
        refresh = token.get("refresh_token")
        if isinstance(refresh, str) and refresh:
            register_secret(refresh)
        else:
            refresh = previous_refresh
        lifetime = _lifetime(token.get("expires_in"))
        scope = token.get("scope")
        return TokenSet(
            access_token=access,
            refresh_token=refresh,
            expires_at=None if lifetime is None else self._clock() + lifetime,
            lifetime=lifetime,
            scope=scope if isinstance(scope, str) else None,
        )

    async def aclose(self) -> None:
        """Release the client (the pooled transport stays with its registry)."""
        await self._client.aclose()


def _lifetime(expires_in: object) -> float | None:
    try:
        seconds = float(expires_in)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None
