"""Frames the connection will not send, against a scripted runtime over a real socket."""

from __future__ import annotations

import pytest

from adapter.openfin import RuntimeConnection, RuntimeConnectionState
from adapter.openfin.errors import FrameTooLargeError
from tests.integration.openfin.fake_runtime import FakeRuntime

LIMIT = 64 * 1024


async def test_a_frame_over_the_bound_is_refused_before_the_socket_and_the_others_go(
    runtime: FakeRuntime,
) -> None:
    async with RuntimeConnection(runtime.address, "svc-adapter", max_frame_bytes=LIMIT) as connection:
        small = '{"n":1}'
        large = '{"text":"' + "x" * LIMIT + '"}'
        # Multi-byte text counts in bytes, as the runtime counts it.
        wide = '{"text":"' + "\u00e9" * (LIMIT // 2) + '"}'

        outcomes = await connection.request_each_json("get-version", [small, large, small, wide])

        assert outcomes[0] == "42.103.2"
        assert outcomes[2] == "42.103.2"
        assert isinstance(outcomes[1], FrameTooLargeError)
        assert isinstance(outcomes[3], FrameTooLargeError)
        assert outcomes[1].limit == LIMIT
        with pytest.raises(FrameTooLargeError):
            await connection.request_json("get-version", large)
        assert await connection.request("get-version") == "42.103.2"
        assert connection.state is RuntimeConnectionState.CONNECTED
        assert all(len(str(frame)) < LIMIT for frame in runtime.received)
