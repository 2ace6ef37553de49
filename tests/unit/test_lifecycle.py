"""A stop before READY cancels the start-up wherever it waits; after READY it asks for a clean shutdown."""

from __future__ import annotations

import asyncio

import pytest

from adapter.lifecycle import EXIT_INTERRUPTED, Interrupted, announce_ready, serve_until_stopped
from tests.support.waiting import eventually


async def test_a_stop_before_ready_cancels_the_start_up_and_runs_its_clean_up() -> None:
    stop = asyncio.Event()
    waiting = asyncio.Event()
    cleaned_up = asyncio.Event()

    async def serve(_stop: asyncio.Event) -> int:
        try:
            waiting.set()
            await asyncio.Event().wait()  # a start-up wait that would never end by itself
        finally:
            cleaned_up.set()
        return 0

    task = asyncio.create_task(serve_until_stopped(serve, stop))
    await waiting.wait()
    stop.set()
    with pytest.raises(Interrupted) as raised:
        await task
    assert raised.value.exit_code == EXIT_INTERRUPTED
    assert cleaned_up.is_set()


async def test_a_stop_after_ready_is_left_to_the_command_positive_control(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stop = asyncio.Event()

    async def serve(stop: asyncio.Event) -> int:
        announce_ready("test")
        await stop.wait()
        await asyncio.sleep(0)  # its own shutdown, uninterrupted
        return 7

    task = asyncio.create_task(serve_until_stopped(serve, stop))
    await eventually(lambda: "READY" in capsys.readouterr().out, "the command announced READY")
    stop.set()
    assert await task == 7
