"""Tokens never reach a log line, an error or a status snapshot, through sign-in, refresh and revocation."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from adapter.logging import configure_logging
from adapter.servicenow.errors import ApiError
from tests.integration.servicenow_client.conftest import CASES, CLIENT_ID, ManagerFactory
from tests.support.servicenow_emulator import ServiceNowEmulator


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("debug", json=True, stream=stream)
    yield stream
    configure_logging("info")


async def test_no_token_is_logged_or_exposed(
    emulator: ServiceNowEmulator, make_manager: ManagerFactory, log_stream: io.StringIO
) -> None:
    manager = make_manager()
    connection = (await manager.acquire("app-1", emulator.url, CLIENT_ID)).connection
    seen = await emulator.tokens()
    await emulator.advance_clock(1801)
    await connection.execute(f"{CASES}?sysparm_limit=1")
    refreshed = await emulator.tokens()
    with pytest.raises(ApiError) as caught:
        await connection.execute("/api/now/table/no_such_table")
    snapshot = [status.model_dump_json() for status in manager.status()]
    assert (await manager.release("app-1", connection.key)).revoked
    tokens = {*seen["access"], *seen["refresh"], *refreshed["access"], *refreshed["refresh"]}
    assert len(tokens) == 3
    written = log_stream.getvalue()
    assert "request.done" in written
    exposed = [written, repr(caught.value.to_dict()), *snapshot, repr(connection)]
    for token in tokens:
        assert all(token not in text for text in exposed)
