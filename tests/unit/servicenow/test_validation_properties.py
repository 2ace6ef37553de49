"""Property: whatever endpoint and headers a caller sends, only a request to a path on the instance leaves,
with our Authorization and the instance as Host."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapter.servicenow.errors import ParameterError
from adapter.servicenow.validation import join_url, parse_instance_url
from tests.unit.servicenow.fakes import FakeInstance, signed_in

ACME = parse_instance_url("https://acme.service-now.com")
PIECES = [
    "/",
    "//",
    "\\",
    "@",
    ":",
    "http:",
    "https://",
    "evil.example",
    "..",
    ".",
    "%2e",
    "%2E%2e",
    "%2f",
    "%5c",
    "%0d%0a",
    "\r",
    "\n",
    "\x00",
    "#",
    "?",
    "&",
    "=",
    "api",
    "now",
    "table",
    "incident",
    "user:pw",
    "\u2028",
    "\u3002",
    "\uff0f",
    "[::1]",
    "127.0.0.1",
    ":443",
    " ",
    "\t",
]
endpoints = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=4)), max_size=12).map("".join),
)
header_names = st.one_of(
    st.sampled_from(
        ["Authorization", "Host", "Cookie", "Accept", "X-A", "x-no-response-body", "Content-Type"]
    ),
    st.text(max_size=12),
)
header_values = st.one_of(
    st.text(max_size=20), st.sampled_from(["evil.example", "Bearer x", "a\r\nHost: evil"])
)
headers = st.dictionaries(header_names, header_values, max_size=4)


@given(endpoint=endpoints)
@settings(max_examples=500)
def test_a_joined_url_is_always_on_the_instance_or_refused(endpoint: str) -> None:
    try:
        url = join_url(ACME, endpoint)
    except ParameterError:
        return
    assert (url.scheme, url.host, url.port, url.userinfo, url.fragment) == (
        "https",
        "acme.service-now.com",
        None,
        b"",
        "",
    )
    assert url.raw_path.startswith(b"/")


@given(endpoint=endpoints, caller_headers=headers)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_only_requests_to_the_instance_with_our_credentials_leave(
    endpoint: str, caller_headers: dict[str, str]
) -> None:
    instance = FakeInstance()

    async def scenario() -> None:
        connection = await signed_in(instance)
        with contextlib.suppress(ParameterError):
            await connection.execute(endpoint, headers=caller_headers)
        await connection.close(revoke=False)

    asyncio.run(scenario())
    for request in instance.requests:
        assert request.url.host == "acme.service-now.com"
        assert request.url.scheme == "https"
        assert request.url.port is None
        assert request.url.userinfo == b""
        assert request.headers["host"] == "acme.service-now.com"
        for name, value in request.headers.raw:
            assert b"\r" not in name + value
            assert b"\n" not in name + value
    for request in instance.api_requests():
        assert request.headers["authorization"] == "Bearer access-token-number-1"
        assert "cookie" not in request.headers
        assert isinstance(request, httpx.Request)
