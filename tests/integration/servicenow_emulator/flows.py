"""OAuth steps as clients perform them against the emulator, shared by the emulator's tests."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

CLIENT_ID = "openfin-demo"
SCRIPTED_API = "/api/x_opfi_openfin/v1/integration"
OAUTH_FAILURE = {"error_description": "access_denied", "error": "server_error"}
NOT_AUTHENTICATED = {
    "error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"},
    "status": "failure",
}


@dataclass(frozen=True)
class Pkce:
    """A verifier shaped as the official package makes it (128 lowercase hex) and its S256 challenge."""

    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_hex(64)
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def redirect_uri(url: str) -> str:
    """The registered redirect URL of the demo client on the emulator at ``url``."""
    return f"{url}/oauth_redirect.do"


def authorize_params(url: str, pkce: Pkce, *, state: str = "state-1", **overrides: str) -> dict[str, str]:
    """The query of an authorize request as ``@openfin/servicenow`` builds it."""
    params = {
        "client_id": CLIENT_ID,
        "redirect_uri": redirect_uri(url),
        "response_type": "code",
        "state": state,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "scope": "",
    }
    params.update(overrides)
    return params


def query_of(location: str) -> dict[str, str]:
    """The query parameters of a redirect target."""
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


async def authorize(client: httpx.AsyncClient, url: str, pkce: Pkce, **overrides: str) -> httpx.Response:
    """GET ``/oauth_auth.do`` without following the redirect."""
    return await client.get(f"{url}/oauth_auth.do", params=authorize_params(url, pkce, **overrides))


async def login(
    client: httpx.AsyncClient, url: str, pkce: Pkce, *, user: str, password: str, action: str = "allow"
) -> httpx.Response:
    """Submit the login + consent form as a browser would (the authorize params in hidden fields)."""
    form = {**authorize_params(url, pkce), "user_name": user, "user_password": password, "action": action}
    return await client.post(f"{url}/oauth_auth.do", data=form)


def code_exchange_body(url: str, code: str, verifier: str) -> str:
    """The exact, unencoded body the official package posts to ``request_tokens``."""
    return (
        f"grant_type=authorization_code&client_id={CLIENT_ID}&code={code}"
        f"&code_verifier={verifier}&redirect_uri={redirect_uri(url)}"
    )


async def post_form(client: httpx.AsyncClient, endpoint: str, body: str | dict[str, str]) -> httpx.Response:
    """POST a form body (a pre-built string is sent as is) with the official package's headers."""
    content = body if isinstance(body, str) else urlencode(body)
    headers = {"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"}
    return await client.post(endpoint, content=content, headers=headers)


async def tokens_by_code(
    client: httpx.AsyncClient, url: str, *, endpoint: str = "/oauth_token.do"
) -> dict[str, str | int]:
    """Run the whole code + PKCE flow on an auto-login emulator and return the token response."""
    pkce = Pkce.new()
    response = await authorize(client, url, pkce)
    assert response.status_code == 302, response.text
    code = query_of(response.headers["location"])["code"]
    exchanged = await post_form(client, f"{url}{endpoint}", code_exchange_body(url, code, pkce.verifier))
    assert exchanged.status_code == 200, exchanged.text
    result: dict[str, str | int] = exchanged.json()
    return result


async def refresh_grant(client: httpx.AsyncClient, url: str, refresh_token: object) -> httpx.Response:
    """``POST /oauth_token.do`` with the refresh_token grant of the public client."""
    return await post_form(
        client,
        f"{url}/oauth_token.do",
        {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": str(refresh_token)},
    )


def bearer(token: str | int) -> dict[str, str]:
    """An Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}
