"""Helpers for driving node-adapter peers from async tests (the node runner blocks: it runs in a thread)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.conformance.node_support import NodeProcess
from tests.support import waiting

STEP_TIMEOUT = 20.0


async def event(process: NodeProcess, name: str) -> Any:
    """Wait (off the event loop) for the script's progress event ``name``; return its data."""
    return await asyncio.to_thread(process.wait_for_event, name, STEP_TIMEOUT)


async def result(process: NodeProcess) -> Any:
    """Wait (off the event loop) for the script's result."""
    return await asyncio.to_thread(process.result, STEP_TIMEOUT)


async def eventually(condition: Any, timeout: float = STEP_TIMEOUT) -> None:
    """``tests.support.waiting.eventually`` with this suite's bound (a node peer answers each step)."""
    await waiting.eventually(condition, "the condition", timeout=timeout, interval=0.02)
