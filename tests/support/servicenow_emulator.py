"""The ServiceNow emulator on a real socket inside the test's event loop, with helpers for its test hooks.

    async with servicenow_emulator(auto_login="beth.anglin") as emu, httpx.AsyncClient() as http:
        await http.get(f"{emu.url}/api/now/table/sn_customerservice_case", auth=("admin", "admin"))
        await emu.advance_clock(1800)

Every helper goes through the HTTP hooks under ``/__emulator`` (as another process would), not the app object.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import queue
import shutil
import ssl
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from adapter.emulators.servicenow import seed
from adapter.emulators.servicenow.app import create_app
from adapter.emulators.servicenow.clock import Clock
from adapter.emulators.servicenow.server import bind_socket, start, stop_server, url_of
from adapter.emulators.servicenow.store import Store

HOOK_TIMEOUT = 10.0
START_TIMEOUT = 30.0
# One TLS context for every test client: httpx builds a new one per client otherwise (tens of ms each).
CLIENT_TLS = ssl.create_default_context()
# Faults can hold requests for seconds; a test that is done with them should not wait for them.
SHUTDOWN_GRACE = 1


@dataclass
class ServiceNowEmulator:
    """A running emulator: its base ``url`` (``http://127.0.0.1:<port>``) and ASGI ``app``."""

    url: str
    app: Starlette
    hooks: httpx.AsyncClient

    async def advance_clock(self, seconds: float) -> None:
        """Move the emulator's clock forward (token expiry, record ages) without sleeping."""
        response = await self.hooks.post("/__emulator/clock", json={"advance": seconds})
        response.raise_for_status()

    async def tokens(self) -> dict[str, list[str]]:
        """Live tokens: ``{"access": [...], "refresh": [...]}``, oldest first."""
        response = await self.hooks.get("/__emulator/tokens")
        response.raise_for_status()
        result: dict[str, list[str]] = response.json()
        return result

    async def stats(self) -> dict[str, int]:
        """Request counts by ``"<METHOD> <path>"`` (query strings left out)."""
        response = await self.hooks.get("/__emulator/stats")
        response.raise_for_status()
        result: dict[str, int] = response.json()["requests"]
        return result

    async def reset_stats(self) -> None:
        """Forget the request counts."""
        (await self.hooks.delete("/__emulator/stats")).raise_for_status()

    async def add_fault(self, **rule: Any) -> None:
        """Add one fault rule (see ``adapter.emulators.servicenow.faults.FaultRule`` for the fields)."""
        response = await self.hooks.post("/__emulator/faults", json=rule)
        response.raise_for_status()

    async def clear_faults(self) -> None:
        """Remove every fault rule."""
        (await self.hooks.delete("/__emulator/faults")).raise_for_status()

    async def reset(self) -> None:
        """Back to the start-up state, records aside: no tokens, faults, counts; clock and limit restored."""
        (await self.hooks.post("/__emulator/reset")).raise_for_status()

    async def set_rate_limit(self, limit_per_hour: int | None) -> None:
        """Set (or with ``None`` remove) the per-user hourly request limit."""
        response = await self.hooks.post("/__emulator/rate-limit", json={"limit_per_hour": limit_per_hour})
        response.raise_for_status()


@functools.cache
def _seeded_template() -> Path:
    """A database seeded once per test process; copying it is much faster than seeding every emulator."""
    folder = Path(tempfile.mkdtemp(prefix="servicenow-emulator-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    template = folder / "seeded.sqlite"
    store = Store.open(template, Clock())
    try:
        seed.seed_demo_data(store)
    finally:
        store.close()
    return template


@contextlib.asynccontextmanager
async def servicenow_emulator(
    *, auto_login: str | None = None, db: Path | None = None, rate_limit_per_hour: int | None = None
) -> AsyncIterator[ServiceNowEmulator]:
    """Serve a fresh emulator on 127.0.0.1 (a free port) until the block ends.

    Without ``db`` the emulator gets a private copy of the seeded demo database, deleted afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="servicenow-emulator-", ignore_cleanup_errors=True) as folder:
        if db is None:
            db = Path(folder) / "instance.sqlite"
            shutil.copyfile(_seeded_template(), db)
        with bind_socket("127.0.0.1", 0) as sock:
            app = create_app(db=db, auto_login=auto_login, rate_limit_per_hour=rate_limit_per_hour)
            try:
                server, task = await start(app, sock, shutdown_grace=SHUTDOWN_GRACE)
            except BaseException:
                app.state.store.close()
                raise
            url = url_of(sock)
            try:
                async with attach(url, app) as emulator:
                    yield emulator
            finally:
                await stop_server(server, task)


@contextlib.asynccontextmanager
async def attach(url: str, app: Starlette) -> AsyncIterator[ServiceNowEmulator]:
    """Hook helpers bound to the running event loop for an emulator served elsewhere (such as a thread)."""
    async with httpx.AsyncClient(base_url=url, timeout=HOOK_TIMEOUT, verify=CLIENT_TLS) as hooks:
        yield ServiceNowEmulator(url=url, app=app, hooks=hooks)


@contextlib.contextmanager
def servicenow_emulator_in_thread(
    *, auto_login: str | None = None, db: Path | None = None, rate_limit_per_hour: int | None = None
) -> Iterator[tuple[str, Starlette]]:
    """An emulator on its own event loop in a background thread, yielding ``(url, app)``.

    Meant for session-scoped fixtures: tests on any event loop reach it over HTTP (``attach`` gives them the
    hook helpers) and call ``reset()`` to start from a clean state.
    """
    started: queue.Queue[tuple[str, Starlette] | BaseException] = queue.Queue()
    control: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}

    async def main() -> None:
        stop = asyncio.Event()
        control["stop"] = (asyncio.get_running_loop(), stop)
        try:
            async with servicenow_emulator(
                auto_login=auto_login, db=db, rate_limit_per_hour=rate_limit_per_hour
            ) as emulator:
                started.put((emulator.url, emulator.app))
                await stop.wait()
        except BaseException as exc:
            started.put(exc)
            raise

    thread = threading.Thread(target=asyncio.run, args=(main(),), name="servicenow-emulator", daemon=True)
    thread.start()
    outcome = started.get(timeout=START_TIMEOUT)
    if isinstance(outcome, BaseException):
        thread.join(timeout=START_TIMEOUT)
        raise RuntimeError("the emulator thread failed to start") from outcome
    try:
        yield outcome
    finally:
        loop, stop = control["stop"]
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=START_TIMEOUT)
