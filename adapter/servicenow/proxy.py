"""Which forward proxy, if any, carries the requests to an instance: one pure decision.

In order: an instance on loopback is never proxied; an explicit ``--proxy`` URL (or ``direct``) wins;
otherwise the system's settings as the standard library reads them: ``HTTPS_PROXY`` / ``HTTP_PROXY`` /
``ALL_PROXY`` and ``NO_PROXY`` from the environment, and where the environment names none, the Windows
Internet Settings (registry) or the macOS network configuration. PAC scripts and NTLM/Kerberos proxy
authentication are not supported (docs/deployment.md says what to do instead); Basic authentication is,
from the proxy URL's user information.
"""

from __future__ import annotations

import base64
import ipaddress
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from adapter.logging import register_secret

DIRECT = "direct"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class ProxySettingError(ValueError):
    """A proxy URL that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class Proxy:
    """An HTTP forward proxy: where it listens and the ``Proxy-Authorization`` value, if any.

    ``shown`` is the URL without its credentials, for logs and errors.
    """

    host: str
    port: int
    shown: str
    authorization: bytes | None = field(default=None, repr=False)


def parse_proxy_url(url: str) -> Proxy:
    """``http://[user:password@]host[:port]`` as a ``Proxy``; ``ProxySettingError`` for anything else.

    A proxy spoken to over TLS (``https://``) or SOCKS is refused by name rather than half-supported.
    """
    text = url.strip()
    if "://" not in text:  # the environment's convention: "proxy.example.com:3128" means http
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        # Never the parser's own words: an unencoded '/', '#' or '?' in the password makes it the "port",
        # and the parser's message quotes it.
        raise ProxySettingError(
            "not a proxy URL: the port is not a number (percent-encode '/', '#', '?' and '@' in the user "
            "name and password)"
        ) from None
    scheme = parts.scheme.lower()
    if scheme != "http":
        raise ProxySettingError(
            f"proxy scheme {scheme!r} is not supported: give an http:// proxy (https is tunnelled through it)"
        )
    if not parts.hostname or (parts.path not in ("", "/")) or parts.query or parts.fragment:
        raise ProxySettingError("a proxy URL is http://[user:password@]host[:port] and nothing more")
    host = parts.hostname
    port = port or 80
    authorization = None
    if parts.username is not None:
        credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        token = base64.b64encode(credentials.encode("utf-8")).decode("ascii")
        register_secret(token)
        if parts.password:
            register_secret(unquote(parts.password))
        authorization = f"Basic {token}".encode("ascii")
    shown_host = f"[{host}]" if ":" in host else host
    return Proxy(host=host, port=port, shown=f"http://{shown_host}:{port}", authorization=authorization)


def is_loopback(host: str) -> bool:
    """``localhost`` and the loopback addresses (127.0.0.0/8, ::1): never sent to a proxy."""
    name = host.strip("[]").lower().rstrip(".")
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def bypassed(host: str, port: int, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` (comma or space separated) exempts ``host``: ``*``, a host name or a domain
    suffix (``.corp.example`` or ``corp.example``), an IP address or network (``10.0.0.0/8``), each
    optionally with ``:port``."""
    name = host.strip("[]").lower().rstrip(".")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        address = None
    for raw in no_proxy.replace(" ", ",").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry_host, entry_port = _split_port(entry)
        if entry_port is not None and entry_port != port:
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry_host.strip("[]"), strict=False):
                    return True
            except ValueError:
                pass
            continue
        suffix = entry_host.lstrip("*").lstrip(".")
        if suffix and (name == suffix or name.endswith("." + suffix)):
            return True
    return False


def _split_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):  # [::1]:443
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port) if port.isdigit() else None
    return entry, None


@dataclass(frozen=True, slots=True)
class ProxyChoice:
    """How the proxy for an instance is chosen: ``setting`` is ``--proxy`` (a URL, ``direct`` or None for
    the system's settings); ``system`` and ``system_bypass`` read them (tests give their own)."""

    setting: str | None = None
    system: Callable[[], Mapping[str, str]] = urllib.request.getproxies
    system_bypass: Callable[[str], bool] = field(default=urllib.request.proxy_bypass)

    def for_origin(self, scheme: str, host: str, port: int) -> Proxy | None:
        """The proxy for requests to ``scheme://host:port``, or None to connect directly."""
        if is_loopback(host):
            return None
        if self.setting is not None:
            return None if self.setting.strip().lower() == DIRECT else parse_proxy_url(self.setting)
        found = {name.lower(): value for name, value in self.system().items() if value}
        url = found.get(scheme) or found.get("all")
        if not url:
            return None
        if "no" in found:
            if bypassed(host, port, found["no"]):
                return None
        elif self._system_bypasses(host):
            return None
        return parse_proxy_url(url)

    def _system_bypasses(self, host: str) -> bool:
        # Without NO_PROXY in the environment, the platform's own exceptions (Windows' ProxyOverride).
        try:
            return bool(self.system_bypass(host))
        except (OSError, ValueError):
            return False
