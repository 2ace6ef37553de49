"""The instance's OAuth endpoints: ``/oauth_auth.do`` (login + consent), ``/oauth_redirect.do``,
``/oauth_token.do`` and ``/oauth_revoke_token.do``.

``exchange`` (the token endpoint's grant handling) is shared with the ``x_opfi_openfin`` scripted API, which
proxies it, so both answer from one token registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import structlog
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from adapter.emulators.servicenow import login_page
from adapter.emulators.servicenow.auth import UserDirectory
from adapter.emulators.servicenow.envelope import CONTENT_TYPE
from adapter.emulators.servicenow.tokens import GrantError, OAuthClient, TokenRegistry

log = structlog.get_logger(__name__)

MISSING_STATE = "Missing State parameter in request"
BAD_LOGIN = "User name or password invalid"
_AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
)


class AuthorizeError(Exception):
    """An authorize request the instance refuses with an error page (nothing is redirected)."""


@dataclass(frozen=True, slots=True)
class AuthorizeRequest:
    """A validated ``/oauth_auth.do`` request."""

    client: OAuthClient
    redirect_uri: str
    state: str
    scope: str
    code_challenge: str | None
    params: dict[str, str]


def instance_origin(request: Request) -> str:
    """The origin clients reach this instance at, as used in registered redirect URLs."""
    return f"{request.url.scheme}://{request.url.netloc}"


def parse_authorize(params: Mapping[str, str], tokens: TokenRegistry, instance: str) -> AuthorizeRequest:
    """Validate the authorize parameters as an instance does; ``AuthorizeError`` names the problem."""
    try:
        client = tokens.client(params.get("client_id"))
    except GrantError:
        raise AuthorizeError("Invalid client_id: the OAuth client is not registered or not active") from None
    if params.get("response_type") != "code":
        raise AuthorizeError("Unsupported response_type: only 'code' is supported")
    state = params.get("state", "")
    if not state:
        raise AuthorizeError(MISSING_STATE)
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or None
    if challenge is not None and method != "S256":
        raise AuthorizeError("Unsupported code_challenge_method: only S256 is supported")
    if client.public and challenge is None:
        raise AuthorizeError("A public client must send code_challenge and code_challenge_method=S256")
    return AuthorizeRequest(
        client=client,
        redirect_uri=client.resolve_redirect(params.get("redirect_uri"), instance),
        state=state,
        scope=params.get("scope", ""),
        code_challenge=challenge,
        params={key: params[key] for key in _AUTHORIZE_PARAMS if key in params},
    )


def with_query(url: str, **values: str) -> str:
    """``url`` with ``values`` appended to its query string."""
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(values)]))
    return urlunsplit(parts._replace(query=query))


def lenient_form(body: bytes) -> dict[str, str]:
    """A form body read whatever the Content-Type says, as the scripted API must
    (docs/emulators/servicenow.md)."""
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def oauth_failure() -> JSONResponse:
    """ServiceNow's answer to every failed token request."""
    return JSONResponse(
        {"error_description": "access_denied", "error": "server_error"},
        status_code=401,
        media_type=CONTENT_TYPE,
    )


def exchange(form: Mapping[str, str], tokens: TokenRegistry, users: UserDirectory) -> dict[str, str | int]:
    """Run one token-endpoint grant and return the response body; ``GrantError`` on any failure."""
    grant_type = form.get("grant_type")
    client = tokens.client(form.get("client_id"))
    secret = form.get("client_secret")
    if grant_type == "authorization_code":
        pair = tokens.redeem_code(
            client=client,
            code=form.get("code"),
            redirect_uri=form.get("redirect_uri"),
            code_verifier=form.get("code_verifier"),
            client_secret=secret,
        )
    elif grant_type == "refresh_token":
        pair = tokens.refresh(client=client, refresh_token=form.get("refresh_token"), client_secret=secret)
    elif grant_type == "password":
        caller = users.authenticate(form.get("username", ""), form.get("password", ""))
        if caller is None:
            raise GrantError("bad user name or password")
        pair = tokens.password(
            client=client, user_sys_id=caller.sys_id, scope=form.get("scope", ""), client_secret=secret
        )
    else:
        raise GrantError(f"unsupported grant_type {grant_type!r}")
    return pair.response(tokens.clock.timestamp())


