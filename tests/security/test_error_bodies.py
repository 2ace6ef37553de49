"""Tokens never reach the bus through an error: what an instance (or a gateway in front of it) answers is
copied into the error's ``message``, ``detail`` and ``data``, and some echo the request's headers back.

Driven over a real connection and pool against a scripted instance; the error is then turned into the
channel's error exactly as the bridge does (``as_action_error``).
"""

from __future__ import annotations

import asyncio
import json

import pytest

from adapter.bridge.actions import as_action_error
from adapter.servicenow.errors import ApiRequestError
from tests.support.scripted_instance import Request, connected, json_response, scripted_instance

RECORD = "/api/now/table/sn_customerservice_case?sysparm_limit=1"
ACCESS = "scripted-access-token"


async def echo_headers(request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A gateway's 400 that repeats the request, Authorization header included, in every field."""
    authorization = request.headers.get("authorization", "")
    writer.write(
        json_response(
            400,
            {
                "error": {
                    "message": f"Bad request with {authorization}",
                    "detail": {"headers": {"Authorization": authorization}, "seen": authorization},
                },
                "request": {"access_token": ACCESS, "echo": [authorization]},
                "status": "failure",
            },
        )
    )


async def test_an_error_body_echoing_the_token_puts_no_token_on_the_bus() -> None:
    async with scripted_instance(echo_headers) as instance:
        connection = await connected(instance)
        with pytest.raises(ApiRequestError) as failed:
            await connection.execute(RECORD)
        await connection.close()
    # Positive control: the instance did receive the token and echoed it.
    assert instance.api_requests()[0].headers["authorization"] == f"Bearer {ACCESS}"
    sent = as_action_error(failed.value)
    on_the_bus = json.dumps({"reason": sent.reason, "message": sent.message, **sent.error_payload()})
    assert ACCESS not in on_the_bus
    assert ACCESS not in str(failed.value)
    # What is not a token still reaches the app, as the official error.data.
    assert sent.error_payload()["status"] == 400
    assert sent.error_payload()["data"]["status"] == "failure"
    assert "[REDACTED]" in sent.message


def test_an_error_body_nested_as_deep_as_json_allows_is_still_a_named_error() -> None:
    """Masking walks the body; a hostile instance's body 1 000 levels deep (orjson reads up to 1 024) must
    not turn the named error into a RecursionError."""
    from adapter.servicenow.response import error_from_response

    deep = b'{"error":{"message":"Bad request"},"d":' + b"[" * 1000 + b"]" * 1000 + b"}"
    error = error_from_response(400, "application/json", deep)
    assert (error.name, error.status, error.message) == ("ApiRequestError", 400, "Bad request")
    assert as_action_error(error).error_payload()["status"] == 400
