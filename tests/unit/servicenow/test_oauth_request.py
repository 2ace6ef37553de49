"""The authorize URL as the official package builds it, and the grants' request shapes (MockTransport)."""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest

from adapter.servicenow.errors import (
    ApiRequestError,
    AuthorizationError,
    AuthTokenExpiredError,
    ParameterError,
)
from adapter.servicenow.oauth import AuthorizationRequest, OAuthEndpoints, OAuthSession

ORIGIN = "https://acme.service-now.com"
REDIRECT = f"{ORIGIN}/oauth_redirect.do"


def session(handler: httpx.MockTransport | None = None, mode: str = "standard") -> OAuthSession:
    return OAuthSession(
        client_id="openfin-demo",
        endpoints=OAuthEndpoints.for_instance(ORIGIN, "scripted" if mode == "scripted" else "standard"),
        transport=handler or httpx.MockTransport(lambda request: httpx.Response(500)),
        timeout=httpx.Timeout(5),
        clock=lambda: 1000.0,
    )


def authorize(scope: list[str], params: dict[str, object] | None = None) -> AuthorizationRequest:
    return session().authorization_request(scope=scope, auth_flow_params=params, redirect_uri=REDIRECT)


def test_authorize_url_has_the_official_parameters_in_the_official_order() -> None:
    request = authorize(["useraccount", "openid"])
    parts = urlsplit(request.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ORIGIN}/oauth_auth.do"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    assert [name for name, _ in pairs] == [
        "client_id",
        "redirect_uri",
        "response_type",
        "state",
        "code_challenge",
        "code_challenge_method",
        "scope",
    ]
    values = dict(pairs)
    assert values["client_id"] == "openfin-demo"
    assert values["redirect_uri"] == REDIRECT
    assert values["response_type"] == "code"
    assert values["state"] == request.state
    assert values["code_challenge_method"] == "S256"
    assert values["scope"] == "useraccount openid"
    assert "scope=useraccount+openid" in parts.query


def test_code_challenge_is_the_s256_of_a_128_hex_verifier() -> None:
    request = authorize([])
    assert re.fullmatch(r"[0-9a-f]{128}", request.code_verifier)
    digest = hashlib.sha256(request.code_verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert parse_qs(urlsplit(request.url).query)["code_challenge"] == [expected]


def test_scope_is_present_even_when_empty() -> None:
    assert "&scope=" in authorize([]).url or authorize([]).url.endswith("scope=")


def test_each_attempt_has_its_own_state_and_verifier() -> None:
    first, second = authorize([]), authorize([])
    assert first.state != second.state
    assert first.code_verifier != second.code_verifier


def test_auth_flow_params_come_last_and_may_override_scope() -> None:
    pairs = parse_qsl(urlsplit(authorize(["a"], {"prompt": "login", "scope": "b"}).url).query)
    assert pairs[-1] == ("prompt", "login")
    assert dict(pairs)["scope"] == "b"


@pytest.mark.parametrize("key", ["client_id", "redirect_uri", "state", "code_challenge", "response_type"])
def test_auth_flow_params_cannot_replace_protocol_parameters(key: str) -> None:
    with pytest.raises(ParameterError, match=key):
        authorize([], {key: "x"})


def test_auth_flow_params_must_be_strings() -> None:
    with pytest.raises(ParameterError):
        authorize([], {"prompt": 1})


async def test_code_exchange_posts_a_pkce_form_without_secret_to_the_standard_endpoint() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"access_token": "A" * 20, "refresh_token": "R" * 20, "expires_in": 1799}
        )

    oauth = session(httpx.MockTransport(handler))
    request = oauth.authorization_request(scope=[], auth_flow_params=None, redirect_uri=REDIRECT)
    tokens = await oauth.exchange_code("CODE+x&y", request)
    assert (tokens.access_token, tokens.refresh_token, tokens.expires_at) == ("A" * 20, "R" * 20, 2799.0)
    assert str(seen[0].url) == f"{ORIGIN}/oauth_token.do"
    assert "authorization" not in seen[0].headers
    assert seen[0].headers["content-type"].startswith("application/x-www-form-urlencoded")
    form = dict(parse_qsl(seen[0].content.decode()))
    assert form == {
        "grant_type": "authorization_code",
        "client_id": "openfin-demo",
        "code": "CODE+x&y",
        "code_verifier": request.code_verifier,
        "redirect_uri": REDIRECT,
    }
    assert "A" * 20 not in repr(tokens)


