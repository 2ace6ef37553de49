"""Helpers for driving node-adapter peers from async tests (the node runner blocks: it runs in a thread)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conformance.node_support import NodeProcess

STEP_TIMEOUT = 20.0


async def event(process: NodeProcess, name: str) -> Any:
    """Wait (off the event loop) for the script's progress event ``name``; return its data."""
    return await asyncio.to_thread(process.wait_for_event, name, STEP_TIMEOUT)


async def result(process: NodeProcess) -> Any:
    """Wait (off the event loop) for the script's result."""
    return await asyncio.to_thread(process.result, STEP_TIMEOUT)


async def eventually(condition: Any, timeout: float = STEP_TIMEOUT) -> None:
    """Wait until ``condition()`` holds, failing after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)
