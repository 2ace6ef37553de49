"""The adapter in this test process, behind a cuttable proxy to a real runtime emulator, with a real
ServiceNow emulator: for tests that look inside it (its tasks, sockets and queues) while real node-adapter
apps drive it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from adapter.bridge.service import AdapterService
from adapter.settings import load_settings
from tests.conformance.adapter.conftest import CLIENT_ID, PLATFORM
from tests.conformance.node_support import node_executable
from tests.reliability.desktop import USER, Runtime, free_port
from tests.reliability.proxy import CuttableProxy
from tests.support import waiting
from tests.support.processes import adapter_command, running

WAIT = 30.0


def open_sockets() -> int | None:
    """Sockets this process holds (``/proc``); ``None`` where they cannot be counted."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return None
    count = 0
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):
            count += os.readlink(fd).startswith("socket:")
    return count


def task_names() -> collections.Counter[str]:
    """The running tasks by coroutine name, this test's own excepted."""
    current = asyncio.current_task()
    return collections.Counter(
        getattr(task.get_coro(), "__qualname__", task.get_name())
        for task in asyncio.all_tasks()
        if task is not current
    )


async def eventually(condition: Any, what: str) -> None:
    """``tests.support.waiting.eventually`` with this suite's bound (whole processes are slower)."""
    await waiting.eventually(condition, what, timeout=WAIT, interval=0.05)


@contextlib.asynccontextmanager
async def adapter_behind_proxy() -> AsyncIterator[
    tuple[AdapterService, CuttableProxy, Runtime, httpx.AsyncClient]
]:
    node_executable()
    with contextlib.ExitStack() as processes:
        instance = processes.enter_context(
            running(adapter_command("emulate", "servicenow", "--port", "0", "--auto-login", USER))
        )
        runtime = Runtime(free_port())
        processes.callback(runtime.close)
        runtime.start()
        proxy = CuttableProxy(runtime.port)
        await proxy.start()
        settings = load_settings(
            {
                "runtime_address": proxy.address,
                "broker": PLATFORM,
                "authorizer": "http",
                "instance_url": instance.target,
                "client_id": CLIENT_ID,
                "poll_interval": 0.5,
                # The cut releases every share, and the login goes with the last: no sign-out grace here.
                "sign_out_grace": 0,
            }
        )
        service = AdapterService(settings)
        stop = asyncio.Event()
        serving = asyncio.create_task(service.serve(stop))
        try:
            await eventually(lambda: service.provider.is_open and service.interop is not None, "serving")
            async with httpx.AsyncClient(base_url=instance.target, timeout=WAIT) as hooks:
                yield service, proxy, runtime, hooks
        finally:
            stop.set()
            assert await asyncio.wait_for(serving, WAIT) == 0
            await proxy.close()


def instance_port(hooks: httpx.AsyncClient) -> int:
    """The port of the instance the hooks talk to."""
    port = hooks.base_url.port
    assert port is not None
    return port


async def served(hooks: httpx.AsyncClient, path: str) -> int:
    """How many ``GET path`` the instance served."""
    count: int = (await hooks.get("/__emulator/stats")).json()["requests"].get(f"GET {path}", 0)
    return count
