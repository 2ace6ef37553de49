"""Instance settings of the Table API: ``glide.invalid_query.returns_no_rows`` and the v1 empty-list status.

These run the Table API's routes in a small app of their own (the caller set by a test middleware), since the
emulator's command line keeps the defaults.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest_asyncio
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import Response

from adapter.emulators.servicenow.clock import Clock
from adapter.emulators.servicenow.seed import seed_demo_data
from adapter.emulators.servicenow.store import Store
from adapter.emulators.servicenow.table_api import TableApiSettings, table_routes

CASES = "/api/now/table/sn_customerservice_case"


@pytest_asyncio.fixture
async def strict() -> AsyncIterator[httpx.AsyncClient]:
    store = Store.open(None, Clock())
    seed_demo_data(store)
    admin = store.caller("admin")
    settings = TableApiSettings(invalid_query_returns_no_rows=True, empty_list_not_found_versions=frozenset())

    async def as_admin(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.caller = admin
        return await call_next(request)

    app = Starlette(routes=table_routes(store, settings))
    app.add_middleware(BaseHTTPMiddleware, dispatch=as_admin)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://instance.test"
    ) as client:
        yield client
    store.close()


async def test_invalid_query_returns_no_rows_when_the_property_is_set(strict: httpx.AsyncClient) -> None:
    valid = await strict.get(CASES, params={"sysparm_query": "state=1", "sysparm_limit": "1"})
    invalid = await strict.get(CASES, params={"sysparm_query": "state=1^no_such_field=x"})

    assert int(valid.headers["X-Total-Count"]) > 0
    assert (invalid.status_code, invalid.json(), invalid.headers["X-Total-Count"]) == (
        200,
        {"result": []},
        "0",
    )


async def test_v1_empty_list_can_answer_200(strict: httpx.AsyncClient) -> None:
    response = await strict.get(
        "/api/now/v1/table/sn_customerservice_case", params={"sysparm_query": "number=X"}
    )

    assert (response.status_code, response.json()) == (200, {"result": []})


async def test_links_repeat_the_host_the_client_used(strict: httpx.AsyncClient) -> None:
    response = await strict.get(CASES, params={"sysparm_limit": "1", "sysparm_query": "contactISNOTEMPTY"})

    assert response.json()["result"][0]["contact"]["link"].startswith(
        "http://instance.test/api/now/table/customer_contact/"
    )
    assert response.headers["Link"].startswith("<http://instance.test/api/now/table/sn_customerservice_case?")
