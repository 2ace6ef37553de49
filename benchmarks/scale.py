"""The scenarios of issue 20: read coalescing, watched task tables, and a thousand apps.

``coalescing`` runs on the shared desktop; ``watched_tables`` and ``scale`` start desktops of their own (an
instance, and for ``scale`` a runtime too), since their figures are the instance's request counts and the
adapter's sign-ins, which another adapter on the same instance would blur.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from adapter.servicenow.coalesce import CHANGE_WINDOW
from benchmarks.desktop import CASE_TABLE, PLATFORM, Desktop, adapter_args, cpu_ms, log_time, rss_kib
from benchmarks.plan import Plan
from benchmarks.processes import NodeScript, Started, adapter_command, node_script, started
from benchmarks.scenarios import REFRESH_KEY, case_numbers, non_hook_requests, one_change, split_apps
from benchmarks.stats import summarize

ADMIN = ("admin", "admin")
LOGIN_KEYS = ("GET /oauth_auth.do", "POST /oauth_auth.do")
TOKEN_REQUESTS = REFRESH_KEY  # the code exchange and every refresh
# Three tables that extend task and that the benchmark's agent may read: cases and two case extensions.
TASK_TABLES = (CASE_TABLE, "sn_bom_case", "sn_bom_financial_service")
# How far ahead the node processes are told to start a burst: time enough for every one to hear of it.
START_AHEAD_MS = 100.0
RECORD_CHANGED = "servicenow.recordChanged"


@contextlib.asynccontextmanager
async def fleets(
    runtime: str, channel: str, apps: int, plan: Plan, prefix: str, **options: Any
) -> AsyncIterator[list[NodeScript]]:
    """``apps`` apps on ``channel`` in node processes of ``plan.apps_per_process``, all started at once."""
    sizes = split_apps(apps, plan.apps_per_process)
    async with contextlib.AsyncExitStack() as stack:
        params = {"address": runtime, "channelName": channel, "broker": PLATFORM, "session": False, **options}

        async def start(index: int, count: int) -> NodeScript:
            script = node_script(
                "fleet.mjs", {**params, "count": count, "prefix": f"{prefix}-{index}"}, ready_timeout=600.0
            )
            return await stack.enter_async_context(script)

        yield list(await asyncio.gather(*(start(index, count) for index, count in enumerate(sizes))))


def _served(stats: dict[str, int], path: str) -> int:
    return stats.get(f"GET {path}", 0)


async def _burst(desktop: Desktop, apps: list[NodeScript], endpoint: str) -> dict[str, Any]:
    before = _served(await desktop.stats(), endpoint)
    at = time.time() * 1000.0 + START_AHEAD_MS
    replies = await asyncio.gather(*(fleet.call("read", endpoint=endpoint, at=at) for fleet in apps))
    return {
        "instance_requests": _served(await desktop.stats(), endpoint) - before,
        "ms": round(max(reply["ms"] for reply in replies), 1),
        "errors": sum(reply["errors"] for reply in replies),
    }


async def _reads_after_change(
    desktop: Desktop, apps: list[NodeScript], count: int, sys_id: str, serial: int
) -> dict[str, Any]:
    endpoint = f"/api/now/table/{CASE_TABLE}/{sys_id}"
    before = _served(await desktop.stats(), endpoint)
    response = await desktop.hooks.patch(
        endpoint, json={"short_description": f"coalescing change {serial}"}, auth=ADMIN
    )
    response.raise_for_status()
    done = errors = 0
    deadline = time.monotonic() + 30.0
    while done + errors < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        for fleet in apps:
            seen = await fleet.call("changeReads")
            done += seen["done"]
            errors += seen["errors"]
    return {
        "instance_requests": _served(await desktop.stats(), endpoint) - before,
        "reads": done,
        "errors": errors,
    }


async def coalescing(desktop: Desktop, plan: Plan) -> dict[str, Any]:
    """``coalescing_apps`` apps read one record at once, as is and with the instance ``latency_ms`` away;
    then the record changes and every app reads it again on the broadcast."""
    apps = plan.coalescing_apps
    endpoint = desktop.record_endpoint
    results: dict[str, Any] = {"apps": apps, "rounds": plan.coalescing_rounds, "endpoint": endpoint}
    async with fleets(desktop.runtime, "servicenow", apps, plan, "coalesce", readOnChange=True) as group:
        await _burst(desktop, group, endpoint)  # warm-up: every app's first request opens its paths
        rounds = range(plan.coalescing_rounds)
        results["at_once"] = [await _burst(desktop, group, endpoint) for _ in rounds]
        results["after_change"] = [
            await _reads_after_change(desktop, group, apps, desktop.case_sys_id, serial) for serial in rounds
        ]
        # Reads of a changed record share one answer for a while after its broadcast; let that window end,
        # so that the bursts below measure sharing in flight alone.
        await asyncio.sleep(CHANGE_WINDOW + 0.5)
        rule = {"method": "GET", "path": endpoint, "latency_ms": plan.coalescing_latency_ms}
        (await desktop.hooks.post("/__emulator/faults", json=rule)).raise_for_status()
        try:
            results["latency_ms"] = plan.coalescing_latency_ms
            results["at_once_with_latency"] = [await _burst(desktop, group, endpoint) for _ in rounds]
            results["after_change_with_latency"] = [
                await _reads_after_change(desktop, group, apps, desktop.case_sys_id, len(rounds) + serial)
                for serial in rounds
            ]
        finally:
            (await desktop.hooks.delete("/__emulator/faults")).raise_for_status()
    return results


async def _polls_per_interval(
    instance: str, runtime: str, plan: Plan, name: str, watch: tuple[str, ...], task_tables: tuple[str, ...]
) -> dict[str, Any]:
    config = Path(tempfile.mkdtemp(prefix="bench-watch-")) / "adapter.toml"
    config.write_text(
        f"watch_table = {list(watch)!r}\ntask_table = {list(task_tables)!r}\n".replace("'", '"')
    )
    channel = f"watch-{name}"
    command = [
        *adapter_args(runtime, instance, channel=channel, uuid=channel, poll_interval=plan.poll_interval),
        "--config",
        str(config),
    ]
    async with (
        started(command),
        httpx.AsyncClient(base_url=instance, timeout=30.0) as hooks,
        fleets(runtime, channel, 1, plan, channel),
    ):
        await asyncio.sleep(plan.poll_interval * 2)  # sign-in and baselines are not steady state
        before = non_hook_requests((await hooks.get("/__emulator/stats")).json()["requests"])
        await asyncio.sleep(plan.polling_window)
        stats = (await hooks.get("/__emulator/stats")).json()["requests"]
        made = non_hook_requests(stats) - before
    intervals = plan.polling_window / plan.poll_interval
    return {
        "watched": list(watch),
        "task_tables": list(task_tables),
        "requests": made,
        "requests_per_interval": round(made / intervals, 2),
    }


async def watched_tables(desktop: Desktop, plan: Plan) -> dict[str, Any]:
    """Polling requests per interval watching 1 task table, 3 as one query on task, and 3 a query each."""
    configurations = {
        "1 task table": ((CASE_TABLE,), TASK_TABLES),
        "3 task tables, one query on task": (TASK_TABLES, TASK_TABLES),
        "3 task tables, a query each (before)": (TASK_TABLES, ()),
    }
    results: dict[str, Any] = {"poll_interval_s": plan.poll_interval, "window_s": plan.polling_window}
    command = adapter_command("emulate", "servicenow", "--port", "0", "--auto-login", "beth.anglin")
    async with started(command) as instance:
        for index, (name, (watch, task_tables)) in enumerate(configurations.items()):
            results[name] = await _polls_per_interval(
                instance.target, desktop.runtime, plan, str(index), watch, task_tables
            )
    return results


@contextlib.asynccontextmanager
async def _own_desktop(desktop: Desktop, plan: Plan) -> AsyncIterator[tuple[Desktop, Started]]:
    """An instance, a runtime with its broker and an adapter nobody has signed in to yet."""
    async with contextlib.AsyncExitStack() as stack:
        instance = await stack.enter_async_context(
            started(adapter_command("emulate", "servicenow", "--port", "0", "--auto-login", "beth.anglin"))
        )
        runtime = await stack.enter_async_context(
            started(adapter_command("emulate", "runtime", "--port", "0", "--broker", PLATFORM))
        )
        adapter = await stack.enter_async_context(
            started(
                adapter_args(
                    runtime.target,
                    instance.target,
                    channel="servicenow",
                    uuid="servicenow-adapter",
                    poll_interval=plan.poll_interval,
                )
            )
        )
        hooks = await stack.enter_async_context(httpx.AsyncClient(base_url=instance.target, timeout=30.0))
        own = dataclasses.replace(
            desktop,
            instance=instance.target,
            runtime=runtime.target,
            adapter=adapter,
            runtime_pid=runtime.pid,
            hooks=hooks,
        )
        yield own, adapter


async def scale(desktop: Desktop, plan: Plan) -> dict[str, Any]:
    """``scale_apps`` apps connect at once to a fresh adapter (one sign-in for all), then cases change."""
    apps = plan.scale_apps
    async with _own_desktop(desktop, plan) as (own, adapter):
        idle_rss = rss_kib(adapter.pid)
        before = await own.stats()
        began = time.perf_counter()
        async with fleets(own.runtime, "servicenow", apps, plan, "scale", session=True) as group:
            storm_s = time.perf_counter() - began
            after = await own.stats()
            await asyncio.sleep(plan.poll_interval * 2)
            connected_rss = rss_kib(adapter.pid)
            cases = await case_numbers(own, max(plan.scale_changes, 1))
            pids = {
                "adapter": [adapter.pid],
                "runtime": [own.runtime_pid],
                "apps": [fleet.process.pid for fleet in group],
            }
            cpu_before = _cpu(pids)
            events: list[float] = []
            contexts: list[float] = []
            written: list[float] = []
            written_cpu: list[float] = []
            missing = 0
            for serial in range(plan.scale_changes):
                sys_id, number = cases[serial % len(cases)]
                _, event, context = await one_change(
                    own, group, apps, sys_id, number, serial, timeout=plan.poll_interval * 3 + 30
                )
                events += event
                contexts += context
                missing += 2 * apps - len(event) - len(context)
                for wall, cpu in _adapter_side(own, number, apps):
                    written.append(wall)
                    written_cpu.append(cpu)
                await asyncio.sleep(0.5)
            cpu_after = _cpu(pids)
            after_changes_rss = rss_kib(adapter.pid)
            requests = await _requests_rss(own, group, plan, adapter.pid)
    return {
        "apps": apps,
        "node_processes": len(split_apps(apps, plan.apps_per_process)),
        "connect_storm_s": round(storm_s, 2),
        "logins": sum(after.get(key, 0) - before.get(key, 0) for key in LOGIN_KEYS),
        "token_requests": after.get(TOKEN_REQUESTS, 0) - before.get(TOKEN_REQUESTS, 0),
        "changes": plan.scale_changes,
        # The adapter's own part: from detection to the last app's event frame written to the runtime.
        "adapter_written_after_detection_ms": summarize(written).to_json() if written else None,
        # The adapter's CPU time over that span: what the write pass costs, whatever the machine's load.
        "adapter_written_cpu_ms": summarize(written_cpu).to_json() if written_cpu else None,
        "event_after_detection_ms": summarize(events).to_json() if events else None,
        "context_after_detection_ms": summarize(contexts).to_json() if contexts else None,
        "missing_deliveries": missing,
        "rss_idle_mib": _mib(idle_rss),
        "rss_connected_mib": _mib(connected_rss),
        "rss_after_changes_mib": _mib(after_changes_rss),
        "requests": requests,
        # Where a change's fan-out spends the machine's CPU (the 0.5 s pauses between changes included).
        "cpu_ms_per_change": {
            part: round((cpu_after[part] - cpu_before[part]) / max(plan.scale_changes, 1), 1) for part in pids
        },
    }


def _adapter_side(desktop: Desktop, number: str, apps: int) -> list[tuple[float, float]]:
    """(ms, CPU ms) from the adapter's detection of the change of ``number`` to its last event frame
    written: the ``channel.fanout`` line of the event that followed the ``broadcast.change`` line."""
    detections = [
        log_time(entry)
        for entry in desktop.adapter_events("broadcast.change")
        if entry.get("number") == number
    ]
    if not detections:
        return []
    detected = max(detections)
    for entry in desktop.adapter_events("channel.fanout"):
        if (
            entry.get("action") == RECORD_CHANGED
            and entry.get("clients") == apps
            and log_time(entry) >= detected
        ):
            return [(log_time(entry) - detected, float(entry.get("written_cpu_ms") or 0.0))]
    return []


async def _requests_rss(desktop: Desktop, apps: list[NodeScript], plan: Plan, pid: int) -> dict[str, Any]:
    """``scale_request_rounds`` rounds in which every app reads a record at once, twice over: the adapter's
    RSS after each step, so that growth between them shows (as the footprint scenario, with the apps on)."""
    cases = await case_numbers(desktop, 10)
    endpoints = [f"/api/now/table/{CASE_TABLE}/{sys_id}" for sys_id, _ in cases]
    rss: list[int | None] = []
    errors = made = 0
    for _ in range(2):
        for round_ in range(plan.scale_request_rounds):
            endpoint = endpoints[round_ % len(endpoints)]
            replies = await asyncio.gather(*(fleet.call("read", endpoint=endpoint) for fleet in apps))
            errors += sum(reply["errors"] for reply in replies)
            made += plan.scale_apps
        rss.append(rss_kib(pid))
    first, second = rss
    return {
        "requests_per_step": made // 2,
        "errors": errors,
        "rss_after_step_mib": [_mib(value) for value in rss],
        "rss_growth_second_step_mib": round((second - first) / 1024, 1) if first and second else None,
    }


def _cpu(pids: dict[str, list[int]]) -> dict[str, float]:
    return {part: sum(cpu_ms(pid) or 0.0 for pid in group) for part, group in pids.items()}


def _mib(kib: int | None) -> float | None:
    return round(kib / 1024, 1) if kib else None
