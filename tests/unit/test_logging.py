"""Secrets never reach a log line, whichever way they are logged."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from adapter.logging import REDACTED, configure_logging, forget_secret, register_secret

TOKEN = "tok_9f8e7d6c5b4a39281706"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("debug", json=True, stream=stream)
    register_secret(TOKEN)
    yield stream
    forget_secret(TOKEN)
    configure_logging("info")


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_secret_keyed_values_are_masked(log_stream: io.StringIO) -> None:
    structlog.get_logger("t").info("oauth.exchanged", access_token="abc", refresh_token="def", status=200)
    (entry,) = lines(log_stream)
    assert entry["access_token"] == REDACTED
    assert entry["refresh_token"] == REDACTED
    assert entry["status"] == 200


def test_authorization_codes_are_masked_but_exit_and_status_codes_are_not(log_stream: io.StringIO) -> None:
    structlog.get_logger("t").info("oauth.code", code="c0de-value", exit_code=3, status_code=401)
    (entry,) = lines(log_stream)
    assert entry["code"] == REDACTED
    assert (entry["exit_code"], entry["status_code"]) == (3, 401)


def test_registered_secret_is_masked_inside_free_text_and_nested_values(log_stream: io.StringIO) -> None:
    structlog.get_logger("t").info(
        f"sent Bearer {TOKEN}", headers={"X-Trace": f"Bearer {TOKEN}"}, items=[TOKEN, "plain"]
    )
    text = log_stream.getvalue()
    assert TOKEN not in text
    (entry,) = lines(log_stream)
    assert entry["items"] == [REDACTED, "plain"]


def test_stdlib_records_and_exceptions_are_masked_too(log_stream: io.StringIO) -> None:
    logging.getLogger("thirdparty").warning("upstream said %s", TOKEN)
    try:
        raise RuntimeError(f"bad token {TOKEN}")
    except RuntimeError:
        structlog.get_logger("t").exception("request.failed")
    assert TOKEN not in log_stream.getvalue()
    assert "upstream said" in log_stream.getvalue()


def test_short_strings_are_not_registered_as_secrets(log_stream: io.StringIO) -> None:
    register_secret("abc")
    structlog.get_logger("t").info("abc stays readable")
    assert "abc stays readable" in log_stream.getvalue()


def test_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        configure_logging("chatty")
