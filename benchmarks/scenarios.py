"""The six scenarios of issue 8, each run side by side on one desktop and reported as plain JSON values.

Paths: ``fetch`` (node fetch straight to the instance), ``httpx`` (Python httpx straight to the instance, same
token), ``adapter`` (an app's ``servicenow.request`` through our adapter), ``js`` (through the reference
JavaScript provider), and the bus floors ``adapter-floor`` / ``js-floor`` (``servicenow.status``: no HTTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from adapter.servicenow.coalesce import CHANGE_WINDOW
from benchmarks.desktop import (
    ADAPTER_CHANNEL,
    CASE_TABLE,
    PLATFORM,
    Desktop,
    adapter_args,
    log_time,
    rss_kib,
    share_token,
)
from benchmarks.plan import Plan
from benchmarks.processes import NodeScript, node_script, started
from benchmarks.stats import ratio, summarize

NODE_PATHS = ["fetch", "adapter", "js", "adapter-floor", "js-floor"]
REFRESH_KEY = "POST /oauth_token.do"
ACCESS_TOKEN_LIFETIME = 1800.0


@contextlib.asynccontextmanager
async def direct_client(desktop: Desktop, connections: int = 128) -> AsyncIterator[httpx.AsyncClient]:
    """A Python httpx client straight to the instance with the adapter's bearer token."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(
        base_url=desktop.instance,
        headers={"Authorization": f"Bearer {desktop.token}", "Accept": "application/json"},
        limits=limits,
        timeout=30.0,
    ) as client:
        yield client


async def _httpx_get(client: httpx.AsyncClient, endpoint: str) -> None:
    response = await client.get(endpoint)
    response.raise_for_status()
    response.json()


async def _httpx_samples(client: httpx.AsyncClient, endpoint: str, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        await _httpx_get(client, endpoint)
        samples.append((time.perf_counter() - began) * 1000.0)
    return samples


async def latency(desktop: Desktop, plan: Plan) -> dict[str, Any]:
    """Scenario 1: one record GET by every path, plus the bus floor of both providers."""
    endpoint = desktop.record_endpoint
    samples: dict[str, list[float]] = {path: [] for path in [*NODE_PATHS, "httpx"]}
    per_block = max(1, plan.latency_rounds // plan.latency_blocks)
    async with direct_client(desktop, connections=1) as client:
        await desktop.driver.call("latency", paths=NODE_PATHS, endpoint=endpoint, count=plan.warmup)
        await _httpx_samples(client, endpoint, plan.warmup)
        for block in range(plan.latency_blocks):
            # Alternate which side goes first so that neither always runs on a warmer machine.
            if block % 2:
                samples["httpx"] += await _httpx_samples(client, endpoint, per_block)
            node = await desktop.driver.call("latency", paths=NODE_PATHS, endpoint=endpoint, count=per_block)
            for path, values in node.items():
                samples[path] += values
            if not block % 2:
                samples["httpx"] += await _httpx_samples(client, endpoint, per_block)
    summaries = {path: summarize(values) for path, values in samples.items()}
    direct = summaries["fetch"]
    return {
        "endpoint": endpoint,
        "paths": {path: summary.to_json() for path, summary in summaries.items()},
        "adapter_minus_fetch_ms": {
            "p50": round(summaries["adapter"].p50 - direct.p50, 3),
            "p99": round(summaries["adapter"].p99 - direct.p99, 3),
        },
        "adapter_minus_httpx_ms": {
            "p50": round(summaries["adapter"].p50 - summaries["httpx"].p50, 3),
            "p99": round(summaries["adapter"].p99 - summaries["httpx"].p99, 3),
        },
        "ratios_p50": {
            "adapter/fetch": ratio(summaries["adapter"].p50, direct.p50),
            "js/fetch": ratio(summaries["js"].p50, direct.p50),
            "adapter/js": ratio(summaries["adapter"].p50, summaries["js"].p50),
            "adapter-floor/js-floor": ratio(summaries["adapter-floor"].p50, summaries["js-floor"].p50),
        },
    }


async def _httpx_load(
    client: httpx.AsyncClient, endpoints: list[str], concurrency: int, requests: int
) -> dict[str, Any]:
    sent_count = 0
    errors = 0
    latencies: list[float] = []

    async def worker() -> None:
        nonlocal sent_count, errors
        while sent_count < requests:
            endpoint = endpoints[sent_count % len(endpoints)]
            sent_count += 1
            sent = time.perf_counter()
            try:
                await _httpx_get(client, endpoint)
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - sent) * 1000.0)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed_ms = (time.perf_counter() - began) * 1000.0
    return {"elapsedMs": elapsed_ms, "requests": requests, "errors": errors, "latencies": latencies}


