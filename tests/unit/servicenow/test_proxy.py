"""Choosing the proxy for an instance: the explicit setting, the environment, NO_PROXY, loopback; pure."""

from __future__ import annotations

import base64

import pytest
import structlog

from adapter.servicenow.proxy import ProxyChoice, ProxySettingError, bypassed, is_loopback, parse_proxy_url
from adapter.servicenow.transport import warn_if_plain_http


def system(**found: str) -> ProxyChoice:
    return ProxyChoice(system=lambda: found, system_bypass=lambda host: False)


def proxy_host(choice: ProxyChoice, scheme: str = "https", host: str = "acme.example") -> str | None:
    chosen = choice.for_origin(scheme, host, 443 if scheme == "https" else 80)
    return None if chosen is None else chosen.host


LOOPBACK = ["127.0.0.1", "127.3.4.5", "::1", "[::1]", "localhost", "LOCALHOST.", "a.localhost"]


def test_a_proxy_url_with_credentials_gives_basic_authorization_and_hides_them() -> None:
    proxy = parse_proxy_url("http://alice:s%3Acret@proxy.corp.example:3128")
    assert (proxy.host, proxy.port) == ("proxy.corp.example", 3128)
    assert proxy.authorization == b"Basic " + base64.b64encode(b"alice:s:cret")
    assert proxy.shown == "http://proxy.corp.example:3128"
    assert "cret" not in repr(proxy)


def test_a_bare_host_and_port_is_an_http_proxy() -> None:
    proxy = parse_proxy_url("proxy.corp.example:8080")
    assert (proxy.host, proxy.port, proxy.authorization) == ("proxy.corp.example", 8080, None)


@pytest.mark.parametrize(
    "url",
    [
        "https://proxy.corp.example:443",
        "socks5://proxy:1080",
        "http://proxy:3128/path",
        "http://:3128",
        "http://p:x",
    ],
)
def test_unsupported_proxy_urls_are_refused_by_name(url: str) -> None:
    with pytest.raises(ProxySettingError):
        parse_proxy_url(url)


@pytest.mark.parametrize("url", ["http://alice:s3cr3t/x@proxy:3128", "alice:s3cr3t#x@proxy:3128"])
def test_a_password_read_as_the_port_is_not_repeated(url: str) -> None:
    """The environment's HTTPS_PROXY reaches this parser directly, without the settings' error wording."""
    with pytest.raises(ProxySettingError) as refused:
        parse_proxy_url(url)
    assert "s3cr3t" not in str(refused.value)


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.3.4.5", "::1", "[::1]", "localhost", "LOCALHOST.", "a.localhost"]
)
def test_loopback_is_never_proxied(host: str) -> None:
    assert is_loopback(host)
    choice = ProxyChoice(setting="http://proxy:3128")
    assert choice.for_origin("https", host, 443) is None


@pytest.mark.parametrize("host", ["10.0.0.1", "acme.service-now.com", "::2", "localhost.evil.example"])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_the_setting_wins_over_the_environment_and_direct_turns_proxies_off() -> None:
    env = {"https": "http://env-proxy:1"}
    assert proxy_host(ProxyChoice(setting="http://set-proxy:2", system=lambda: env)) == "set-proxy"
    assert proxy_host(ProxyChoice(setting="direct", system=lambda: env)) is None
    assert proxy_host(ProxyChoice(system=lambda: env)) == "env-proxy"


def test_the_environment_is_read_by_scheme_with_all_proxy_as_fallback() -> None:
    choice = system(https="http://tls-proxy:1", http="http://plain-proxy:2")
    assert proxy_host(choice) == "tls-proxy"
    assert proxy_host(choice, "http") == "plain-proxy"
    assert proxy_host(system(all="http://any:3")) == "any"
    assert proxy_host(system()) is None


@pytest.mark.parametrize(
    ("host", "port", "no_proxy", "expected"),
    [
        ("acme.service-now.com", 443, "*", True),
        ("acme.service-now.com", 443, "service-now.com", True),
        ("acme.service-now.com", 443, ".service-now.com", True),
        ("acme.service-now.com", 443, "*.service-now.com", True),
        ("acme.service-now.com", 443, "other.com, service-now.com:443", True),
        ("acme.service-now.com", 443, "service-now.com:8443", False),
        ("notservice-now.com", 443, "service-now.com", False),
        ("10.1.2.3", 443, "10.0.0.0/8", True),
        ("10.1.2.3", 443, "192.168.0.0/16", False),
        ("fd00::5", 443, "fd00::/8", True),
        ("acme.service-now.com", 443, "", False),
    ],
)
def test_no_proxy_entries(host: str, port: int, no_proxy: str, expected: bool) -> None:
    assert bypassed(host, port, no_proxy) is expected
    choice = system(https="http://proxy:3128", no=no_proxy)
    assert (choice.for_origin("https", host, port) is None) is expected


def test_without_no_proxy_the_platform_exceptions_apply() -> None:
    choice = ProxyChoice(
        system=lambda: {"https": "http://proxy:3128"}, system_bypass=lambda host: host == "intra"
    )
    assert choice.for_origin("https", "intra", 443) is None
    assert choice.for_origin("https", "acme.example", 443) is not None


@pytest.mark.parametrize(
    ("url", "warned"),
    [
        ("http://acme.service-now.com", True),
        ("http://10.1.2.3:8080", True),
        ("https://acme.service-now.com", False),
        ("http://127.0.0.1:8180", False),
        ("http://localhost:8180", False),
        ("http://[::1]:8180", False),
    ],
)
def test_plain_http_off_loopback_is_warned_about(url: str, warned: bool) -> None:
    with structlog.testing.capture_logs() as logs:
        assert warn_if_plain_http(url) is warned
    assert [entry["event"] for entry in logs] == (["instance.plain_http"] if warned else [])


def test_an_unusable_system_proxy_is_a_named_request_error_for_the_app() -> None:
    """``--proxy`` is checked at start-up; the system's proxy (HTTPS_PROXY, Windows') only when an instance
    is first reached: the app gets a named ServiceNow error, not an unexpected one, and no password."""
    from adapter.servicenow.errors import ApiRequestError
    from adapter.servicenow.transport import Network, TransportRegistry

    choice = ProxyChoice(system=lambda: {"https": "http://alice:s3cr3t/x@proxy.corp.example:3128"})
    registry = TransportRegistry(network=Network(proxy=choice))
    with pytest.raises(ApiRequestError, match="proxy") as refused:
        registry.borrow("https://acme.service-now.com")
    assert "s3cr3t" not in str(refused.value)
    # Positive control: a usable system proxy gives a transport.
    good = TransportRegistry(network=Network(proxy=ProxyChoice(system=lambda: {"https": "proxy.corp:3128"})))
    assert good.borrow("https://acme.service-now.com") is not None
