"""``servicenow-adapter emulate servicenow --port 0 --auto-login USER`` as a real process: READY line, a whole
OAuth flow over HTTP, clean exit on SIGTERM."""

from __future__ import annotations

import re
import socket

import httpx
import pytest

from tests.integration.servicenow_emulator.flows import (
    CLIENT_ID,
    SCRIPTED_API,
    Pkce,
    authorize_params,
    bearer,
    code_exchange_body,
    query_of,
)
from tests.support.processes import adapter_command, running

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


def test_emulate_command_serves_a_complete_flow_and_exits_cleanly() -> None:
    command = adapter_command("emulate", "servicenow", "--port", "0", "--auto-login", "beth.anglin")
    with running(command) as emulator, httpx.Client(base_url=emulator.target, timeout=10.0) as http:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emulator.target)
        assert not emulator.target.endswith(":0")
        pkce = Pkce.new()

        authorized = http.get("/oauth_auth.do", params=authorize_params(emulator.target, pkce))
        code = query_of(authorized.headers["location"])["code"]
        body = code_exchange_body(emulator.target, code, pkce.verifier)
        tokens = http.post(f"{SCRIPTED_API}/request_tokens", content=body, headers=FORM).json()
        user = http.get(f"{SCRIPTED_API}/user_info", headers=bearer(tokens["access_token"])).json()["result"]
        for kind in ("access_token", "refresh_token"):
            revoke = f"client_id={CLIENT_ID}&token={tokens[kind]}&token_type_hint={kind}"
            assert http.post(f"{SCRIPTED_API}/revoke_token", content=revoke, headers=FORM).status_code == 200
        after = http.get(f"{SCRIPTED_API}/user_info", headers=bearer(tokens["access_token"]))
        live = http.get("/__emulator/tokens").json()

    assert authorized.status_code == 302
    assert user["user_name"] == "beth.anglin"
    assert after.status_code == 401
    assert live == {"access": [], "refresh": []}
    assert emulator.process.returncode == 0
    assert tokens["access_token"] not in emulator.stderr
    assert tokens["refresh_token"] not in emulator.stderr


def test_emulate_command_refuses_an_unknown_auto_login_user() -> None:
    command = adapter_command("emulate", "servicenow", "--port", "0", "--auto-login", "nobody.here")
    with pytest.raises(AssertionError, match="exited with 1") as refused, running(command):
        pass

    assert "nobody.here" in str(refused.value)


def test_emulate_command_reports_a_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        command = adapter_command("emulate", "servicenow", "--port", str(port))
        with pytest.raises(AssertionError, match="exited with 1") as refused, running(command):
            pass

    assert f"cannot listen on 127.0.0.1:{port}" in str(refused.value)
    assert "Traceback" not in str(refused.value)
