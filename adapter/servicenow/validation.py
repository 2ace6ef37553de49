"""Pure checks on what a caller asks us to send: instance URL, endpoint, method and headers.

An ``apiEndpoint`` is a path (with an optional query) on the connected instance, never a URL. Everything that
could make a request leave that origin, smuggle a header or change the meaning of the request is refused
with ``ParameterError`` here, before any I/O. The official package simply concatenates origin and endpoint;
we keep its join rule (a missing leading ``/`` is added) and refuse the rest.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import httpx

from adapter.servicenow.errors import ParameterError

# The instance decides how long a URL may be (it answers 414 past its own limit). This bound only keeps
# the checks finite, and stays under the 64 KiB that httpx's URL parser accepts, room left for the origin.
MAX_ENDPOINT_LENGTH = 61_440
# Endpoints up to this length are remembered once checked (long ones are rare and would fill the cache).
_CACHED_ENDPOINT_LENGTH = 4_096
MAX_HEADERS = 50
MAX_HEADER_VALUE_LENGTH = 8_192
METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})

# Headers a caller may not set: credentials and routing are ours, framing is the HTTP pool's, and a method
# override would let a "GET" (which we retry) act as a DELETE (which we must never retry).
FORBIDDEN_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "host",
        "cookie",
        "connection",
        "content-length",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "keep-alive",
        "proxy-connection",
        "expect",
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
    }
)

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_SCHEME_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_DOT_SEGMENTS = frozenset({".", ".."})
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class InstanceAddress:
    """A ServiceNow instance reduced to its origin (``scheme://host[:port]``, no trailing slash)."""

    origin: str
    scheme: str
    host: str
    port: int


def parse_instance_url(instance_url: object) -> InstanceAddress:
    """Reduce ``instance_url`` to its origin, as the official package does; only http(s) with a host passes.

    Any path, query or fragment is dropped. Userinfo is refused: it has no place in an instance address.
    """
    if not isinstance(instance_url, str) or not instance_url or _has_control(instance_url):
        raise ParameterError("Invalid instance URL")
    try:
        parts = urlsplit(instance_url.strip())
        port = parts.port
    except ValueError as error:
        raise ParameterError("Invalid instance URL") from error
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc or "\\" in parts.netloc:
        raise ParameterError("Invalid instance URL")
    try:
        # The host as requests carry it: IDNA-encoded, lower case.
        host = httpx.URL(f"{scheme}://{parts.netloc}/").raw_host.decode("ascii")
    except httpx.InvalidURL as error:
        raise ParameterError("Invalid instance URL") from error
    default_port = 443 if scheme == "https" else 80
    effective_port = port if port is not None else default_port
    shown_host = f"[{host}]" if ":" in host else host
    origin = (
        f"{scheme}://{shown_host}" if effective_port == default_port else f"{scheme}://{shown_host}:{port}"
    )
    return InstanceAddress(origin=origin, scheme=scheme, host=host, port=effective_port)


def validate_client_id(client_id: object) -> str:
    """A non-empty client id without control characters."""
    if not isinstance(client_id, str) or not client_id.strip() or _has_control(client_id):
        raise ParameterError("Invalid client ID")
    return client_id


def validate_method(method: object) -> str:
    """One of GET, POST, PUT, PATCH, DELETE (any case), returned in upper case."""
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise ParameterError(f"Invalid HTTP method: {method!r}; expected one of {', '.join(sorted(METHODS))}")
    return method.upper()


def validate_endpoint(endpoint: object) -> str:
    """The endpoint as a relative reference ``/path[?query]`` that can only address the connected instance.

    Refused: non-strings, over-long input, control and line-separator characters (also percent-encoded),
    a scheme (``https:``, ``javascript:``), a scheme-relative ``//host``, backslashes, ``@`` before the query,
    a fragment, and ``.``/``..`` path segments (also percent-encoded, also followed by ``;`` parameters).
    """
    if not isinstance(endpoint, str):
        raise ParameterError("Invalid API endpoint: expected a string path")
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise ParameterError(f"Invalid API endpoint: longer than {MAX_ENDPOINT_LENGTH} characters")
    if _has_control(endpoint) or _has_control(unquote(endpoint)):
        raise ParameterError("Invalid API endpoint: control characters are not allowed")
    if "\\" in endpoint or "\\" in unquote(endpoint):
        raise ParameterError("Invalid API endpoint: backslashes are not allowed")
    if _SCHEME_PREFIX.match(endpoint):
        raise ParameterError("Invalid API endpoint: must be a path on the instance, not a URL")
    path = endpoint if endpoint.startswith("/") else "/" + endpoint
    if path.startswith("//"):
        raise ParameterError("Invalid API endpoint: must be a path on the instance, not a URL")
    if "#" in path:
        raise ParameterError("Invalid API endpoint: fragments are not allowed")
    path_part = path.split("?", 1)[0]
    if "@" in path_part:
        raise ParameterError("Invalid API endpoint: '@' is not allowed in the path")
    segments = [unquote(segment) for segment in path_part.split("/")]
    # Also after decoding: "/api%2F..%2Foauth_token.do" is "/api/../oauth_token.do" to a server that
    # decodes %2F, which would take the request outside the allowed paths.
    segments += unquote(path_part).split("/")
    # A servlet container drops ";" path parameters before it resolves dot segments, so "/api/..;/login.do"
    # is "/login.do" to the instance while it still starts with "/api/" here.
    if any(segment.split(";", 1)[0] in _DOT_SEGMENTS for segment in segments):
        raise ParameterError("Invalid API endpoint: '.' and '..' path segments are not allowed")
    return path


def validate_api_path(url: httpx.URL, allowed: tuple[str, ...]) -> None:
    """Refuse a request whose path is not under one of the ``allowed`` prefixes (``/api/`` by default):
    the Bearer token goes to the REST APIs, not to every page of the instance."""
    path = url.raw_path.split(b"?", 1)[0].decode("ascii")
    if not any(path.startswith(prefix) for prefix in allowed):
        raise ParameterError(
            f"Invalid API endpoint: only paths under {', '.join(allowed)} may be requested"
            " (a deployment can allow more with --allow-path)"
        )


def join_url(instance: InstanceAddress, endpoint: object) -> httpx.URL:
    """The absolute URL of ``endpoint`` on ``instance``, re-checked to name the instance's origin."""
    if not isinstance(endpoint, str):
        raise ParameterError("Invalid API endpoint: expected a string path")
    if len(endpoint) > _CACHED_ENDPOINT_LENGTH:
        return _checked_url(instance, endpoint)
    return _join_url(instance, endpoint)


# Apps ask for the same few endpoints over and over; checking and parsing one costs more than the rest of
# the request's validation together, and the answer for a given (instance, endpoint) never changes.
@functools.lru_cache(maxsize=1024)
def _join_url(instance: InstanceAddress, endpoint: str) -> httpx.URL:
    return _checked_url(instance, endpoint)


def _checked_url(instance: InstanceAddress, endpoint: str) -> httpx.URL:
    try:
        url = httpx.URL(instance.origin + validate_endpoint(endpoint))
    except httpx.InvalidURL as error:
        raise ParameterError(f"Invalid API endpoint: {error}") from error
    if (
        url.scheme != instance.scheme
        or url.raw_host.decode("ascii") != instance.host
        or (url.port or (443 if url.scheme == "https" else 80)) != instance.port
        or url.userinfo
        or url.fragment
    ):
        raise ParameterError("Invalid API endpoint: must be a path on the instance, not a URL")
    return url


def validate_headers(headers: object) -> dict[str, str]:
    """Caller headers as a plain dict, refusing bad names, bad values and headers that are ours to set."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise ParameterError("Invalid headers: expected an object of header names to string values")
    if len(headers) > MAX_HEADERS:
        raise ParameterError(f"Invalid headers: more than {MAX_HEADERS}")
    out: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise ParameterError(f"Invalid header name: {name!r}")
        lowered = name.lower()
        if lowered in FORBIDDEN_HEADERS:
            raise ParameterError(f"Header not allowed: {name}")
        if lowered in seen:
            raise ParameterError(f"Header given twice: {name}")
        seen.add(lowered)
        if not isinstance(value, str):
            raise ParameterError(f"Invalid value for header {name}: expected a string")
        if len(value) > MAX_HEADER_VALUE_LENGTH or _has_control(value.replace("\t", " ")):
            raise ParameterError(f"Invalid value for header {name}")
        if not value.isascii():
            # The pool sends header values as ASCII; anything else must be encoded by the caller (RFC 8187).
            raise ParameterError(f"Invalid value for header {name}: only ASCII text is allowed")
        out[name] = value
    return out


def _has_control(text: str) -> bool:
    if text.isascii():  # the common case: in ASCII only C0 and DEL are control characters
        return _ASCII_CONTROL.search(text) is not None
    # Cc covers C0, DEL and C1 (NEL included); Zl/Zp are the Unicode line and paragraph separators.
    return any(unicodedata.category(char) in ("Cc", "Zl", "Zp") for char in text)
