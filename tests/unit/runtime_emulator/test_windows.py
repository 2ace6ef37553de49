"""Applications and headless windows: redirects hop by hop, cookies, forms, closing events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapter.emulators.runtime.auth import TokenFiles
from adapter.emulators.runtime.html_forms import parse_page
from adapter.emulators.runtime.runtime import Runtime, RuntimeSettings
from tests.support.waiting import eventually
from tests.unit.runtime_emulator.conftest import Party, file_token_handshake

LOGIN_PAGE = """<html><head><title>Log in</title></head><body>
<form id="login" method="post" action="/login.do">
  <input type="hidden" name="state" value="s1">
  <input name="user_name"><input type="password" name="user_password">
  <input type="checkbox" name="remember"><select name="lang"><option value="en">en</option></select>
  <button type="submit" name="action" value="allow" id="allow">Allow</button>
  <button name="action" value="deny">Deny</button>
</form></body></html>"""


def _site(request: httpx.Request) -> httpx.Response:
    path = request.url.path
    if path == "/authorize":
        return httpx.Response(302, headers={"Location": "/login", "Set-Cookie": "JSESSIONID=j1; Path=/"})
    if path == "/login":
        return httpx.Response(200, html=LOGIN_PAGE)
    if path == "/login.do":
        form = dict(httpx.QueryParams(request.content.decode()))
        cookie = request.headers.get("Cookie", "")
        if form.get("action") == "deny":
            return httpx.Response(302, headers={"Location": "/oauth_redirect.do?error=access_denied"})
        if form.get("user_name") == "admin" and "JSESSIONID=j1" in cookie:
            return httpx.Response(
                302, headers={"Location": f"/oauth_redirect.do?code=c1&state={form['state']}"}
            )
        return httpx.Response(401, html="<html><title>Denied</title></html>")
    if path == "/oauth_redirect.do":
        return httpx.Response(200, html="<html><title>Done</title></html>")
    if path == "/custom":
        return httpx.Response(302, headers={"Location": "myapp://callback?code=9"})
    raise httpx.ConnectError("unreachable", request=request)


@pytest.fixture
async def site_runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    """A runtime whose windows reach a fake site through httpx.MockTransport."""
    core = Runtime(
        RuntimeSettings(), token_files=TokenFiles(tmp_path), http_transport=httpx.MockTransport(_site)
    )
    try:
        yield core
    finally:
        await core.aclose()


async def _reply(party: Party, message_id: int) -> dict[str, Any]:
    await eventually(
        lambda: any(f.get("correlationId") == message_id for f in party.sink.frames),
        f"the reply to {message_id}",
    )
    payload: dict[str, Any] = party.sink.reply_to(message_id)["payload"]
    return payload


async def _open(runtime: Runtime, url: str) -> Party:
    """Create, subscribe to the popup's events and run it; returns once its navigation settled."""
    opener = file_token_handshake(runtime, "opener")
    opener.request("create-application", {"uuid": "popup", "name": "popup", "url": url, "autoShow": False})
    for kind in ("url-changed", "did-fail-load", "closing", "closed"):
        opener.request(
            "subscribe-to-desktop-event", {"topic": "window", "type": kind, "uuid": "popup", "name": "popup"}
        )
    opener.request("subscribe-to-desktop-event", {"topic": "application", "type": "closed", "uuid": "popup"})
    opener.request("run-application", {"uuid": "popup"})
    async with asyncio.timeout(5):
        await runtime.applications.settle("popup")
    return opener


def _events(party: Party, kind: str) -> list[dict[str, Any]]:
    return [e for e in party.sink.pushes("process-desktop-event") if e["type"] == kind]


async def test_run_application_loads_the_url_and_reports_each_hop(site_runtime: Runtime) -> None:
    opener = await _open(site_runtime, "https://sn.example/authorize")

    hops = _events(opener, "url-changed")

    assert [(e["url"], e["httpResponseCode"]) for e in hops] == [
        ("https://sn.example/authorize", 302),
        ("https://sn.example/login", 200),
    ]
    assert all(e["isInPage"] is False and e["uuid"] == e["name"] == "popup" for e in hops)
    assert opener.request("get-window-info", {"uuid": "popup", "name": "popup"})["data"]["title"] == "Log in"


