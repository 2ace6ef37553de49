"""The endpoint, header, method and instance URL checks: only a path on the instance may leave."""

from __future__ import annotations

import pytest

from adapter.servicenow.errors import ParameterError
from adapter.servicenow.validation import (
    _join_url,
    join_url,
    parse_instance_url,
    validate_client_id,
    validate_endpoint,
    validate_headers,
    validate_method,
)

ACME = parse_instance_url("https://acme.service-now.com")


def test_instance_url_is_reduced_to_its_origin() -> None:
    assert parse_instance_url("https://ACME.service-now.com/some/path?x=1#f").origin == (
        "https://acme.service-now.com"
    )
    assert parse_instance_url("http://127.0.0.1:8180/").origin == "http://127.0.0.1:8180"
    assert parse_instance_url("https://acme.service-now.com:443").origin == "https://acme.service-now.com"
    assert parse_instance_url("http://[::1]:8180").origin == "http://[::1]:8180"


def test_an_international_host_is_addressed_by_its_idna_form() -> None:
    address = parse_instance_url("https://bücher.example")
    assert address.origin == "https://xn--bcher-kva.example"
    assert join_url(address, "/api").raw_host == b"xn--bcher-kva.example"


@pytest.mark.parametrize(
    "url",
    [
        "",
        "foo:bar",
        "acme.service-now.com",
        "ftp://acme",
        "https://",
        "https://u:p@acme.com",
        42,
        None,
        "https://acme.com\r\n",
        "https://acme.com:99999",
    ],
)
def test_invalid_instance_url_is_refused_with_the_official_message(url: object) -> None:
    with pytest.raises(ParameterError, match=r"^Invalid instance URL$"):
        parse_instance_url(url)


@pytest.mark.parametrize("client_id", ["", "   ", None, 5, "abc\n"])
def test_invalid_client_id_is_refused_with_the_official_message(client_id: object) -> None:
    with pytest.raises(ParameterError, match=r"^Invalid client ID$"):
        validate_client_id(client_id)


def test_a_leading_slash_is_added_as_the_official_package_does() -> None:
    assert (
        validate_endpoint("api/now/table/incident?sysparm_limit=1")
        == "/api/now/table/incident?sysparm_limit=1"
    )
    assert validate_endpoint("/api/now/table/incident") == "/api/now/table/incident"


def test_queries_pass_through_unchanged() -> None:
    query = "sysparm_query=numberLIKEx^ORshort_descriptionLIKEa b^ORDERBYDESCsys_updated_on"
    endpoint = f"/api/now/v2/table/task?{query}"
    assert validate_endpoint(endpoint) == endpoint
    assert validate_endpoint("/api/now/table/sys_user?sysparm_query=email=a@b.com").endswith("a@b.com")


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://evil.example/api",
        "http:/evil.example",
        "javascript:alert(1)",
        "//evil.example/api",
        "\\\\evil.example/api",
        "/\\evil.example",
        "%5C%5Cevil.example",
        "/api/now/table/x\r\nHost: evil",
        "/api/now/table/x%0d%0aX: y",
        "/api\x00",
        "/api\u2028x",
        "@evil.example/x",
        "/user@evil.example/x",
        "/api/../oauth_token.do",
        "/api/%2e%2e/oauth_token.do",
        "/api/./now",
        # Servlet containers drop ";" path parameters before resolving dot segments: "..;" is "..".
        "/api/..;/oauth_token.do",
        "/api/..;jsessionid=x/login.do",
        "/api/%2e%2e;/login.do",
        "/api/..%3B/login.do",
        "/api/.;/now",
        "..",
        "/api#fragment",
        "/api/" + "a" * 70_000,
    ],
)
def test_anything_but_a_path_on_the_instance_is_refused(endpoint: str) -> None:
    with pytest.raises(ParameterError, match=r"^Invalid API endpoint"):
        join_url(ACME, endpoint)


@pytest.mark.parametrize("endpoint", [None, 5, b"/api", ["/api"]])
def test_a_non_string_endpoint_is_refused(endpoint: object) -> None:
    with pytest.raises(ParameterError):
        validate_endpoint(endpoint)


def test_joined_url_names_the_instance() -> None:
    url = join_url(ACME, "api/now/table/incident?sysparm_limit=1")
    assert (url.scheme, url.host, url.path, url.query) == (
        "https",
        "acme.service-now.com",
        "/api/now/table/incident",
        b"sysparm_limit=1",
    )


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "authorization",
        "Host",
        "Cookie",
        "Proxy-Authorization",
        "Content-Length",
        "Transfer-Encoding",
        "X-HTTP-Method-Override",
        "Connection",
    ],
)
def test_headers_that_are_ours_to_set_are_refused(name: str) -> None:
    with pytest.raises(ParameterError, match="Header not allowed"):
        validate_headers({name: "x"})