ONE_RECORD = "adapter, one record"
"""The adapter reading one record from every worker: identical reads in flight share one instance request
(read coalescing), which the other paths do not do, so this line is shown beside the like-for-like ones."""
THROUGHPUT_PATHS = ["fetch", "httpx", "adapter", "js", ONE_RECORD]


def record_key(endpoint: str) -> str:
    """The emulator's counter key of a GET of ``endpoint`` (its path, no query)."""
    return f"GET {endpoint.split('?', 1)[0]}"


async def _load(
    desktop: Desktop,
    client: httpx.AsyncClient,
    path: str,
    endpoints: list[str],
    concurrency: int,
    requests: int,
) -> dict[str, Any]:
    if path == ONE_RECORD:
        path, endpoints = "adapter", [desktop.record_endpoint]
    if path == "httpx":
        return await _httpx_load(client, endpoints, concurrency, requests)
    before = await desktop.stats() if path == "adapter" else {}
    result: dict[str, Any] = await desktop.driver.call(
        "load", path=path, endpoints=endpoints, concurrency=concurrency, requests=requests
    )
    if path == "adapter":
        after = await desktop.stats()
        keys = {record_key(endpoint) for endpoint in endpoints}
        result["instanceRequests"] = sum(after.get(key, 0) - before.get(key, 0) for key in keys)
    return result


async def record_endpoints(desktop: Desktop, count: int) -> list[str]:
    """GET endpoints of ``count`` distinct cases (as many as the instance has, if fewer)."""
    cases = await case_numbers(desktop, count)
    return [f"/api/now/table/{CASE_TABLE}/{sys_id}" for sys_id, _ in cases]


async def throughput(desktop: Desktop, plan: Plan) -> dict[str, Any]:
    """Scenario 2: requests per second at each concurrency, paths interleaved and rotated per round.

    Like for like: request ``i`` of a run reads record ``i`` modulo ``plan.throughput_records`` (more records
    than the highest concurrency), so no two requests in flight read the same record and the adapter's read
    coalescing has nothing to share; every path makes the same requests in the same order. The adapter reading
    one record from every worker (what this scenario measured before) is the separate ``ONE_RECORD`` line.
    """
    endpoints = await record_endpoints(desktop, plan.throughput_records)
    totals: dict[tuple[str, int], list[float]] = {}
    errors: dict[tuple[str, int], int] = {}
    latencies: dict[tuple[str, int], list[float]] = {}
    instance: dict[tuple[str, int], int] = {}
    paths = len(THROUGHPUT_PATHS)
    async with direct_client(desktop) as client:
        # Every record read once by each path first, so that no path meets a record the instance has not
        # served yet.
        for path in THROUGHPUT_PATHS:
            await _load(desktop, client, path, endpoints, 8, len(endpoints))
        for round_ in range(plan.throughput_rounds):
            for level, concurrency in enumerate(plan.concurrency):
                shift = (round_ + level) % paths
                for path in THROUGHPUT_PATHS[shift:] + THROUGHPUT_PATHS[:shift]:
                    key = (path, concurrency)
                    run = await _load(
                        desktop, client, path, endpoints, concurrency, plan.requests_at(concurrency)
                    )
                    entry = totals.setdefault(key, [0.0, 0.0])
                    entry[0] += run["requests"]
                    entry[1] += run["elapsedMs"]
                    errors[key] = errors.get(key, 0) + run["errors"]
                    latencies.setdefault(key, []).extend(run["latencies"])
                    if "instanceRequests" in run:
                        instance[key] = instance.get(key, 0) + run["instanceRequests"]
    table: dict[str, dict[str, Any]] = {}
    for (path, concurrency), (requests, elapsed_ms) in totals.items():
        cell: dict[str, Any] = {
            "requests_per_second": round(requests / elapsed_ms * 1000.0, 1),
            "errors": errors[(path, concurrency)],
            "latency_ms": summarize(latencies[(path, concurrency)]).to_json(),
        }
        if (path, concurrency) in instance:
            # Instance requests per request made: 1.0 when nothing was shared.
            cell["instance_requests_per_request"] = round(instance[(path, concurrency)] / requests, 3)
        table.setdefault(path, {})[str(concurrency)] = cell

    def share(path: str, c: int) -> float | None:
        return ratio(table[path][str(c)]["requests_per_second"], table["js"][str(c)]["requests_per_second"])

    return {
        "records": len(endpoints),
        "paths": table,
        "adapter/js": {str(c): share("adapter", c) for c in plan.concurrency},
        f"{ONE_RECORD}/js": {str(c): share(ONE_RECORD, c) for c in plan.concurrency},
    }


