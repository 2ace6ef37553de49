"""The Table API over HTTP: ``/api/now[/v1|/v2]/table/{table}[/{sys_id}]``
(docs/emulators/servicenow-tables.md).

Requests are read here (parameters, body, method override) and answered in the instance's envelopes with
``X-Total-Count``, ``Link`` and ``Location``; what happens to records is ``records.Records``' job. The
caller is the ``Caller`` the authentication middleware put on ``request.state.caller``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .envelope import CONTENT_TYPE, error_response, result_response
from .identity import Caller
from .records import ListRequest, RecordError, Records
from .render import DisplayMode, RenderOptions
from .store import Store

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
VERSIONS = ("v1", "v2")
_PAGING = ("sysparm_limit", "sysparm_offset")
_PREFIX_CACHE_SIZE = 64
_EMPTY_V1_DETAIL = "Records matching query not found. Check query parameter or offset parameter"


@dataclass(frozen=True, slots=True)
class TableApiSettings:
    """Instance behaviours that differ between releases or configurations
    (docs/emulators/servicenow-tables.md).

    ``invalid_query_returns_no_rows`` is the property ``glide.invalid_query.returns_no_rows``;
    ``empty_list_not_found_versions`` are the API versions whose empty list answers 404 (the docs say v1).
    """

    invalid_query_returns_no_rows: bool = False
    empty_list_not_found_versions: frozenset[str] = field(default_factory=lambda: frozenset({"v1"}))
    default_limit: int = 10000


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() == "true"


def _number(text: str | None, default: int, minimum: int) -> int:
    try:
        value = int(text) if text is not None else default
    except ValueError:
        return default
    return value if value >= minimum else default


class _BadBody(Exception):
    """A request body an instance would refuse with 400."""


class TableApi:
    """Handlers for the collection and record URLs of every table."""

    def __init__(self, records: Records, settings: TableApiSettings) -> None:
        self._records = records
        self._settings = settings
        self._prefixes: dict[tuple[object, ...], str] = {}

    def routes(self) -> list[BaseRoute]:
        """The unversioned and versioned collection and record routes."""
        return [
            Route("/api/now/table/{table}", self.collection, methods=METHODS),
            Route("/api/now/table/{table}/{sys_id}", self.record, methods=METHODS),
            Route("/api/now/{version}/table/{table}", self.collection, methods=METHODS),
            Route("/api/now/{version}/table/{table}/{sys_id}", self.record, methods=METHODS),
        ]

    async def collection(self, request: Request) -> Response:
        """``GET``/``HEAD`` list and ``POST`` create."""
        problem = self._check_version(request)
        if problem is not None:
            return problem
        method = _effective_method(request)
        try:
            if method in ("GET", "HEAD"):
                return await self._list(request, head=method == "HEAD")
            if method == "POST":
                return await self._create(request)
        except RecordError as error:
            return error_response(error.status, error.message, error.detail)
        return _method_not_allowed()

    async def record(self, request: Request) -> Response:
        """``GET``/``HEAD`` one record, ``PUT``/``PATCH`` update, ``DELETE``."""
        problem = self._check_version(request)
        if problem is not None:
            return problem
        method = _effective_method(request)
        table, sys_id = request.path_params["table"], request.path_params["sys_id"]
        caller: Caller = request.state.caller
        try:
            if method in ("GET", "HEAD"):
                # One indexed row from the store: cheaper on the event loop than a hop to a worker thread
                # and back, which cost more CPU than the read itself.
                found = self._records.get(caller, table, sys_id, self._render_options(request))
                return _json(request, found, 200, head=method == "HEAD")
            if method in ("PUT", "PATCH"):
                return await self._update(request, table, sys_id)
            if method == "DELETE":
                await run_in_threadpool(self._records.delete, caller, table, sys_id)
                return Response(status_code=204)
        except RecordError as error:
            return error_response(error.status, error.message, error.detail)
        return _method_not_allowed()

    def _render_options(self, request: Request) -> RenderOptions:
        params = request.query_params
        fields = params.get("sysparm_fields")
        wanted = tuple(f.strip() for f in fields.split(",") if f.strip()) if fields else None
        return RenderOptions(
            display=DisplayMode.parse(params.get("sysparm_display_value")),
            exclude_reference_link=_flag(request, "sysparm_exclude_reference_link"),
            fields=wanted,
            link_prefix=self._link_prefix(request),
        )

    def _link_prefix(self, request: Request) -> str:
        """``_api_prefix``, remembered per origin: building a request's base URL costs more than its query."""
        scope = request.scope
        root = scope.get("app_root_path", scope.get("root_path", ""))
        key = (
            scope.get("scheme"),
            scope.get("server"),
            root,
            request.headers.get("host"),
            request.path_params.get("version"),
        )
        prefix = self._prefixes.get(key)
        if prefix is None:
            prefix = _api_prefix(request)
            if len(self._prefixes) >= _PREFIX_CACHE_SIZE:
                self._prefixes.clear()
            self._prefixes[key] = prefix
        return prefix

    def _check_version(self, request: Request) -> Response | None:
        version = request.path_params.get("version")
        if version is not None and version not in VERSIONS:
            return error_response(400, "Requested URI does not represent any resource")
        return None

    async def _list(self, request: Request, *, head: bool) -> Response:
        params = request.query_params
        limit = _number(params.get("sysparm_limit"), self._settings.default_limit, 1)
        offset = _number(params.get("sysparm_offset"), 0, 0)
        list_request = ListRequest(
            query=params.get("sysparm_query", ""),
            name_values={k: v for k, v in params.items() if not k.startswith("sysparm_")},
            limit=limit,
            offset=offset,
            count=not _flag(request, "sysparm_no_count"),
            invalid_query_returns_no_rows=self._settings.invalid_query_returns_no_rows,
        )
        table, caller = request.path_params["table"], request.state.caller
        page = await run_in_threadpool(
            self._records.list, caller, table, list_request, self._render_options(request)
        )
        version = request.path_params.get("version")
        if not page.records and version in self._settings.empty_list_not_found_versions:
            return error_response(404, "No Record found", _EMPTY_V1_DETAIL)
        headers: dict[str, str] = {}
        if page.total is not None:
            headers["X-Total-Count"] = str(page.total)
        if not _flag(request, "sysparm_suppress_pagination_header"):
            headers["Link"] = _link_header(request, limit, offset, page.total, len(page.records))
        return _json(request, page.records, 200, head=head, headers=headers)

    async def _create(self, request: Request) -> Response:
        try:
            body = await _read_body(request)
        except _BadBody as error:
            return error_response(400, "Exception while reading request", str(error))
        table, caller = request.path_params["table"], request.state.caller
        options = self._render_options(request)
        sys_id, created = await run_in_threadpool(
            lambda: self._records.insert(
                caller, table, body, options, input_display=_flag(request, "sysparm_input_display_value")
            )
        )
        headers = {"Location": options.link(table, sys_id)}
        return _json(request, created, 201, headers=headers)

    async def _update(self, request: Request, table: str, sys_id: str) -> Response:
        try:
            body = await _read_body(request)
        except _BadBody as error:
            return error_response(400, "Exception while reading request", str(error))
        caller, options = request.state.caller, self._render_options(request)
        updated = await run_in_threadpool(
            lambda: self._records.update(
                caller,
                table,
                sys_id,
                body,
                options,
                input_display=_flag(request, "sysparm_input_display_value"),
            )
        )
        return _json(request, updated, 200)