def token_response(
    form: Mapping[str, str], tokens: TokenRegistry, users: UserDirectory, *, endpoint: str
) -> Response:
    """The HTTP answer of a token endpoint (``/oauth_token.do`` or the scripted API's ``request_tokens``)."""
    grant_type = form.get("grant_type")
    try:
        body = exchange(form, tokens, users)
    except GrantError as exc:
        log.info("oauth.token.refused", endpoint=endpoint, grant_type=grant_type, reason=str(exc))
        return oauth_failure()
    log.info("oauth.token.issued", endpoint=endpoint, grant_type=grant_type, client_id=form.get("client_id"))
    return JSONResponse(
        body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
    )


class OAuthEndpoints:
    """The ``/oauth_*.do`` pages and endpoints over one token registry and user directory."""

    def __init__(self, tokens: TokenRegistry, users: UserDirectory, *, auto_login: str | None = None) -> None:
        self._tokens = tokens
        self._users = users
        self._auto_login = auto_login

    def routes(self) -> list[BaseRoute]:
        """Starlette routes for the four endpoints."""
        return [
            Route("/oauth_auth.do", self.authorize, methods=["GET", "POST"]),
            Route("/oauth_redirect.do", self.redirect_landing, methods=["GET"]),
            Route("/oauth_token.do", self.token, methods=["POST"]),
            Route("/oauth_revoke_token.do", self.revoke, methods=["GET", "POST"]),
        ]

    async def authorize(self, request: Request) -> Response:
        """GET shows the login + consent form (or approves at once with auto-login); POST handles the form."""
        if request.method == "POST":
            params = lenient_form(await request.body())
        else:
            params = dict(request.query_params)
        try:
            authz = parse_authorize(params, self._tokens, instance_origin(request))
        except AuthorizeError as exc:
            log.info("oauth.authorize.refused", reason=str(exc))
            return HTMLResponse(login_page.error_page(str(exc)), status_code=400)

        if request.method == "GET":
            if self._auto_login is None:
                return HTMLResponse(
                    login_page.consent_form(client_name=authz.client.name, params=authz.params)
                )
            caller = self._users.caller(self._auto_login)
            if caller is None:
                return HTMLResponse(login_page.error_page(BAD_LOGIN), status_code=400)
            return self._approve(authz, caller.sys_id)

        if params.get("action") == "deny":
            log.info("oauth.authorize.denied", client_id=authz.client.client_id)
            target = with_query(
                authz.redirect_uri,
                error="access_denied",
                error_description="The user denied the request",
                state=authz.state,
            )
            return RedirectResponse(target, status_code=302)
        user_name = params.get("user_name", "")
        caller = self._users.authenticate(user_name, params.get("user_password", ""))
        if caller is None:
            page = login_page.consent_form(
                client_name=authz.client.name, params=authz.params, error=BAD_LOGIN, user_name=user_name
            )
            return HTMLResponse(page)
        return self._approve(authz, caller.sys_id)

    def _approve(self, authz: AuthorizeRequest, user_sys_id: str) -> Response:
        code = self._tokens.issue_code(
            authz.client,
            redirect_uri=authz.redirect_uri,
            user_sys_id=user_sys_id,
            scope=authz.scope,
            code_challenge=authz.code_challenge,
        )
        log.info("oauth.authorize.approved", client_id=authz.client.client_id)
        return RedirectResponse(with_query(authz.redirect_uri, code=code, state=authz.state), status_code=302)

    async def redirect_landing(self, request: Request) -> Response:
        """The instance's own landing page for the redirect; clients only read its URL."""
        return HTMLResponse(login_page.redirect_landing_page())

    async def token(self, request: Request) -> Response:
        """``POST /oauth_token.do``: the authorization_code (PKCE), refresh_token and password grants."""
        return token_response(
            lenient_form(await request.body()), self._tokens, self._users, endpoint="oauth_token.do"
        )

    async def revoke(self, request: Request) -> Response:
        """``/oauth_revoke_token.do?token=``: no authentication; marks the token (and a refresh token's access
        tokens) expired. Unknown tokens are answered the same way, so nothing can be probed."""
        values = dict(request.query_params)
        if request.method == "POST":
            values.update(lenient_form(await request.body()))
        revoked = self._tokens.revoke(values.get("token", ""))
        log.info("oauth.revoke", endpoint="oauth_revoke_token.do", revoked=revoked)
        return Response(status_code=200)