async def case_numbers(desktop: Desktop, count: int) -> list[tuple[str, str]]:
    """(sys_id, number) of ``count`` cases."""
    response = await desktop.hooks.get(
        f"/api/now/table/{CASE_TABLE}",
        params={"sysparm_limit": str(count), "sysparm_fields": "sys_id,number"},
        auth=("admin", "admin"),
    )
    response.raise_for_status()
    return [(case["sys_id"], case["number"]) for case in response.json()["result"]]


def non_hook_requests(stats: dict[str, int]) -> int:
    """Requests the instance served, its own hooks left out."""
    return sum(count for key, count in stats.items() if not key.split(" ", 1)[-1].startswith("/__emulator"))


async def _polling_cost(desktop: Desktop, plan: Plan, apps: int) -> dict[str, Any]:
    before = non_hook_requests(await desktop.stats())
    await asyncio.sleep(plan.polling_window)
    made = non_hook_requests(await desktop.stats()) - before
    per_minute = made * 60.0 / plan.polling_window
    return {
        "apps": apps,
        "requests_per_minute": round(per_minute, 1),
        "each_app_polling_itself": round(apps * 60.0 / plan.poll_interval, 1),
    }


async def one_change(
    desktop: Desktop,
    fleets: list[NodeScript],
    apps: int,
    sys_id: str,
    number: str,
    serial: int,
    timeout: float,
) -> tuple[list[float], list[float], list[float]]:
    """Change one case as another user; (event ms from change, event ms after detection, context ms after)."""
    sent_at = time.time() * 1000.0
    response = await desktop.hooks.patch(
        f"/api/now/table/{CASE_TABLE}/{sys_id}",
        json={"short_description": f"benchmark change {serial}"},
        auth=("admin", "admin"),
    )
    response.raise_for_status()
    changed_at = time.time() * 1000.0
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # A context from before the change (a session group hands a joining app its current one) is not news.
        for fleet in fleets:
            seen += [s for s in await fleet.call("arrivals", number=number) if s["t"] >= sent_at]
        if (
            sum(1 for s in seen if s["kind"] == "event") >= apps
            and sum(1 for s in seen if s["kind"] == "context") >= apps
        ):
            break
        await asyncio.sleep(0.05)
    detections = [
        log_time(entry)
        for entry in desktop.adapter_events("broadcast.change")
        if entry.get("number") == number and log_time(entry) >= changed_at - 1.0
    ]
    detected = min(detections) if detections else changed_at
    events = [s["t"] for s in seen if s["kind"] == "event"]
    contexts = [s["t"] for s in seen if s["kind"] == "context"]
    return (
        [t - changed_at for t in events],
        [t - detected for t in events],
        [t - detected for t in contexts],
    )


