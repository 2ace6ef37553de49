"""``servicenow-adapter emulate servicenow --port 0 --auto-login USER`` as a real process: READY line, a whole
OAuth flow over HTTP, clean exit on SIGTERM."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography import x509

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


def test_emulate_with_tls_serves_https_signed_by_the_ca_it_wrote(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    command = adapter_command(
        "emulate", "servicenow", "--port", "0", "--tls", "--tls-ca-out", str(ca), "--tls-name", "snow.test"
    )
    with running(command) as emulator:
        assert re.fullmatch(r"https://127\.0\.0\.1:\d+", emulator.target)
        trusting = ssl.create_default_context(cafile=str(ca))
        with httpx.Client(base_url=emulator.target, verify=trusting, timeout=10.0) as http:
            answer = http.get("/api/now/table/sys_user?sysparm_limit=1", auth=("admin", "admin"))
        assert answer.status_code == 200
        # Positive control of the trust: a client that does not trust the CA refuses the server.
        with (
            httpx.Client(base_url=emulator.target, timeout=10.0) as stranger,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            stranger.get("/api/now/table/sys_user?sysparm_limit=1")
        leaf = ssl.get_server_certificate(("127.0.0.1", int(emulator.target.rsplit(":", 1)[1])))
    names = x509.load_pem_x509_certificate(leaf.encode()).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert "snow.test" in names.value.get_values_for_type(x509.DNSName)
    assert emulator.process.returncode == 0


def test_emulate_with_half_the_tls_files_is_one_sentence_and_exit_code_2(tmp_path: Path) -> None:
    command = adapter_command("emulate", "servicenow", "--port", "0", "--tls-cert", str(tmp_path / "c.pem"))
    finished = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert finished.returncode == 2
    assert finished.stderr.strip().endswith(
        "--tls-cert and --tls-key go together: give both files, or --tls alone"
    )