async def test_scripted_mode_uses_the_x_opfi_openfin_endpoints() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return httpx.Response(200, json={"access_token": "A" * 20, "refresh_token": "R" * 20})

    oauth = session(httpx.MockTransport(handler), mode="scripted")
    request = oauth.authorization_request(scope=[], auth_flow_params=None, redirect_uri=REDIRECT)
    await oauth.exchange_code("code-1234", request)
    await oauth.refresh("R" * 20)
    assert await oauth.revoke("A" * 20, "access_token")
    assert seen == [
        "POST /api/x_opfi_openfin/v1/integration/request_tokens",
        "POST /api/x_opfi_openfin/v1/integration/request_tokens",
        "POST /api/x_opfi_openfin/v1/integration/revoke_token",
    ]


async def test_a_refused_code_exchange_is_the_official_authorization_error() -> None:
    oauth = session(
        httpx.MockTransport(
            lambda r: httpx.Response(
                401, json={"error_description": "access_denied", "error": "server_error"}
            )
        )
    )
    request = oauth.authorization_request(scope=[], auth_flow_params=None, redirect_uri=REDIRECT)
    with pytest.raises(AuthorizationError, match=r"^Failed to retrieve tokens$"):
        await oauth.exchange_code("code-1234", request)


async def test_a_refused_refresh_is_auth_token_expired_but_a_5xx_is_transient() -> None:
    refused = session(
        httpx.MockTransport(
            lambda r: httpx.Response(
                401, json={"error_description": "access_denied", "error": "server_error"}
            )
        )
    )
    with pytest.raises(AuthTokenExpiredError, match=r"^Failed to refresh access token$") as caught:
        await refused.refresh("R" * 20)
    assert caught.value.status is None
    assert caught.value.detail == {"error_description": "access_denied", "error": "server_error"}
    # As the official error.data: the token endpoint's answer (its OAuth error fields only).
    assert caught.value.data == {"error_description": "access_denied", "error": "server_error"}
    unavailable = session(httpx.MockTransport(lambda r: httpx.Response(503, text="<html>down</html>")))
    with pytest.raises(ApiRequestError):
        await unavailable.refresh("R" * 20)


async def test_a_rotated_refresh_token_is_kept_and_a_missing_one_is_carried_over() -> None:
    answers = iter([{"access_token": "A2" * 10, "refresh_token": "R2" * 10}, {"access_token": "A3" * 10}])
    oauth = session(httpx.MockTransport(lambda r: httpx.Response(200, json=next(answers))))
    assert (await oauth.refresh("R1" * 10)).refresh_token == "R2" * 10
    assert (await oauth.refresh("R2" * 10)).refresh_token == "R2" * 10


async def test_revocation_reports_failure_without_raising() -> None:
    oauth = session(httpx.MockTransport(lambda r: httpx.Response(500)))
    assert await oauth.revoke("A" * 20, "access_token") is False

    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    assert await session(httpx.MockTransport(broken)).revoke("A" * 20, "refresh_token") is False


async def test_a_token_response_without_access_token_is_a_failed_grant() -> None:
    oauth = session(httpx.MockTransport(lambda r: httpx.Response(200, json={"token_type": "Bearer"})))
    request = oauth.authorization_request(scope=[], auth_flow_params=None, redirect_uri=REDIRECT)
    with pytest.raises(AuthorizationError, match=r"^Failed to retrieve tokens$"):
        await oauth.exchange_code("code-1234", request)
    with pytest.raises(AuthTokenExpiredError, match=r"^Failed to refresh access token$"):
        await oauth.refresh("R" * 20)
