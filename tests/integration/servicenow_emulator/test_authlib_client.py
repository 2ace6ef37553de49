"""A stock OAuth 2.0 client (authlib's ``AsyncOAuth2Client`` on httpx) against the emulator, the way a real
client runs the code + PKCE flow: authorize, exchange, call, refresh, revoke."""

from __future__ import annotations

import secrets

import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from tests.integration.servicenow_emulator.flows import CLIENT_ID, SCRIPTED_API, redirect_uri
from tests.support.servicenow_emulator import ServiceNowEmulator


async def test_authlib_runs_code_pkce_from_authorize_to_revoke(auto_emulator: ServiceNowEmulator) -> None:
    url = auto_emulator.url
    verifier = secrets.token_urlsafe(48)
    async with AsyncOAuth2Client(
        client_id=CLIENT_ID,
        redirect_uri=redirect_uri(url),
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
        timeout=10.0,
    ) as client:
        authorization_url, state = client.create_authorization_url(
            f"{url}/oauth_auth.do", code_verifier=verifier
        )
        approved = await client.request("GET", authorization_url, withhold_token=True, follow_redirects=False)
        token = await client.fetch_token(
            f"{url}/oauth_token.do",
            authorization_response=approved.headers["location"],
            code_verifier=verifier,
        )
        me = await client.get(f"{url}{SCRIPTED_API}/user_info")

        await auto_emulator.advance_clock(1800)
        expired = await client.get(f"{url}{SCRIPTED_API}/user_info")
        refreshed = await client.refresh_token(f"{url}/oauth_token.do")
        again = await client.get(f"{url}{SCRIPTED_API}/user_info")

        revoked = await client.revoke_token(f"{url}/oauth_revoke_token.do", token=refreshed["refresh_token"])
        after = await client.get(f"{url}{SCRIPTED_API}/user_info")

    assert approved.status_code == 302
    assert state in approved.headers["location"]
    assert token["token_type"] == "Bearer"
    assert me.json()["result"]["user_name"] == "beth.anglin"
    assert expired.status_code == 401
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] == token["refresh_token"]
    assert again.status_code == 200
    assert revoked.status_code == 200
    assert after.status_code == 401
    assert await auto_emulator.tokens() == {"access": [], "refresh": []}


async def test_authlib_password_grant_works_for_a_seeded_user(emulator: ServiceNowEmulator) -> None:
    async with AsyncOAuth2Client(
        client_id=CLIENT_ID, token_endpoint_auth_method="none", timeout=10.0
    ) as client:
        await client.fetch_token(f"{emulator.url}/oauth_token.do", username="admin", password="admin")
        me = await client.get(f"{emulator.url}{SCRIPTED_API}/user_info")

    assert me.json()["result"]["user_name"] == "admin"


async def test_authlib_reports_the_instance_error_for_a_bad_password(emulator: ServiceNowEmulator) -> None:
    async with AsyncOAuth2Client(
        client_id=CLIENT_ID, token_endpoint_auth_method="none", timeout=10.0
    ) as client:
        with pytest.raises(OAuthError) as refused:
            await client.fetch_token(f"{emulator.url}/oauth_token.do", username="admin", password="wrong")

    assert refused.value.error == "server_error"
    assert refused.value.description == "access_denied"
