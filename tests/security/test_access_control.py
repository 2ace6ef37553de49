"""Access control: only ``--allow-app`` apps get in, on every action, and a share belongs to its app.

End to end with node-adapter apps for the connection refusal and the share rules; the per-action check
through the channel actions themselves, since the runtime never lets a refused app dispatch at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapter.bridge.access import AccessPolicy
from adapter.bridge.actions import ServiceNowActions
from adapter.bridge.messages import ConnectPayload, DisconnectPayload, RequestPayload, StatusPayload
from adapter.openfin import ActionError, ClientIdentity
from adapter.servicenow.authorizers import HttpAuthorizer
from adapter.servicenow.connection import Connection, ConnectionKey
from adapter.servicenow.manager import ConnectionManager
from adapter.servicenow.response import ApiResponse
from tests.conformance.adapter.conftest import AppError
from tests.reliability.desktop import CASES, Desktop, desktop

ALLOWED = ["allowed-crm", "allowed-phone"]


@pytest.fixture(scope="module")
def stack() -> Iterator[Desktop]:
    with desktop(*(arg for uuid in ALLOWED for arg in ("--allow-app", uuid))) as running:
        yield running


def test_an_app_outside_the_allow_list_is_refused_at_connect(stack: Desktop) -> None:
    refused = stack.refused_app("intruder")
    assert refused["message"].startswith("AccessDeniedError: "), refused
    assert "intruder" in refused["message"]


def test_an_app_cannot_release_a_share_it_does_not_hold(stack: Desktop) -> None:
    crm, phone = stack.app("allowed-crm"), stack.app("allowed-phone")
    crm.connect()
    tokens = stack.tokens()
    with pytest.raises(AppError) as refused:
        phone.dispatch("servicenow.disconnect", {"instanceUrl": stack.instance})
    assert refused.value.name == "NotConnectedError"
    assert stack.tokens() == tokens
    assert crm.request(f"{CASES}?sysparm_limit=1")["status"] == 200

    assert phone.connect()["apps"] == 2
    assert phone.dispatch("servicenow.disconnect") == {"disconnected": True, "apps": 1, "revoked": False}
    with pytest.raises(AppError) as twice:
        phone.dispatch("servicenow.disconnect")
    assert twice.value.name == "NotConnectedError"
    with pytest.raises(AppError) as released:
        phone.request(f"{CASES}?sysparm_limit=1")
    assert released.value.name == "NotConnectedError"
    assert stack.tokens() == tokens
    assert crm.request(f"{CASES}?sysparm_limit=1")["status"] == 200
    stack.close_apps()


class _NoChanges:
    def connection_acquired(self, connection: Connection) -> None:
        raise AssertionError("a refused app acquired a connection")

    def connection_released(self, key: ConnectionKey) -> None:
        raise AssertionError("a refused app released a connection")

    def own_write(self, connection: Connection, method: str, endpoint: str, response: ApiResponse) -> None:
        raise AssertionError("a refused app wrote")


ACTIONS: dict[str, tuple[str, Any]] = {
    "servicenow.connect": ("connect", ConnectPayload(instanceUrl="https://example.service-now.com")),
    "servicenow.request": ("request", RequestPayload(apiEndpoint=CASES)),
    "servicenow.disconnect": ("disconnect", DisconnectPayload()),
    "servicenow.status": ("status", StatusPayload()),
}


@pytest.mark.parametrize(("method", "payload"), ACTIONS.values(), ids=ACTIONS.keys())
async def test_every_action_refuses_an_app_outside_the_allow_list(method: str, payload: Any) -> None:
    manager = ConnectionManager(HttpAuthorizer())
    actions = ServiceNowActions(
        manager, AccessPolicy(ALLOWED), _NoChanges(), default_client_id="openfin-demo"
    )
    intruder = ClientIdentity.model_validate({"uuid": "intruder", "name": "intruder", "endpointId": "e-1"})
    with pytest.raises(ActionError) as refused:
        await getattr(actions, method)(payload, intruder)
    assert refused.value.name == "AccessDeniedError"
    assert manager.status() == []
    await manager.aclose()
