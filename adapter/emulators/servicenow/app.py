"""Assemble the emulated instance: the store, OAuth, the scripted API, the Table API and the test hooks.

Middleware, outermost first: request counting, instance headers, fault injection, authentication of
``/api/*`` and rate limiting, so that a fault or a 401 is still counted and rate limits see the caller.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapter.emulators.servicenow import seed
from adapter.emulators.servicenow.auth import AuthenticationMiddleware
from adapter.emulators.servicenow.clock import Clock
from adapter.emulators.servicenow.envelope import error_response
from adapter.emulators.servicenow.faults import FaultMiddleware, FaultPlan
from adapter.emulators.servicenow.headers import InstanceHeadersMiddleware
from adapter.emulators.servicenow.hooks import EmulatorHooks
from adapter.emulators.servicenow.oauth import OAuthEndpoints
from adapter.emulators.servicenow.ratelimit import RateLimiter, RateLimitMiddleware
from adapter.emulators.servicenow.scripted_api import ScriptedApi
from adapter.emulators.servicenow.stats import RequestStats, StatsMiddleware
from adapter.emulators.servicenow.store import Store
from adapter.emulators.servicenow.table_api import table_routes
from adapter.emulators.servicenow.tokens import DEMO_CLIENT, TokenRegistry

API_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]


async def unknown_api(request: Request) -> Response:
    """An ``/api/`` path no API serves, answered as an instance does."""
    return error_response(400, "Requested URI does not represent any resource", None)


def create_app(
    *,
    db: Path | None = None,
    auto_login: str | None = None,
    clock: Clock | None = None,
    rate_limit_per_hour: int | None = None,
) -> Starlette:
    """The emulator as an ASGI app. ``db=None`` keeps the database in memory; a new database is seeded.

    ``auto_login`` makes ``/oauth_auth.do`` approve at once as that user (``ValueError`` if there is none).
    ``app.state`` exposes ``store``, ``clock``, ``tokens``, ``faults``, ``stats`` and ``limiter``.
    """
    clock = clock or Clock()
    store = Store.open(db, clock)
    try:
        if store.is_empty():
            seed.seed_demo_data(store)
        if auto_login is not None and store.caller(auto_login) is None:
            raise ValueError(f"--auto-login user {auto_login!r} does not exist or is inactive")
    except BaseException:
        store.close()
        raise
    tokens = TokenRegistry(clock)
    tokens.register(DEMO_CLIENT)
    faults = FaultPlan()
    stats = RequestStats()
    limiter = RateLimiter(clock)
    limiter.set_limit(rate_limit_per_hour)

    hooks = EmulatorHooks(clock=clock, tokens=tokens, faults=faults, stats=stats, limiter=limiter)
    # The Table API first: it takes nearly every request, and no other route's path overlaps it.
    routes = [
        *table_routes(store),
        *hooks.routes(),
        *OAuthEndpoints(tokens, store, auto_login=auto_login).routes(),
        *ScriptedApi(tokens, store).routes(),
        Route("/api/{rest:path}", unknown_api, methods=API_METHODS),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            store.close()

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(StatsMiddleware, stats=stats),
            Middleware(InstanceHeadersMiddleware),
            Middleware(FaultMiddleware, plan=faults),
            Middleware(AuthenticationMiddleware, users=store, tokens=tokens),
            Middleware(RateLimitMiddleware, limiter=limiter),
        ],
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.clock = clock
    app.state.tokens = tokens
    app.state.faults = faults
    app.state.stats = stats
    app.state.limiter = limiter
    return app