def table_routes(store: Store, settings: TableApiSettings | None = None) -> list[BaseRoute]:
    """The Table API's routes on ``store``; ``request.state.caller`` must be set by the auth middleware."""
    return TableApi(Records(store), settings or TableApiSettings()).routes()


def _effective_method(request: Request) -> str:
    """The request method, or the one ``X-http-method-override`` names."""
    override = request.headers.get("x-http-method-override", "").strip().upper()
    return override if override in METHODS else request.method


def _method_not_allowed() -> Response:
    return error_response(
        405, "Method not Supported", "The requested method is not supported by this resource"
    )


def _api_prefix(request: Request) -> str:
    """``<scheme>://<host>/api/now[/vN]/table`` for this request: links repeat its host and version."""
    base = str(request.base_url).rstrip("/")
    version = request.path_params.get("version")
    return f"{base}/api/now/{version}/table" if version else f"{base}/api/now/table"


async def _read_body(request: Request) -> dict[str, Any]:
    """The single record a POST/PUT/PATCH carries (the first one of a list, as an instance takes it)."""
    raw = await request.body()
    if not raw.strip():
        raise _BadBody("Request body is empty")
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _BadBody("The payload is not valid JSON.") from None
    if isinstance(parsed, list) and parsed:
        parsed = parsed[0]
    if not isinstance(parsed, dict):
        raise _BadBody("The payload is not a JSON object.")
    return parsed


def _json(
    request: Request,
    result: object,
    status: int,
    *,
    head: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    """The success envelope, only its headers for HEAD, or nothing for a write with ``X-no-response-body``.

    A suppressed write has no body and so no JSON Content-Type: the official package parses any body labelled
    JSON and would fail on the empty one, yet documents ``suppressResponseBody`` for writes.
    """
    suppressed = request.headers.get("x-no-response-body", "").lower() == "true"
    if head:
        return Response(status_code=status, headers=headers, media_type=CONTENT_TYPE)
    if suppressed and request.method != "GET":
        return Response(status_code=status, headers=headers)
    return result_response(result, status_code=status, headers=headers)


def _link_header(request: Request, limit: int, offset: int, total: int | None, returned: int) -> str:
    """``first``, ``prev``, ``next`` (only while more remain), ``last`` (when counted), as documented."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in _PAGING]
    base = str(request.url.replace(query="")).split("?")[0]

    def url(at: int) -> str:
        return f"{base}?{urlencode([*kept, ('sysparm_limit', str(limit)), ('sysparm_offset', str(at))])}"

    entries = [f'<{url(0)}>;rel="first"', f'<{url(offset - limit)}>;rel="prev"']
    more = offset + limit < total if total is not None else returned >= limit
    if more:
        entries.append(f'<{url(offset + limit)}>;rel="next"')
    if total is not None:
        entries.append(f'<{url(max(total - limit, 0))}>;rel="last"')
    return ",".join(entries)
