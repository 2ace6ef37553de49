"""An OAuth login in a headless application window, watched by node-adapter, on the ServiceNow emulator.

node-adapter plays the app (opens the authorize URL in a window and waits for ``url-changed`` to the redirect
URI, as @openfin/servicenow does); the test plays the user in front of the window with the emulator-only
``emulator-submit-form``; the code it yields must buy a token at the instance's token endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.conformance.conftest import NodeScripts
from tests.support.processes import adapter_command, running

WAIT = 20.0


@pytest.fixture
def servicenow() -> Iterator[str]:
    """The origin of a fresh ServiceNow emulator."""
    with running(adapter_command("emulate", "servicenow", "--port", "0")) as instance:
        yield instance.target


def _request(ws: ClientConnection, action: str, payload: dict[str, Any], message_id: int) -> dict[str, Any]:
    ws.send(json.dumps({"action": action, "payload": payload, "messageId": message_id}))
    while True:
        frame: dict[str, Any] = json.loads(ws.recv(timeout=WAIT))
        if frame.get("correlationId") == message_id:
            reply: dict[str, Any] = frame["payload"]
            return reply


def _act_as_user(address: str, window_uuid: str, fields: dict[str, str]) -> dict[str, Any]:
    """Connect as a plain websocket client and submit the window's login form, clicking Allow."""
    with connect(address, open_timeout=WAIT) as ws:
        ws.send(
            json.dumps(
                {
                    "action": "request-external-authorization",
                    "payload": {"uuid": "user", "type": "file-token"},
                }
            )
        )
        offer = json.loads(ws.recv(timeout=WAIT))["payload"]
        Path(offer["file"]).write_text(offer["token"], encoding="utf-8")
        ws.send(
            json.dumps({"action": "request-authorization", "payload": {"uuid": "user", "type": "file-token"}})
        )
        assert json.loads(ws.recv(timeout=WAIT))["payload"] == {"success": True}
        return _request(
            ws, "emulator-submit-form", {"uuid": window_uuid, "submit": "allow", "fields": fields}, 1
        )


def test_login_in_a_headless_window_yields_a_code_that_buys_a_token(
    runtime_emulator: str, servicenow: str, node_script: NodeScripts
) -> None:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect_uri = f"{servicenow}/oauth_redirect.do"
    query = {
        "response_type": "code",
        "client_id": "openfin-demo",
        "redirect_uri": redirect_uri,
        "state": "state-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    app = node_script.start(
        "runtime/oauth_window.mjs",
        {
            "address": runtime_emulator,
            "authorizeUrl": f"{servicenow}/oauth_auth.do?{urlencode(query)}",
            "redirectUri": redirect_uri,
        },
    )
    window_uuid = app.wait_for_event("opened")

    submitted = _act_as_user(runtime_emulator, window_uuid, {"user_name": "admin", "user_password": "admin"})
    result = app.result()
    token = httpx.post(
        f"{servicenow}/oauth_token.do",
        data={
            "grant_type": "authorization_code",
            "code": result["code"],
            "redirect_uri": redirect_uri,
            "client_id": "openfin-demo",
            "code_verifier": verifier,
        },
        timeout=WAIT,
    )

    assert submitted["success"] is True
    assert result["state"] == "state-123"
    assert result["hops"][-1] == redirect_uri
    assert token.status_code == 200, token.text
    assert token.json()["access_token"]
