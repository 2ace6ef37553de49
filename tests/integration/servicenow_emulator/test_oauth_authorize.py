"""``/oauth_auth.do``: the login + consent form, auto-login, and the requests an instance refuses."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx

from tests.integration.servicenow_emulator.flows import (
    CLIENT_ID,
    SCRIPTED_API,
    Pkce,
    authorize,
    bearer,
    code_exchange_body,
    login,
    post_form,
    query_of,
    redirect_uri,
)
from tests.support.servicenow_emulator import ServiceNowEmulator


class FormReader(HTMLParser):
    """Collects the inputs and buttons of the page's form, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.method = ""
        self.hidden: dict[str, str] = {}
        self.inputs: set[str] = set()
        self.buttons: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.action, self.method = attributes["action"], attributes["method"]
        elif tag == "input" and attributes.get("type") == "hidden":
            self.hidden[attributes["name"]] = attributes["value"]
        elif tag == "input":
            self.inputs.add(attributes["name"])
        elif tag == "button":
            self.buttons[attributes["id"]] = attributes["value"]


async def user_name_of(http: httpx.AsyncClient, url: str, location: str, pkce: Pkce) -> str:
    """Exchange the code in ``location`` and ask ``user_info`` who the tokens belong to."""
    code = query_of(location)["code"]
    tokens = await post_form(http, f"{url}/oauth_token.do", code_exchange_body(url, code, pkce.verifier))
    info = await http.get(f"{url}{SCRIPTED_API}/user_info", headers=bearer(tokens.json()["access_token"]))
    user_name: str = info.json()["result"]["user_name"]
    return user_name


async def test_auto_login_redirects_at_once_with_code_and_state(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    pkce = Pkce.new()
    response = await authorize(http, auto_emulator.url, pkce, state="a1b2-c3")

    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(redirect_uri(auto_emulator.url) + "?")
    assert query_of(location)["state"] == "a1b2-c3"
    assert await user_name_of(http, auto_emulator.url, location, pkce) == "beth.anglin"


async def test_login_page_is_a_form_with_allow_and_deny_posting_back(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    pkce = Pkce.new()
    response = await authorize(http, emulator.url, pkce, state="s-42")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    form = FormReader()
    form.feed(response.text)
    assert (form.action, form.method) == ("/oauth_auth.do", "post")
    assert {"user_name", "user_password"} <= form.inputs
    assert form.buttons == {"allow": "allow", "deny": "deny"}
    assert form.hidden["state"] == "s-42"
    assert form.hidden["code_challenge"] == pkce.challenge
    assert form.hidden["client_id"] == CLIENT_ID


async def test_submitting_the_login_form_signs_in_that_user(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    pkce = Pkce.new()
    response = await login(http, emulator.url, pkce, user="admin", password="admin")

    assert response.status_code == 302
    assert query_of(response.headers["location"])["state"] == "state-1"
    assert await user_name_of(http, emulator.url, response.headers["location"], pkce) == "admin"


async def test_wrong_password_shows_the_form_again_with_an_error(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    response = await login(http, emulator.url, Pkce.new(), user="admin", password="wrong")

    assert response.status_code == 200
    assert "User name or password invalid" in response.text
    assert 'id="oauth_consent"' in response.text


async def test_deny_redirects_with_access_denied_and_the_state(
    emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    response = await login(http, emulator.url, Pkce.new(), user="", password="", action="deny")

    assert response.status_code == 302
    query = query_of(response.headers["location"])
    assert response.headers["location"].startswith(redirect_uri(emulator.url) + "?")
    assert query["error"] == "access_denied"
    assert query["state"] == "state-1"
    assert "code" not in query


async def test_missing_state_is_refused_with_the_instance_message(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    response = await authorize(http, auto_emulator.url, Pkce.new(), state="")

    assert response.status_code == 400
    assert "Missing State parameter in request" in response.text
    assert "location" not in response.headers


async def test_public_client_without_pkce_is_refused(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    response = await authorize(
        http, auto_emulator.url, Pkce.new(), code_challenge="", code_challenge_method=""
    )

    assert response.status_code == 400
    assert "code_challenge" in response.text


async def test_plain_pkce_method_is_refused(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    response = await authorize(http, auto_emulator.url, Pkce.new(), code_challenge_method="plain")

    assert response.status_code == 400
    assert "S256" in response.text


async def test_unknown_client_is_refused(auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient) -> None:
    response = await authorize(http, auto_emulator.url, Pkce.new(), client_id="someone-else")

    assert response.status_code == 400
    assert "client_id" in response.text


async def test_unregistered_redirect_uri_never_receives_the_code(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    pkce = Pkce.new()
    response = await authorize(http, auto_emulator.url, pkce, redirect_uri="http://127.0.0.1:1/steal")

    assert response.status_code == 302
    assert response.headers["location"].startswith(redirect_uri(auto_emulator.url) + "?")
    code = query_of(response.headers["location"])["code"]
    wrong = f"grant_type=authorization_code&client_id={CLIENT_ID}&code={code}&code_verifier={pkce.verifier}"
    exchanged = await post_form(
        http, f"{auto_emulator.url}/oauth_token.do", wrong + "&redirect_uri=http://127.0.0.1:1/steal"
    )
    assert exchanged.status_code == 401


async def test_redirect_landing_page_is_html(
    auto_emulator: ServiceNowEmulator, http: httpx.AsyncClient
) -> None:
    response = await http.get(f"{redirect_uri(auto_emulator.url)}?code=x&state=y")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