async def test_submitted_form_posts_defaults_and_fields_with_the_session_cookie(
    site_runtime: Runtime,
) -> None:
    opener = await _open(site_runtime, "https://sn.example/authorize")
    opener.sink.take()

    message_id = opener.send(
        "emulator-submit-form",
        {
            "uuid": "popup",
            "name": "popup",
            "form": "login",
            "fields": {"user_name": "admin", "user_password": "pw"},
        },
    )
    reply = await _reply(opener, message_id)

    assert reply == {
        "success": True,
        "data": {"url": "https://sn.example/oauth_redirect.do?code=c1&state=s1", "httpResponseCode": 200},
    }
    assert [e["url"] for e in _events(opener, "url-changed")] == [
        "https://sn.example/login.do",
        "https://sn.example/oauth_redirect.do?code=c1&state=s1",
    ]


async def test_submit_clicks_the_named_button(site_runtime: Runtime) -> None:
    opener = await _open(site_runtime, "https://sn.example/authorize")

    message_id = opener.send("emulator-submit-form", {"uuid": "popup", "submit": "deny", "fields": {}})
    reply = await _reply(opener, message_id)

    assert reply["data"]["url"] == "https://sn.example/oauth_redirect.do?error=access_denied"


async def test_submit_with_an_unknown_button_is_refused(site_runtime: Runtime) -> None:
    opener = await _open(site_runtime, "https://sn.example/authorize")

    reply = await _reply(opener, opener.send("emulator-submit-form", {"uuid": "popup", "submit": "maybe"}))

    assert reply == {"success": False, "reason": "The form has no submit button 'maybe'"}


async def test_submitting_without_a_form_on_the_page_is_refused(site_runtime: Runtime) -> None:
    opener = await _open(site_runtime, "https://sn.example/oauth_redirect.do")

    reply = await _reply(opener, opener.send("emulator-submit-form", {"uuid": "popup", "fields": {}}))

    assert reply == {"success": False, "reason": "The window's page has no form"}


async def test_navigate_window_is_answered_once_the_page_loaded(site_runtime: Runtime) -> None:
    opener = await _open(site_runtime, "https://sn.example/login")

    message_id = opener.send(
        "navigate-window", {"uuid": "popup", "name": "popup", "url": "https://sn.example/authorize"}
    )
    reply = await _reply(opener, message_id)

    assert reply == {"success": True}
    info = opener.request("get-window-info", {"uuid": "popup", "name": "popup"})["data"]
    assert info["url"] == "https://sn.example/login"


async def test_unreachable_host_emits_did_fail_load(site_runtime: Runtime) -> None:
    opener = await _open(site_runtime, "https://down.example/")

    [failure] = _events(opener, "did-fail-load")

    assert failure["validatedURL"] == "https://down.example/"
    assert failure["isMainFrame"] is True


async def test_redirect_to_a_custom_scheme_changes_the_url_without_loading(site_runtime: Runtime) -> None:
    opener = await _open(site_runtime, "https://sn.example/custom")

    assert [e["url"] for e in _events(opener, "url-changed")][-1] == "myapp://callback?code=9"


async def test_close_window_emits_closing_closed_and_application_closed(site_runtime: Runtime) -> None:
    opener = await _open(site_runtime, "https://sn.example/login")
    opener.sink.take()

    assert opener.request("close-window", {"uuid": "popup", "name": "popup", "force": True}) == {
        "success": True
    }

    assert [(e["topic"], e["type"]) for e in opener.sink.pushes("process-desktop-event")] == [
        ("window", "closing"),
        ("window", "closed"),
        ("application", "closed"),
    ]
    assert opener.request("get-window-info", {"uuid": "popup", "name": "popup"})["success"] is False


async def test_destroyed_application_frees_its_uuid(site_runtime: Runtime) -> None:
    opener = await _open(site_runtime, "https://sn.example/login")
    opener.request("close-application", {"uuid": "popup", "force": True})

    assert opener.request("destroy-application", {"uuid": "popup"}) == {"success": True}

    assert opener.request("create-application", {"uuid": "popup", "url": "https://sn.example/login"})[
        "success"
    ]


async def test_creating_an_application_twice_is_refused(site_runtime: Runtime) -> None:
    opener = file_token_handshake(site_runtime, "opener")
    opener.request("create-application", {"uuid": "popup", "url": "https://sn.example/login"})

    reply = opener.request("create-application", {"uuid": "popup", "url": "https://sn.example/login"})

    assert reply == {"success": False, "reason": "Application with specified UUID already exists: popup"}