def split_apps(apps: int, per_process: int) -> list[int]:
    """``apps`` apps in as few processes of at most ``per_process`` as hold them, sizes as even as can be."""
    processes = -(-apps // per_process)
    return [apps // processes + (1 if index < apps % processes else 0) for index in range(processes)]


async def fanout_and_polling(desktop: Desktop, plan: Plan) -> dict[str, Any]:
    """Scenarios 3 and 4: per fleet size, polling requests while idle, then changes broadcast to every app."""
    cases = await case_numbers(desktop, max(plan.changes_per_fleet, 1))
    fanout: dict[str, Any] = {}
    polling: dict[str, Any] = {}
    serial = 0
    for apps in plan.fleets:
        params = {
            "address": desktop.runtime,
            "channelName": ADAPTER_CHANNEL,
            "broker": PLATFORM,
            "session": True,
        }
        async with contextlib.AsyncExitStack() as stack:
            # On a desktop every app is its own renderer process; one node process for all of them would
            # make node's own handling of every app's messages per change (docs/performance.md, section 3) the
            # thing measured. Apps go in processes of ``plan.apps_per_process``.
            fleets = [
                await stack.enter_async_context(
                    node_script(
                        "fleet.mjs",
                        {**params, "count": count, "prefix": f"fleet{apps}-{index}"},
                        ready_timeout=300.0,
                    )
                )
                for index, count in enumerate(split_apps(apps, plan.apps_per_process))
            ]
            await asyncio.sleep(plan.poll_interval * 2)  # the first polls after sign-in are not steady state
            polling[str(apps)] = await _polling_cost(desktop, plan, apps)
            from_change: list[float] = []
            after_detection: list[float] = []
            contexts: list[float] = []
            missing = 0
            for index in range(plan.changes_per_fleet):
                sys_id, number = cases[index % len(cases)]
                serial += 1
                change, events, context = await one_change(
                    desktop, fleets, apps, sys_id, number, serial, timeout=plan.poll_interval * 3 + 10
                )
                from_change += change
                after_detection += events
                contexts += context
                missing += 2 * apps - len(events) - len(context)
                await asyncio.sleep(0.2)
            fanout[str(apps)] = {
                "changes": plan.changes_per_fleet,
                "node_processes": len(fleets),
                "event_from_change_ms": summarize(from_change).to_json() if from_change else None,
                "event_after_detection_ms": summarize(after_detection).to_json() if after_detection else None,
                "context_after_detection_ms": summarize(contexts).to_json() if contexts else None,
                "missing_deliveries": missing,
            }
    return {"poll_interval_s": plan.poll_interval, "fanout": fanout, "polling": polling}


async def refresh(desktop: Desktop, plan: Plan) -> dict[str, Any]:
    """Scenario 5: the instance expires the token, then ``refresh_burst`` requests arrive at once."""
    # A record that changed in the scenarios before is read from its change window for a while (the answer
    # fetched after the change), which would spare the burst its 401s: let every window end first.
    await asyncio.sleep(CHANGE_WINDOW + 0.5)
    await desktop.advance_clock(ACCESS_TOKEN_LIFETIME + 60.0)
    before = (await desktop.stats()).get(REFRESH_KEY, 0)
    run = await desktop.driver.call(
        "load",
        path="adapter",
        endpoint=desktop.record_endpoint,
        concurrency=plan.refresh_burst,
        requests=plan.refresh_burst,
    )
    refreshes = (await desktop.stats()).get(REFRESH_KEY, 0) - before
    await share_token(desktop)
    return {
        "concurrent_requests": plan.refresh_burst,
        "refresh_calls": refreshes,
        "completion_ms": round(run["elapsedMs"], 1),
        "errors": run["errors"],
        "first_error": run["firstError"],
    }


async def _startup_seconds(desktop: Desktop, sample: int) -> float:
    command = adapter_args(
        desktop.runtime,
        desktop.instance,
        channel=f"startup-{sample}",
        uuid=f"startup-{sample}",
        poll_interval=15,
    )
    async with started(command) as adapter:
        return adapter.ready_seconds


async def footprint(desktop: Desktop, plan: Plan, idle_rss_kib: int | None) -> dict[str, Any]:
    """Scenario 6: start-up time to READY, RSS idle and after two rounds of ``footprint_requests``."""
    startups = [desktop.adapter.ready_seconds]
    for sample in range(1, plan.startup_samples):
        startups.append(await _startup_seconds(desktop, sample))
    rss_after: list[int | None] = []
    errors = 0
    for _ in range(2):
        run = await desktop.driver.call(
            "load",
            path="adapter",
            endpoint=desktop.record_endpoint,
            concurrency=32,
            requests=plan.footprint_requests,
        )
        errors += run["errors"]
        rss_after.append(rss_kib(desktop.adapter.pid))
    first, second = rss_after
    return {
        "startup_to_ready_s": summarize(startups).to_json(),
        "rss_idle_mib": round(idle_rss_kib / 1024, 1) if idle_rss_kib else None,
        "requests_per_step": plan.footprint_requests,
        "rss_after_step_mib": [round(value / 1024, 1) if value else None for value in rss_after],
        "rss_growth_second_step_mib": round((second - first) / 1024, 1) if first and second else None,
        "errors": errors,
    }
