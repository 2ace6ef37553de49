"""The client against the emulator as its own process (``servicenow-adapter emulate servicenow``)."""

from __future__ import annotations

from adapter.servicenow.authorizers import HttpAuthorizer
from adapter.servicenow.manager import ConnectionManager
from tests.integration.servicenow_client.conftest import CASES, CLIENT_ID
from tests.support.processes import adapter_command, running


async def test_http_authorizer_signs_in_to_an_auto_login_emulator_process() -> None:
    command = adapter_command("emulate", "servicenow", "--port", "0", "--auto-login", "beth.anglin")
    with running(command) as emulator:
        manager = ConnectionManager(HttpAuthorizer())
        try:
            acquired = await manager.acquire("app-1", emulator.target, CLIENT_ID)
            assert acquired.connection.current_user["user_name"] == "beth.anglin"
            response = await acquired.connection.execute(f"{CASES}?sysparm_limit=2&sysparm_fields=number")
            assert response.status == 200
            assert isinstance(response.data, list)
            assert len(response.data) == 2
            assert (await manager.release("app-1", acquired.connection.key)).revoked
        finally:
            await manager.aclose()