async def test_a_window_created_hidden_is_shown_on_request(site_runtime: Runtime) -> None:
    opener = await _open(site_runtime, "https://sn.example/authorize")
    popup = {"uuid": "popup", "name": "popup"}
    opener.request("subscribe-to-desktop-event", {"topic": "window", "type": "shown", **popup})
    assert opener.request("is-window-showing", popup)["data"] is False

    assert opener.request("show-window", popup)["success"] is True

    assert opener.request("is-window-showing", popup)["data"] is True
    assert len(_events(opener, "shown")) == 1
    assert opener.request("show-window", {"uuid": "gone", "name": "gone"})["success"] is False


async def test_open_url_with_browser_is_recorded(runtime: Runtime) -> None:
    party = file_token_handshake(runtime, "app")

    assert party.request("open-url-with-browser", {"url": "https://sn.example/x"}) == {"success": True}

    assert party.request("emulator-get-browser-urls")["data"] == ["https://sn.example/x"]


def test_page_parser_reads_defaults_a_browser_would_send() -> None:
    title, [form] = parse_page(LOGIN_PAGE)

    assert title == "Log in"
    assert (form.id, form.method, form.action) == ("login", "POST", "/login.do")
    assert form.fields == {"state": "s1", "user_name": "", "user_password": "", "lang": "en"}
    assert [(b.name, b.value, b.id) for b in form.buttons] == [
        ("action", "allow", "allow"),
        ("action", "deny", None),
    ]


async def test_a_child_window_is_ready_once_its_redirects_ended_and_closes_with_its_owner(
    site_runtime: Runtime,
) -> None:
    owner = file_token_handshake(site_runtime, "owner")
    watcher = file_token_handshake(site_runtime, "watcher")
    for kind in ("fire-constructor-callback", "url-changed"):
        owner.request(
            "subscribe-to-desktop-event", {"topic": "window", "type": kind, "uuid": "owner", "name": "auth"}
        )
    watcher.request("subscribe-to-desktop-event", {"topic": "system", "type": "window-closed"})

    created = await _reply(
        owner, owner.send("emulator-create-window", {"name": "auth", "url": "https://sn.example/authorize"})
    )
    duplicate = await _reply(
        owner, owner.send("emulator-create-window", {"name": "auth", "url": "about:blank"})
    )

    assert created["success"] is True
    events = owner.sink.pushes("process-desktop-event")
    # Both hops were loaded before the constructor callback, which comes last.
    assert [e["type"] for e in events] == ["url-changed", "url-changed", "fire-constructor-callback"]
    assert events[-1]["success"] is True
    assert events[-1]["data"] == {"httpResponseCode": 200, "apiInjected": False}
    assert duplicate["success"] is False
    assert watcher.request("get-child-windows", {"uuid": "owner"})["data"] == ["auth"]
    assert watcher.request("get-child-windows", {"uuid": "watcher"})["data"] == []

    owner.close()

    assert watcher.request("get-child-windows", {"uuid": "owner"})["data"] == []
    closed = [e for e in watcher.sink.pushes("process-desktop-event") if e["type"] == "window-closed"]
    assert [(e["uuid"], e["name"]) for e in closed] == [("owner", "auth")]


async def test_bounds_ignore_values_that_are_not_finite_numbers(site_runtime: Runtime) -> None:
    owner = file_token_handshake(site_runtime, "owner")
    await _reply(
        owner, owner.send("emulator-create-window", {"name": "w", "url": "about:blank", "defaultWidth": 300})
    )
    window = {"uuid": "owner", "name": "w"}

    # JSON from a client may carry Infinity or NaN (the standard library parses them): ignored, not a crash.
    owner.send_raw({"action": "set-window-bounds", "payload": {**window, "left": "x"}, "messageId": 90})
    owner.runtime.receive(
        owner.connection,
        '{"action": "set-window-bounds", "messageId": 91,'
        ' "payload": {"uuid": "owner", "name": "w", "top": Infinity, "left": 5}}',
    )

    assert owner.sink.reply_to(90)["payload"]["success"] is True
    assert owner.sink.reply_to(91)["payload"]["success"] is True
    assert owner.request("get-window-bounds", window)["data"] == {
        "left": 5, "top": 10, "width": 300, "height": 500, "right": 305, "bottom": 510
    }  # fmt: skip