@pytest.mark.parametrize(
    "headers",
    [
        {"X-A": "b\r\nX-Injected: 1"},
        {"X-A": "b\nc"},
        {"X-A": "b\x00"},
        {"Bad Name": "v"},
        {"X-A:": "v"},
        {"": "v"},
        {"X-A": 5},
        {"X-A": "\u20ac"},
        {"Accept": "\xa0"},
        {"x-a": "1", "X-A": "2"},
        ["X-A", "b"],
    ],
)
def test_malformed_headers_are_refused(headers: object) -> None:
    with pytest.raises(ParameterError):
        validate_headers(headers)


def test_ordinary_headers_pass() -> None:
    assert validate_headers({"Accept": "application/xml", "X-no-response-body": "true", "X-Tab": "a\tb"}) == {
        "Accept": "application/xml",
        "X-no-response-body": "true",
        "X-Tab": "a\tb",
    }
    assert validate_headers(None) == {}


def test_methods_are_the_five_of_the_channel_api_in_any_case() -> None:
    assert [validate_method(m) for m in ("get", "Post", "PUT", "patch", "DELETE")] == [
        "GET",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
    ]
    for bad in ("HEAD", "TRACE", "CONNECT", "GET\r\n", "", None):
        with pytest.raises(ParameterError, match="Invalid HTTP method"):
            validate_method(bad)


def test_an_endpoint_of_60_kib_passes_and_one_character_more_is_refused() -> None:
    # docs/channel-api.md promises apps "up to 60 KiB"; the bound keeps the checks finite.
    longest = "/api/" + "a" * (61_440 - len("/api/"))
    assert validate_endpoint(longest) == longest
    with pytest.raises(ParameterError, match="longer than 61440 characters"):
        validate_endpoint(longest + "a")


def test_up_to_50_headers_pass_and_the_51st_is_refused() -> None:
    fifty = {f"X-Field-{number}": "v" for number in range(50)}
    assert validate_headers(fifty) == fifty
    with pytest.raises(ParameterError, match="more than 50"):
        validate_headers({**fifty, "X-Field-50": "v"})


def test_a_header_value_of_8_kib_passes_and_one_character_more_is_refused() -> None:
    assert validate_headers({"X-Long": "v" * 8_192}) == {"X-Long": "v" * 8_192}
    with pytest.raises(ParameterError, match="Invalid value for header X-Long"):
        validate_headers({"X-Long": "v" * 8_193})


def test_a_plain_http_instance_on_port_80_is_named_without_its_port_and_joins() -> None:
    for url in ("http://intranet.example", "http://intranet.example:80/now"):
        instance = parse_instance_url(url)
        assert (instance.origin, instance.port) == ("http://intranet.example", 80)
    joined = join_url(parse_instance_url("http://intranet.example"), "/api/now/table/incident")
    assert str(joined) == "http://intranet.example/api/now/table/incident"


def test_a_valid_client_id_is_what_the_connection_is_keyed_by() -> None:
    assert validate_client_id(" app-client-1 ") == " app-client-1 "


def test_the_joined_url_is_rechecked_even_if_the_endpoint_check_let_a_url_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Defence in depth: the second check stands on its own, so a hole in validate_endpoint cannot send
    # the token to another host.
    monkeypatch.setattr("adapter.servicenow.validation.validate_endpoint", lambda endpoint: endpoint)
    for endpoint in ("@evil.example/api/now/table/incident", ":8443/api/now/table/incident"):
        with pytest.raises(ParameterError, match="must be a path on the instance"):
            join_url(ACME, endpoint)
    assert (
        str(join_url(ACME, "/api/now/table/problem")) == "https://acme.service-now.com/api/now/table/problem"
    )


def test_long_endpoints_are_checked_every_time_and_not_kept_in_the_cache() -> None:
    # Apps repeat their few short endpoints; a flood of long distinct ones must not fill memory.
    _join_url.cache_clear()
    for number in range(20):
        join_url(ACME, f"/api/now/table/incident?sysparm_query={'x' * 5_000}{number}")
    assert _join_url.cache_info().currsize == 0
    join_url(ACME, "/api/now/table/incident")
    assert _join_url.cache_info().currsize == 1
