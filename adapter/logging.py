"""Structured logging, configured once per process, with secrets redacted by a processor.

Every module logs through ``structlog.get_logger(__name__)``. ``configure_logging`` sends both structlog
events and stdlib records (uvicorn, websockets, httpx) through one pipeline to stderr, rendered for people
or as JSON lines. Redaction happens in that pipeline, not at call sites: values under secret-looking keys are
masked, and any string that contains a value registered with ``register_secret`` (an access token, a refresh
token, a runtime auth token) is masked wherever it appears, including inside free-text messages.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "[REDACTED]"

# Keys whose values are secrets whatever they contain. Matched case-insensitively on the whole key; an OAuth
# authorization code is a secret, an exit or status code is not.
_SECRET_KEY = re.compile(
    r"(?i)^((.*_)?(access_token|refresh_token|id_token|token|tokens|secret|client_secret|password|passwd"
    r"|authorization|cookie|set-cookie|code_verifier|verifier)|code|auth_code|authorization_code)$"
)


class SecretRegistry:
    """Process-wide set of secret strings that must never appear in a log line.

    Thread-safe because uvicorn and stdlib handlers may log from other threads. Secrets shorter than
    8 characters are refused: masking them would mangle ordinary words.
    """

    _MIN_LENGTH = 8

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._secrets: frozenset[str] = frozenset()

    def add(self, secret: str) -> None:
        """Remember ``secret`` so that every later log line masks it."""
        if len(secret) < self._MIN_LENGTH:
            return
        with self._lock:
            self._secrets = self._secrets | {secret}

    def discard(self, secret: str) -> None:
        """Forget ``secret`` (for example once it is revoked and dropped from memory)."""
        with self._lock:
            self._secrets = self._secrets - {secret}

    def mask(self, text: str) -> str:
        """Return ``text`` with every registered secret replaced by ``[REDACTED]``."""
        secrets = self._secrets
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def __len__(self) -> int:
        return len(self._secrets)


secrets = SecretRegistry()


def register_secret(secret: str) -> None:
    """Mask ``secret`` in every log line this process writes from now on."""
    secrets.add(secret)


def forget_secret(secret: str) -> None:
    """Stop tracking ``secret``; call when it is no longer held anywhere."""
    secrets.discard(secret)


def redact(value: Any) -> Any:
    """``value`` with every registered secret masked and secret-keyed entries replaced, recursively: for
    what leaves the process by other ways than the log (errors sent to apps). A value nested too deeply to
    walk is withheld whole rather than passed on unread."""
    try:
        return _redact_value(value)
    except RecursionError:
        return REDACTED


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return secrets.mask(value)
    if isinstance(value, MutableMapping):
        return {k: (REDACTED if _is_secret_key(k) else _redact_value(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    if isinstance(value, BaseException):
        return secrets.mask(repr(value))
    return value


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and _SECRET_KEY.match(key) is not None


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secret-keyed values and every registered secret, recursively."""
    for key in list(event_dict):
        value = event_dict[key]
        event_dict[key] = REDACTED if _is_secret_key(key) and value is not None else _redact_value(value)
    return event_dict


def _mask_rendered(_logger: Any, _method: str, rendered: Any) -> Any:
    # Last line of defence: exceptions and tracebacks are rendered after the processors above ran.
    return secrets.mask(rendered) if isinstance(rendered, str) else rendered


_QUIET_LIBRARIES: Iterable[str] = ("httpx", "httpcore", "websockets", "uvicorn.access", "hpack", "asyncio")


def configure_logging(level: str = "info", *, json: bool = False, stream: TextIO | None = None) -> None:
    """Configure structlog and stdlib logging for the whole process.

    Safe to call more than once (the last call wins), so tests and the demo can reconfigure.
    """
    numeric_level = logging.getLevelNamesMapping().get(level.upper())
    if numeric_level is None:
        raise ValueError(f"unknown log level: {level!r}")
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        # Drop events below the level before any processor runs: debug lines on the hot path cost nothing.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    final: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json:
        final.append(structlog.processors.format_exc_info)
    final += [renderer, _mask_rendered]
    formatter = structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric_level)
    for name in _QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(numeric_level, logging.WARNING))
