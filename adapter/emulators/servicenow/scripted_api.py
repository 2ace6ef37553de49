"""The ``x_opfi_openfin`` scoped app's scripted REST API, as the official ``@openfin/servicenow`` calls it
(docs/emulators/servicenow.md): ``request_tokens`` and ``revoke_token`` without credentials (form bodies,
unwrapped token JSON), ``user_info`` with the Bearer token (``{"result": <sys_user record>}``).
"""

from __future__ import annotations

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from adapter.emulators.servicenow.auth import UserDirectory
from adapter.emulators.servicenow.envelope import error_response, result_response
from adapter.emulators.servicenow.identity import Caller
from adapter.emulators.servicenow.oauth import lenient_form, token_response
from adapter.emulators.servicenow.tokens import TokenRegistry

log = structlog.get_logger(__name__)

BASE = "/api/x_opfi_openfin/v1/integration"


class ScriptedApi:
    """The three endpoints over the instance's token registry and user directory."""

    def __init__(self, tokens: TokenRegistry, users: UserDirectory) -> None:
        self._tokens = tokens
        self._users = users

    def routes(self) -> list[BaseRoute]:
        """Starlette routes under ``/api/x_opfi_openfin/v1/integration``."""
        return [
            Route(f"{BASE}/request_tokens", self.request_tokens, methods=["POST"]),
            Route(f"{BASE}/user_info", self.user_info, methods=["GET"]),
            Route(f"{BASE}/revoke_token", self.revoke_token, methods=["POST"]),
        ]

    async def request_tokens(self, request: Request) -> Response:
        """The code exchange and refresh, proxied to the token endpoint's logic."""
        form = lenient_form(await request.body())
        return token_response(form, self._tokens, self._users, endpoint="request_tokens")

    async def user_info(self, request: Request) -> Response:
        """The caller's ``sys_user`` record (this is what becomes ``connection.currentUser``)."""
        caller: Caller = request.state.caller
        record = self._users.user_record(caller.sys_id)
        if record is None:
            return error_response(
                404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval"
            )
        return result_response(record)

    async def revoke_token(self, request: Request) -> Response:
        """Revoke an access or refresh token of ``client_id``; always 200, as RFC 7009 asks."""
        form = lenient_form(await request.body())
        revoked = self._tokens.revoke(form.get("token", ""), client_id=form.get("client_id") or None)
        log.info("oauth.revoke", endpoint="revoke_token", hint=form.get("token_type_hint"), revoked=revoked)
        return result_response({"revoked": revoked})
